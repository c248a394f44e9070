// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"encoding/json"
	"io"
	"net/http"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"
)

func (s *Server) createConfigMap(w http.ResponseWriter, r *http.Request) {
	var cm corev1.ConfigMap
	if err := decode(r, &cm); err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	ns := r.PathValue("ns")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.configMaps[key(ns, cm.Name)]; ok {
		writeStatus(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, "configmaps \""+cm.Name+"\" already exists")
		return
	}
	s.create(&cm, ns)
	s.configMaps[key(ns, cm.Name)] = &cm
	writeObject(w, http.StatusCreated, &cm)
}

func (s *Server) getConfigMap(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cm, ok := s.configMaps[key(r.PathValue("ns"), r.PathValue("name"))]; ok {
		writeObject(w, http.StatusOK, cm)
		return
	}
	notFound(w, "configmaps", r.PathValue("name"))
}

func (s *Server) deleteConfigMap(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(r.PathValue("ns"), r.PathValue("name"))
	if _, ok := s.configMaps[k]; !ok {
		notFound(w, "configmaps", r.PathValue("name"))
		return
	}
	delete(s.configMaps, k)
	writeSuccess(w)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) {
	var secret corev1.Secret
	if err := decode(r, &secret); err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	ns := r.PathValue("ns")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[key(ns, secret.Name)]; ok {
		writeStatus(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, "secrets \""+secret.Name+"\" already exists")
		return
	}
	s.create(&secret, ns)
	s.secrets[key(ns, secret.Name)] = &secret
	writeObject(w, http.StatusCreated, &secret)
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if secret, ok := s.secrets[key(r.PathValue("ns"), r.PathValue("name"))]; ok {
		writeObject(w, http.StatusOK, secret)
		return
	}
	notFound(w, "secrets", r.PathValue("name"))
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(r.PathValue("ns"), r.PathValue("name"))
	if _, ok := s.secrets[k]; !ok {
		notFound(w, "secrets", r.PathValue("name"))
		return
	}
	delete(s.secrets, k)
	writeSuccess(w)
}

// createJob creates a Job; unless it is suspended, the stand-in's controller
// creates its pods at once.
func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var job batchv1.Job
	if err := decode(r, &job); err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion || job.Spec.Completions == nil {
		writeStatus(w, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "the stand-in runs Indexed Jobs with completions only")
		return
	}
	ns := r.PathValue("ns")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[key(ns, job.Name)]; ok {
		writeStatus(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, "jobs.batch \""+job.Name+"\" already exists")
		return
	}
	s.create(&job, ns)
	s.jobs[key(ns, job.Name)] = &job
	if !ptr.Deref(job.Spec.Suspend, false) {
		s.startPods(&job)
	}
	writeObject(w, http.StatusCreated, &job)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if job, ok := s.jobs[key(r.PathValue("ns"), r.PathValue("name"))]; ok {
		writeObject(w, http.StatusOK, job)
		return
	}
	notFound(w, "jobs.batch", r.PathValue("name"))
}

// patchJob applies a merge or strategic merge patch. Suspending a Job deletes
// its pods gracefully (SIGTERM, then the grace period) and creates none in
// their place; resuming one that has no pods yet creates them.
func (s *Server) patchJob(w http.ResponseWriter, r *http.Request) {
	switch types.PatchType(r.Header.Get("Content-Type")) {
	case types.MergePatchType, types.StrategicMergePatchType:
	default:
		writeStatus(w, http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, "the stand-in takes merge patches only")
		return
	}
	patch, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	job, ok := s.jobs[key(r.PathValue("ns"), r.PathValue("name"))]
	if !ok {
		notFound(w, "jobs.batch", r.PathValue("name"))
		return
	}
	original, _ := json.Marshal(job)
	patched, err := strategicpatch.StrategicMergePatch(original, patch, batchv1.Job{})
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	var next batchv1.Job
	if err := json.Unmarshal(patched, &next); err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	was, now := ptr.Deref(job.Spec.Suspend, false), ptr.Deref(next.Spec.Suspend, false)
	next.ObjectMeta = job.ObjectMeta
	next.ResourceVersion = s.next()
	s.jobs[key(job.Namespace, job.Name)] = &next
	switch {
	case !was && now:
		grace := ptr.Deref(next.Spec.Template.Spec.TerminationGracePeriodSeconds, 30)
		for _, p := range s.podsOf(&next) {
			s.deletePodLocked(p, grace)
		}
	case was && !now && len(s.podsOf(&next)) == 0:
		s.startPods(&next)
	}
	writeObject(w, http.StatusOK, &next)
}

// deleteJob removes the Job and kills its pods, which go once their
// containers have ended.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(r.PathValue("ns"), r.PathValue("name"))
	job, ok := s.jobs[k]
	if !ok {
		notFound(w, "jobs.batch", r.PathValue("name"))
		return
	}
	delete(s.jobs, k)
	for _, p := range s.podsOf(job) {
		s.deletePodLocked(p, 0)
	}
	writeSuccess(w)
}

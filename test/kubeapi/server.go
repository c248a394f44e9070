// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package kubeapi is a stand-in for the Kubernetes API server, for the tests of
// the load test's Kubernetes engine (internal/kube) where no cluster can run:
// the subset of the API that engine uses (configmaps, secrets, jobs with
// suspension and deletion, pods listed and watched by label, their logs
// followed, their proxy, events), and a Job controller and kubelet that run
// each pod of an Indexed Job as a real collector process on this machine (or a
// fake, for unit tests), the pod IP being 127.0.0.1 with free ports.
package kubeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure the stand-in.
type Options struct {
	// Runtime runs a pod's container; nil runs the built collector
	// (Collectors), its files in a folder removed at Close.
	Runtime Runtime
	// NeverReady keeps the pods of these completion indexes Pending, their
	// container waiting with this reason (e.g. "ImagePullBackOff"), with the
	// events a kubelet would record.
	NeverReady map[int]string
}

// Server is the stand-in API server.
type Server struct {
	// URL is where it listens.
	URL  string
	opts Options
	http *httptest.Server
	done chan struct{}
	tmp  string

	mu         sync.Mutex
	rv         int64
	configMaps map[string]*corev1.ConfigMap // by namespace/name
	secrets    map[string]*corev1.Secret
	jobs       map[string]*batchv1.Job
	pods       map[string]*pod
	events     []corev1.Event
	// history is every change of a pod, for watches from a resource version;
	// changed is closed and replaced at each.
	history []podEvent
	changed chan struct{}
	// created keeps every object as created; unhandled the requests it
	// does not serve.
	created   []runtime.Object
	unhandled []string
	accesses  []Access
	wg        sync.WaitGroup
}

// podEvent is a change of a pod, as a watch sends it.
type podEvent struct {
	rv        int64
	typ       string
	namespace string
	labels    map[string]string
	object    []byte
}

// Start serves the stand-in on a loopback port.
func Start(opts Options) (*Server, error) {
	var tmp string
	if opts.Runtime == nil {
		var err error
		if tmp, err = os.MkdirTemp("", "kubeapi-"); err != nil {
			return nil, err
		}
		opts.Runtime = Collectors(tmp)
	}
	s := &Server{tmp: tmp,
		opts: opts, done: make(chan struct{}), changed: make(chan struct{}),
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		jobs: map[string]*batchv1.Job{}, pods: map[string]*pod{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/configmaps", s.createConfigMap)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/configmaps/{name}", s.getConfigMap)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/configmaps/{name}", s.deleteConfigMap)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/secrets", s.createSecret)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/secrets/{name}", s.getSecret)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/secrets/{name}", s.deleteSecret)
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs", s.createJob)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.getJob)
	mux.HandleFunc("PATCH /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.patchJob)
	mux.HandleFunc("DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.deleteJob)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.getPod)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.deletePod)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/proxy/{path...}", s.podProxy)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/events", s.listEvents)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.unhandled = append(s.unhandled, r.Method+" "+r.URL.String())
		s.mu.Unlock()
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the stand-in does not serve "+r.Method+" "+r.URL.Path)
	})
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.recordAccess(r)
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.http.URL
	return s, nil
}

// Kubeconfig writes a kubeconfig whose current context is the stand-in, in
// namespace, into dir, and returns its path.
func (s *Server) Kubeconfig(dir, namespace string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["stand-in"] = &clientcmdapi.Cluster{Server: s.URL}
	cfg.AuthInfos["stand-in"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["stand-in"] = &clientcmdapi.Context{Cluster: "stand-in", AuthInfo: "stand-in", Namespace: namespace}
	cfg.CurrentContext = "stand-in"
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// Close stops every pod's container and the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	close(s.done)
	var containers []Container
	for _, p := range s.pods {
		if p.container != nil {
			containers = append(containers, p.container)
		}
	}
	s.mu.Unlock()
	for _, c := range containers {
		c.Signal(true)
		<-c.Exited()
	}
	s.http.CloseClientConnections()
	s.http.Close()
	s.wg.Wait()
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// Left names what is still there: objects, and containers still running.
func (s *Server) Left() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.configMaps {
		out = append(out, "configmap "+k)
	}
	for k := range s.secrets {
		out = append(out, "secret "+k)
	}
	for k := range s.jobs {
		out = append(out, "job "+k)
	}
	for k, p := range s.pods {
		out = append(out, "pod "+k)
		if p.running() {
			out = append(out, "the container of pod "+k)
		}
	}
	slices.Sort(out)
	return out
}

// Created is every object as it was created, in order.
func (s *Server) Created() []runtime.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.created)
}

// Unhandled are the requests the stand-in did not serve (404): an engine
// that needs more of the API than the stand-in has.
func (s *Server) Unhandled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unhandled)
}

// next is the next resource version (s.mu held).
func (s *Server) next() string {
	s.rv++
	return strconv.FormatInt(s.rv, 10)
}

func key(ns, name string) string { return ns + "/" + name }

// decode reads a request's object, JSON or protobuf, as the API server does.
func decode(r *http.Request, into runtime.Object) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	_, _, err = scheme.Codecs.UniversalDeserializer().Decode(b, nil, into)
	return err
}

// encode writes an object as JSON with its kind, which clients need on watch
// events and accept everywhere.
func encode(obj runtime.Object) []byte {
	obj = obj.DeepCopyObject()
	if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	b, _ := json.Marshal(obj)
	return b
}

func writeObject(w http.ResponseWriter, code int, obj runtime.Object) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(encode(obj))
}

// writeStatus answers an error as a metav1.Status, which clients turn into
// the errors of k8s.io/apimachinery/pkg/api/errors.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	writeObject(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message,
	})
}

func notFound(w http.ResponseWriter, kind, name string) {
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("%s %q not found", kind, name))
}

func writeSuccess(w http.ResponseWriter) {
	writeObject(w, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
}

// created records an object as created and gives it its server-side fields (s.mu held).
func (s *Server) create(obj metav1.Object, ns string) {
	obj.SetNamespace(ns)
	obj.SetUID(newUID())
	obj.SetResourceVersion(s.next())
	obj.SetCreationTimestamp(metav1.NewTime(time.Now()))
	if ro, ok := obj.(runtime.Object); ok {
		s.created = append(s.created, ro.DeepCopyObject())
	}
}

// cloneLabels copies labels, never nil.
func cloneLabels(l map[string]string) map[string]string {
	out := maps.Clone(l)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// DropConnections closes every client connection, as an API server that
// restarts or a load balancer that times out does: watches and followed logs
// end mid-stream.
func (s *Server) DropConnections() { s.http.CloseClientConnections() }

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/utils/ptr"
)

// The Job controller's pod annotation and labels.
const (
	completionIndex = "batch.kubernetes.io/job-completion-index"
	jobNameLabel    = "batch.kubernetes.io/job-name"
)

// pod is a pod of the stand-in and what runs it; every field is guarded by
// the server's mu.
type pod struct {
	obj       *corev1.Pod
	index     int
	container Container
	// settled: its lifecycle ended without a container to wait for (it never
	// became ready, or could not start), so a deletion removes it at once.
	settled  bool
	deleting bool
}

func (p *pod) key() string { return key(p.obj.Namespace, p.obj.Name) }

func (p *pod) running() bool {
	if p.container == nil {
		return false
	}
	select {
	case <-p.container.Exited():
		return false
	default:
		return true
	}
}

// podsOf are a Job's pods, in index order (s.mu held).
func (s *Server) podsOf(job *batchv1.Job) []*pod {
	var out []*pod
	for _, p := range s.pods {
		if p.obj.Namespace == job.Namespace && p.obj.Labels[jobNameLabel] == job.Name {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pod) int { return a.index - b.index })
	return out
}

// startPods creates a pod per completion index, as the Job controller does (s.mu held).
func (s *Server) startPods(job *batchv1.Job) {
	for i := range int(*job.Spec.Completions) {
		s.startPod(job, i)
	}
}

// startPod creates the pod of one index and runs it (s.mu held).
func (s *Server) startPod(job *batchv1.Job, index int) *pod {
	tmpl := job.Spec.Template.DeepCopy()
	obj := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("%s-%d-%s", job.Name, index, randomSuffix()),
			Labels:      cloneLabels(tmpl.Labels),
			Annotations: cloneLabels(tmpl.Annotations),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: tmpl.Spec,
		Status: corev1.PodStatus{
			Phase:      corev1.PodPending,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		},
	}
	obj.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
	for k, v := range map[string]string{jobNameLabel: job.Name, "job-name": job.Name, completionIndex: strconv.Itoa(index)} {
		obj.Labels[k] = v
	}
	obj.Annotations[completionIndex] = strconv.Itoa(index)
	for _, c := range obj.Spec.Containers {
		obj.Status.ContainerStatuses = append(obj.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}})
	}
	s.create(obj, job.Namespace)
	p := &pod{obj: obj, index: index}
	s.pods[p.key()] = p
	s.record("ADDED", p)
	s.wg.Add(1)
	go s.run(p)
	return p
}

// record adds a change of a pod to the history watches read (s.mu held).
func (s *Server) record(typ string, p *pod) {
	p.obj.ResourceVersion = s.next()
	s.history = append(s.history, podEvent{rv: s.rv, typ: typ, namespace: p.obj.Namespace, labels: cloneLabels(p.obj.Labels), object: encode(p.obj)})
	close(s.changed)
	s.changed = make(chan struct{})
}

// update changes a pod's status and records it, unless it is gone.
func (s *Server) update(p *pod, change func(*corev1.Pod)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pods[p.key()] != p {
		return
	}
	change(p.obj)
	s.record("MODIFIED", p)
}

// event records an event of a pod, as a kubelet does (s.mu held).
func (s *Server) event(p *pod, typ, reason, message string) {
	now := metav1.NewTime(time.Now())
	s.events = append(s.events, corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: p.obj.Name + "." + randomSuffix(), Namespace: p.obj.Namespace, CreationTimestamp: now},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: p.obj.Namespace, Name: p.obj.Name, UID: p.obj.UID,
			APIVersion: "v1", FieldPath: "spec.containers{" + p.obj.Spec.Containers[0].Name + "}"},
		Type: typ, Reason: reason, Message: message, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "kubelet"},
	})
}

// run is the kubelet of one pod: it starts the container (unless the pod is
// never to be ready), reports it Running, Ready once its readiness probe
// answers, and its end; a pod being deleted goes once its container ended.
func (s *Server) run(p *pod) {
	defer s.wg.Done()
	s.mu.Lock()
	image := p.obj.Spec.Containers[0].Image
	s.mu.Unlock()
	if reason, never := s.opts.NeverReady[p.index]; never {
		message := fmt.Sprintf("Back-off pulling image %q", image)
		s.mu.Lock()
		p.settled = true
		s.event(p, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", image))
		s.event(p, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: not found", image, image))
		s.event(p, corev1.EventTypeWarning, "Failed", "Error: "+reason)
		s.event(p, corev1.EventTypeNormal, "BackOff", message)
		s.mu.Unlock()
		s.update(p, func(o *corev1.Pod) {
			o.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
		})
		return
	}
	spec, err := s.containerSpec(p)
	if err != nil {
		s.mu.Lock()
		p.settled = true
		s.event(p, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		s.mu.Unlock()
		s.update(p, func(o *corev1.Pod) {
			o.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}}
		})
		return
	}
	c, err := s.opts.Runtime(spec)
	if err != nil {
		s.mu.Lock()
		p.settled = true
		s.mu.Unlock()
		s.update(p, func(o *corev1.Pod) {
			o.Status.Phase = corev1.PodFailed
			o.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error()}}
		})
		s.removeIfDeleting(p)
		return
	}
	s.mu.Lock()
	p.container = c
	deleting := p.deleting
	s.mu.Unlock()
	if deleting {
		c.Signal(true)
	}
	started := metav1.NewTime(time.Now())
	s.update(p, func(o *corev1.Pod) {
		o.Status.Phase = corev1.PodRunning
		o.Status.PodIP, o.Status.PodIPs = podIP, []corev1.PodIP{{IP: podIP}}
		o.Status.StartTime = &started
		o.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
		o.Status.ContainerStatuses[0].Started = ptr.To(true)
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for ready := false; ; {
		select {
		case <-c.Exited():
			code := c.ExitCode()
			s.update(p, func(o *corev1.Pod) {
				reason, phase := "Completed", corev1.PodSucceeded
				if code != 0 {
					reason, phase = "Error", corev1.PodFailed
				}
				if code < 0 { // killed by a signal, as a runtime reports SIGKILL
					code = 137
				}
				o.Status.Phase = phase
				setReady(o, false)
				o.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: metav1.NewTime(time.Now())}}
			})
			s.removeIfDeleting(p)
			return
		case <-s.done:
			return
		case <-tick.C:
			if !ready && c.Ready() {
				ready = true
				s.update(p, func(o *corev1.Pod) { setReady(o, true) })
			}
		}
	}
}

// podIP is every pod's IP: they all run on this machine.
const podIP = "127.0.0.1"

func setReady(o *corev1.Pod, ready bool) {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	o.Status.ContainerStatuses[0].Ready = ready
	for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		i := slices.IndexFunc(o.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == t })
		if i < 0 {
			o.Status.Conditions = append(o.Status.Conditions, corev1.PodCondition{Type: t})
			i = len(o.Status.Conditions) - 1
		}
		o.Status.Conditions[i].Status = status
		o.Status.Conditions[i].LastTransitionTime = metav1.NewTime(time.Now())
	}
}

// removeIfDeleting removes a pod being deleted once its container has ended.
func (s *Server) removeIfDeleting(p *pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.deleting && s.pods[p.key()] == p {
		s.remove(p)
	}
}

// remove removes a pod (s.mu held).
func (s *Server) remove(p *pod) {
	delete(s.pods, p.key())
	s.record("DELETED", p)
}

// deletePodLocked deletes a pod as the API server and kubelet do: marked for
// deletion at once, its container signalled (killed with a grace period of
// 0, else SIGTERM and killed after the grace period), gone once it ended (s.mu held).
func (s *Server) deletePodLocked(p *pod, grace int64) {
	if s.pods[p.key()] != p {
		return
	}
	if !p.deleting {
		p.deleting = true
		now := metav1.NewTime(time.Now())
		p.obj.DeletionTimestamp, p.obj.DeletionGracePeriodSeconds = &now, &grace
		s.record("MODIFIED", p)
	}
	switch {
	case p.settled || (p.container != nil && !p.running()):
		s.remove(p)
	case p.container == nil:
		// Still starting: run kills it once started.
	case grace == 0:
		p.container.Signal(true)
	default:
		c := p.container
		c.Signal(false)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-c.Exited():
			case <-time.After(time.Duration(grace) * time.Second):
				c.Signal(true)
			case <-s.done:
			}
		}()
	}
}

// ReplacePod does what a Job controller with retries left does to a pod that
// failed: its container is killed, the pod goes, and a new pod takes its index.
func (s *Server) ReplacePod(namespace, name string) error {
	s.mu.Lock()
	p, ok := s.pods[key(namespace, name)]
	var job *batchv1.Job
	if ok {
		job = s.jobs[key(namespace, p.obj.Labels[jobNameLabel])]
	}
	s.mu.Unlock()
	if !ok || job == nil {
		return fmt.Errorf("no pod %s/%s of a job", namespace, name)
	}
	s.mu.Lock()
	s.deletePodLocked(p, 0)
	c := p.container
	s.mu.Unlock()
	if c != nil {
		<-c.Exited()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startPod(job, p.index)
	return nil
}

// Pods are a namespace's pods now.
func (s *Server) Pods(namespace string) []corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []corev1.Pod
	for _, p := range s.pods {
		if p.obj.Namespace == namespace {
			out = append(out, *p.obj.DeepCopy())
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return cmpStrings(a.Name, b.Name) })
	return out
}

// Container is what runs in a pod, nil when nothing does.
func (s *Server) Container(namespace, name string) Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pods[key(namespace, name)]; ok {
		return p.container
	}
	return nil
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func randomSuffix() string {
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func newUID() types.UID {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

// listPods lists a namespace's pods by label selector, or watches them.
func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	selector, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	ns := r.PathValue("ns")
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		s.watchPods(w, r, ns, selector, q.Get("resourceVersion"))
		return
	}
	s.mu.Lock()
	list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: strconv.FormatInt(s.rv, 10)}}
	for _, p := range s.pods {
		if p.obj.Namespace == ns && selector.Matches(labels.Set(p.obj.Labels)) {
			list.Items = append(list.Items, *p.obj.DeepCopy())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return cmpStrings(a.Name, b.Name) })
	writeObject(w, http.StatusOK, list)
}

// watchPods streams the changes after a resource version (from now on, with
// the pods there are as ADDED, when none is given), as JSON watch events.
func (s *Server) watchPods(w http.ResponseWriter, r *http.Request, ns string, selector labels.Selector, since string) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	send := func(typ string, object []byte) bool {
		b, _ := json.Marshal(struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}{typ, object}) // the object as it was recorded
		_, err := w.Write(append(b, '\n'))
		if flusher != nil {
			flusher.Flush()
		}
		return err == nil
	}
	s.mu.Lock()
	next := len(s.history)
	rv, err := strconv.ParseInt(since, 10, 64)
	if err != nil || rv == 0 {
		for _, p := range s.pods {
			if p.obj.Namespace == ns && selector.Matches(labels.Set(p.obj.Labels)) {
				if !send("ADDED", encode(p.obj)) {
					s.mu.Unlock()
					return
				}
			}
		}
	} else {
		next = slices.IndexFunc(s.history, func(e podEvent) bool { return e.rv > rv })
		if next < 0 {
			next = len(s.history)
		}
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		events, changed := slices.Clone(s.history[next:]), s.changed
		next = len(s.history)
		s.mu.Unlock()
		for _, e := range events {
			if e.namespace == ns && selector.Matches(labels.Set(e.labels)) && !send(e.typ, e.object) {
				return
			}
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

func (s *Server) lookup(r *http.Request) *pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pods[key(r.PathValue("ns"), r.PathValue("name"))]
}

func (s *Server) getPod(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r)
	if p == nil {
		notFound(w, "pods", r.PathValue("name"))
		return
	}
	s.mu.Lock()
	obj := p.obj.DeepCopy()
	s.mu.Unlock()
	writeObject(w, http.StatusOK, obj)
}

// deletePod deletes a pod with the grace period of the request, or its own.
func (s *Server) deletePod(w http.ResponseWriter, r *http.Request) {
	var opts metav1.DeleteOptions
	if r.ContentLength != 0 {
		if err := decode(r, &opts); err != nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
	}
	if v := r.URL.Query().Get("gracePeriodSeconds"); v != "" {
		g, _ := strconv.ParseInt(v, 10, 64)
		opts.GracePeriodSeconds = &g
	}
	p := s.lookup(r)
	if p == nil {
		notFound(w, "pods", r.PathValue("name"))
		return
	}
	s.mu.Lock()
	grace := ptr.Deref(opts.GracePeriodSeconds, ptr.Deref(p.obj.Spec.TerminationGracePeriodSeconds, 30))
	s.deletePodLocked(p, grace)
	obj := p.obj.DeepCopy()
	s.mu.Unlock()
	writeObject(w, http.StatusOK, obj)
}

// podLog serves a container's log from its start; with follow=true, until it ends.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r)
	if p == nil {
		notFound(w, "pods", r.PathValue("name"))
		return
	}
	s.mu.Lock()
	c := p.container
	state := p.obj.Status.ContainerStatuses[0].State
	containerName := p.obj.Spec.Containers[0].Name
	s.mu.Unlock()
	if want := r.URL.Query().Get("container"); want != "" && want != containerName {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("container %s is not valid for pod %s", want, r.PathValue("name")))
		return
	}
	if c == nil {
		reason := "ContainerCreating"
		if state.Waiting != nil {
			reason = state.Waiting.Reason
		}
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("container %q in pod %q is waiting to start: %s", containerName, r.PathValue("name"), reason))
		return
	}
	follow := r.URL.Query().Get("follow") == "true"
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	var offset int64
	for {
		exited := !p.running()
		b := c.ReadLog(offset)
		if len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				return
			}
			offset += int64(len(b))
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow || exited {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-c.Exited():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// podProxy forwards a request to a port of the pod, as the API server's pod
// proxy does; the name may carry a scheme and a port ("http:name:8888").
func (s *Server) podProxy(w http.ResponseWriter, r *http.Request) {
	_, name, port, valid := utilnet.SplitSchemeNamePort(r.PathValue("name"))
	if !valid {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "invalid pod name "+r.PathValue("name"))
		return
	}
	s.mu.Lock()
	p := s.pods[key(r.PathValue("ns"), name)]
	s.mu.Unlock()
	if p == nil {
		notFound(w, "pods", name)
		return
	}
	n, err := strconv.Atoi(port)
	if port == "" {
		n, err = 80, nil
	}
	if err != nil || !p.running() {
		writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			fmt.Sprintf("error trying to reach service: dial tcp %s:%s: connect: connection refused", podIP, port))
		return
	}
	p.container.Proxy(w, r, n, "/"+r.PathValue("path"))
}

// listEvents lists a namespace's events by field selector (involvedObject.kind,
// involvedObject.name).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	selector, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	list := &corev1.EventList{ListMeta: metav1.ListMeta{ResourceVersion: strconv.FormatInt(s.rv, 10)}}
	for _, e := range s.events {
		set := fields.Set{"involvedObject.kind": e.InvolvedObject.Kind, "involvedObject.name": e.InvolvedObject.Name,
			"involvedObject.namespace": e.InvolvedObject.Namespace, "reason": e.Reason, "type": e.Type}
		if e.Namespace == r.PathValue("ns") && selector.Matches(set) {
			list.Items = append(list.Items, e)
		}
	}
	s.mu.Unlock()
	writeObject(w, http.StatusOK, list)
}

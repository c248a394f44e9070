// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// StartMembers is runner.Options.StartMembers for a fleet on Kubernetes: it
// creates the run's ConfigMap (the configuration files), Secret (the
// credentials) and Indexed Job, waits until every pod is Ready, and returns
// one member per pod in index order, with what removes them all.
func StartMembers(opts Options) func(ctx context.Context, configs []string, env map[string]string) ([]runner.Member, func(), error) {
	return func(ctx context.Context, configs []string, env map[string]string) ([]runner.Member, func(), error) {
		if err := opts.validate(); err != nil {
			return nil, nil, err
		}
		t, err := loadTemplate(opts.Template)
		if err != nil {
			return nil, nil, err
		}
		client, err := newClient(opts.Kubeconfig)
		if err != nil {
			return nil, nil, err
		}
		return start(ctx, client, opts, t, configs, env)
	}
}

// newClient connects to the cluster of a kubeconfig (the default loading rules
// when empty). Its rate allows a snapshot of every pod each second.
func newClient(kubeconfig string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube: the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfig(cfg)
}

// fleet is one run's Job and its pods.
type fleet struct {
	client   kubernetes.Interface
	opts     Options
	name     string
	warnings io.Writer
	members  []*member

	// ctx lives until the cleanup: the members are read after the run's own
	// context ended (a Ctrl-C stops the load, then reads the final counts).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// changed is closed and replaced whenever a pod's state changes.
	changed chan struct{}
	// created are the kinds of object made so far, which the cleanup deletes.
	created map[string]bool

	suspendMu sync.Mutex
	suspended bool
}

// start creates the run's objects and waits for its pods; whatever fails, it
// removes what it created before returning.
func start(ctx context.Context, client kubernetes.Interface, opts Options, t template, configs []string, env map[string]string) ([]runner.Member, func(), error) {
	name := "otelcol-loadtest-" + suffix()
	objs, err := makeObjects(opts, t, name, configs, env)
	if err != nil {
		return nil, nil, err
	}
	f := &fleet{client: client, opts: opts, name: name, warnings: opts.Warnings, changed: make(chan struct{}), created: map[string]bool{}}
	if f.warnings == nil {
		f.warnings = os.Stderr
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for i := range opts.Replicas {
		f.members = append(f.members, newMember(f, i))
	}
	if err := f.create(ctx, objs); err != nil {
		f.cleanup()
		return nil, nil, err
	}
	f.wg.Go(f.watchPods)
	if err := f.waitReady(ctx); err != nil {
		f.cleanup()
		return nil, nil, err
	}
	members := make([]runner.Member, len(f.members))
	for i, m := range f.members {
		members[i] = m
	}
	return members, f.cleanup, nil
}

// suffix makes a run's name unique in its namespace.
func suffix() string {
	const letters = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes' generated names
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// create creates the Job suspended, then its ConfigMap and Secret owned by it
// (so that deleting the Job, or its TTL after a deadline the runner did not
// outlive, removes them too), then resumes it.
func (f *fleet) create(ctx context.Context, objs objects) error {
	ns := f.opts.Namespace
	job, err := f.client.BatchV1().Jobs(ns).Create(ctx, objs.job, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("kube: creating job %s/%s: %w", ns, objs.job.Name, err)
	}
	f.created["job"] = true
	owner := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}
	objs.configMap.OwnerReferences = owner
	if _, err := f.client.CoreV1().ConfigMaps(ns).Create(ctx, objs.configMap, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kube: creating configmap %s/%s: %w", ns, objs.configMap.Name, err)
	}
	f.created["configmap"] = true
	if objs.secret != nil {
		objs.secret.OwnerReferences = owner
		if _, err := f.client.CoreV1().Secrets(ns).Create(ctx, objs.secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("kube: creating secret %s/%s: %w", ns, objs.secret.Name, err)
		}
		f.created["secret"] = true
	}
	if err := f.patchSuspend(ctx, false); err != nil {
		return fmt.Errorf("kube: starting job %s/%s: %w", ns, job.Name, err)
	}
	return nil
}

func (f *fleet) patchSuspend(ctx context.Context, suspend bool) error {
	patch := []byte(`{"spec":{"suspend":` + strconv.FormatBool(suspend) + `}}`)
	_, err := f.client.BatchV1().Jobs(f.opts.Namespace).Patch(ctx, f.name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// suspend stops every pod: the Job controller deletes them gracefully (SIGTERM,
// then the grace period) and creates none in their place. Tried a few times: a
// stop that did not happen leaves the load running.
func (f *fleet) suspend() error {
	f.suspendMu.Lock()
	defer f.suspendMu.Unlock()
	if f.suspended {
		return nil
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = f.patchSuspend(ctx, true)
		cancel()
		if err == nil || apierrors.IsNotFound(err) {
			f.suspended = true
			return nil
		}
	}
	return fmt.Errorf("kube: suspending job %s/%s: %w", f.opts.Namespace, f.name, err)
}

// cleanup deletes the Job with its pods, the ConfigMap and the Secret, with a
// context of its own: it runs after a Ctrl-C too. What it could not delete is
// named with the command that finishes the job.
func (f *fleet) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := f.opts.Namespace
	background := metav1.DeletePropagationBackground
	var errs []error
	// Each is deleted even when its creation seemed to fail (a request cut by
	// Ctrl-C may have been carried out); a failure counts for what was created.
	failed := func(kind string, err error) bool { return f.created[kind] && err != nil && !apierrors.IsNotFound(err) }
	if err := f.client.BatchV1().Jobs(ns).Delete(ctx, f.name, metav1.DeleteOptions{PropagationPolicy: &background}); failed("job", err) {
		errs = append(errs, err)
	}
	// The pods go with the Job; one that still runs after the load was stopped
	// (a failed stop) is deleted at once.
	for _, m := range f.members {
		if name := m.Name(); name != "" && !m.ended() {
			if err := f.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); failed("job", err) {
				errs = append(errs, err)
			}
		}
	}
	// Owned by the Job, they would go with it; deleted now, they are gone
	// when the run ends.
	if err := f.client.CoreV1().ConfigMaps(ns).Delete(ctx, f.name, metav1.DeleteOptions{}); failed("configmap", err) {
		errs = append(errs, err)
	}
	if err := f.client.CoreV1().Secrets(ns).Delete(ctx, f.name, metav1.DeleteOptions{}); failed("secret", err) {
		errs = append(errs, err)
	}
	f.cancel()
	f.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(f.warnings, "kube: could not remove everything of the run (%v); finish with: kubectl -n %s delete job,configmap,secret,pod -l %s=%s\n", err, ns, labelRun, f.name)
	}
}

// selector picks the run's pods.
func (f *fleet) selector() string {
	return labels.Set{labelRun: f.name}.String()
}

// notify wakes whoever waits for a change of the pods.
func (f *fleet) notify() {
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// watchPods follows the run's pods until the cleanup: a list, then a watch
// from its resource version, listed again whenever the watch ends (the API
// server ends watches after a while).
func (f *fleet) watchPods() {
	pods := f.client.CoreV1().Pods(f.opts.Namespace)
	for f.ctx.Err() == nil {
		list, err := pods.List(f.ctx, metav1.ListOptions{LabelSelector: f.selector()})
		if err != nil {
			f.pause(time.Second)
			continue
		}
		present := map[string]bool{}
		for i := range list.Items {
			present[list.Items[i].Name] = true
			f.observe(&list.Items[i], false)
		}
		for _, m := range f.members { // deleted while no watch was open
			if name := m.Name(); name != "" && !present[name] {
				m.observe(nil, true)
			}
		}
		f.notify()
		w, err := pods.Watch(f.ctx, metav1.ListOptions{LabelSelector: f.selector(), ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			f.pause(time.Second)
			continue
		}
		f.follow(w)
		w.Stop()
	}
}

// follow hands a watch's events to the members until it ends.
func (f *fleet) follow(w watch.Interface) {
	for e := range w.ResultChan() {
		pod, ok := e.Object.(*corev1.Pod)
		switch {
		case e.Type == watch.Error:
			return // e.g. 410 Gone: list again
		case !ok:
			continue
		case e.Type == watch.Added || e.Type == watch.Modified:
			f.observe(pod, false)
		case e.Type == watch.Deleted:
			f.observe(pod, true)
		}
		f.notify()
	}
}

func (f *fleet) pause(d time.Duration) {
	select {
	case <-f.ctx.Done():
	case <-time.After(d):
	}
}

// observe hands a pod's state to the member of its completion index.
func (f *fleet) observe(pod *corev1.Pod, deleted bool) {
	i, err := strconv.Atoi(pod.Annotations[completionIndex])
	if err != nil {
		i, err = strconv.Atoi(pod.Labels[completionIndex])
	}
	if err != nil || i < 0 || i >= len(f.members) {
		return
	}
	f.members[i].observe(pod, deleted)
}

// waitReady waits until every member's pod is Ready; a pod that ends or is
// not ready in time fails the start, with why.
func (f *fleet) waitReady(ctx context.Context) error {
	timeout := f.opts.ReadyTimeout
	if timeout == 0 {
		timeout = defaultReadyTimeout
	}
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		changed := f.changed
		f.mu.Unlock()
		ready := 0
		for _, m := range f.members {
			if err := m.startErr(); err != nil {
				return err
			}
			if m.isReady() {
				ready++
			}
		}
		if ready == len(f.members) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return f.notReady(timeout)
		}
	}
}

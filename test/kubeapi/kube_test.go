// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ampload/otelcol-dummymetrics/internal/kube"
	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/kubeapi"
)

const ns = "load"

const fakeMetrics = "# TYPE otelcol_receiver_accepted_metric_points counter\notelcol_receiver_accepted_metric_points{receiver=\"dummymetrics\"} 42\n"

// standIn starts the stand-in with fake collectors and writes its kubeconfig.
func standIn(t *testing.T, opts kubeapi.Options) (*kubeapi.Server, kube.Options) {
	t.Helper()
	if opts.Runtime == nil {
		opts.Runtime = kubeapi.Fakes(fakeMetrics)
	}
	s, err := kubeapi.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	kubeconfig, err := s.Kubeconfig(t.TempDir(), ns)
	require.NoError(t, err)
	return s, kube.Options{Kubeconfig: kubeconfig, Namespace: ns, Replicas: 2, Image: "registry.example/otelcol-dummymetrics:test",
		ReadyTimeout: 10 * time.Second, ActiveDeadline: 5 * time.Minute, GracePeriod: 70 * time.Second, LogDir: t.TempDir()}
}

var configs = []string{"collector-config.yaml", "yaml:receivers::dummymetrics::align_start: 5s",
	"yaml:exporters::prometheus_remote_write::http::headers::X-Scope-OrgID: ${env:RUNNER_HEADER_0}"}

var env = map[string]string{"PROMETHEUS_WRITE_URL": "http://127.0.0.1:9/api/v1/write", "RUNNER_HEADER_0": "tenant-a", "GENERATOR_INSTANCES": "10"}

// requireNothingLeft waits until the stand-in holds nothing of the run.
func requireNothingLeft(t *testing.T, s *kubeapi.Server) {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Left()) == 0 }, 10*time.Second, 50*time.Millisecond, "left: %v", s.Left())
	assert.Empty(t, s.Unhandled(), "requests the stand-in does not serve")
}

// A fleet starts, each member is its pod (index order, its replica index from
// the downward API, its telemetry through the pod proxy, its log followed),
// stops when the Job is suspended with the log complete, and is removed.
func TestFleetStartsReadsStopsAndIsRemoved(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{})
	members, cleanup, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.NoError(t, err)
	require.Len(t, members, 2)
	pods := s.Pods(ns)
	require.Len(t, pods, 2)
	for i, m := range members {
		pod := podNamed(t, pods, m.Name())
		assert.Equal(t, []string{"0", "1"}[i], pod.Annotations["batch.kubernetes.io/job-completion-index"], "index order")
		fake := s.Container(ns, m.Name()).(*kubeapi.Fake)
		assert.Equal(t, []string{"0", "1"}[i], fake.Spec.Env["GENERATOR_REPLICA_INDEX"], "from the completion index")
		assert.Equal(t, "127.0.0.1", fake.Spec.Env["TELEMETRY_HOST"], "the pod's IP")
		assert.Equal(t, "127.0.0.1:13133", fake.Spec.Env["HEALTH_CHECK_ENDPOINT"])
		assert.Equal(t, "tenant-a", fake.Spec.Env["RUNNER_HEADER_0"], "from the Secret")
		assert.Contains(t, fake.Spec.Files, "/etc/otelcol-dummymetrics/01-overlay.yaml")

		metrics, err := m.Telemetry(t.Context())
		require.NoError(t, err)
		assert.InDelta(t, 42.0, metrics.Sum(runner.MetricAccepted, nil), 0)
		require.Eventually(t, func() bool { return strings.Contains(m.Log(), `"replica":"`+[]string{"0", "1"}[i]+`"`) }, 5*time.Second, 20*time.Millisecond)
		assert.Zero(t, m.Restarts())
	}

	// The objects: a Secret for the credential, a ConfigMap and the Job owned
	// by nothing else, created suspended and resumed.
	var cm *corev1.ConfigMap
	var secret *corev1.Secret
	var job *batchv1.Job
	for _, obj := range s.Created() {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			cm = o
		case *corev1.Secret:
			secret = o
		case *batchv1.Job:
			job = o
		}
	}
	require.NotNil(t, cm)
	require.NotNil(t, secret)
	require.NotNil(t, job)
	assert.True(t, *job.Spec.Suspend, "created suspended")
	for _, owned := range [][]string{{cm.OwnerReferences[0].Name, string(cm.OwnerReferences[0].UID)}, {secret.OwnerReferences[0].Name, string(secret.OwnerReferences[0].UID)}} {
		assert.Equal(t, []string{job.Name, string(job.UID)}, owned, "removed with the Job")
	}
	for name, text := range cm.Data {
		assert.NotContains(t, text, "tenant-a", name)
	}
	assert.Equal(t, "tenant-a", string(secret.Data["RUNNER_HEADER_0"]))

	require.NoError(t, members[0].Terminate())
	require.NoError(t, members[1].Terminate(), "once is enough, twice is no error")
	for _, m := range members {
		select {
		case <-m.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not exit", m.Name())
		}
		assert.Equal(t, 0, m.ExitCode())
		require.Len(t, m.Logged().ReceiverReports(), 1, "the log is complete when it exits:\n%s", m.Log())
		b, err := os.ReadFile(filepath.Join(opts.LogDir, m.Name()+".log"))
		require.NoError(t, err)
		assert.Equal(t, m.Log(), string(b), "the log is kept in the run's folder")
	}
	cleanup()
	requireNothingLeft(t, s)
}

// A pod that never becomes ready fails the start, naming the pod and why, and
// everything created is removed.
func TestFleetPodNeverReady(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{NeverReady: map[int]string{1: "ImagePullBackOff"}})
	opts.ReadyTimeout = time.Second
	_, _, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.Error(t, err)
	var pod string
	for _, obj := range s.Created() {
		if p, ok := obj.(*corev1.Pod); ok && p.Annotations["batch.kubernetes.io/job-completion-index"] == "1" {
			pod = p.Name
		}
	}
	require.NotEmpty(t, pod)
	assert.Contains(t, err.Error(), "1 of 2 pods of job load/otelcol-loadtest-")
	assert.Contains(t, err.Error(), "pod "+pod+" (index 1): Pending; container otelcol-dummymetrics waiting: ImagePullBackOff: Back-off pulling image \"registry.example/otelcol-dummymetrics:test\"")
	assert.Contains(t, err.Error(), "events: Failed: Failed to pull image")
	requireNothingLeft(t, s)
}

// Ctrl-C while the pods start: the start ends at once and removes what it created.
func TestFleetStartInterrupted(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{NeverReady: map[int]string{0: "ContainerCreating"}})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, _, err := kube.StartMembers(opts)(ctx, configs, env)
	require.ErrorIs(t, err, context.Canceled)
	requireNothingLeft(t, s)
}

// A pod replaced by another of its index (the Job controller retrying) is a
// restart: its member ends, says so in its log, and counts it; one that
// crashes exits with its code and reason.
func TestFleetReplacedAndCrashedPods(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{})
	members, cleanup, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.NoError(t, err)
	defer cleanup()
	replaced, crashed := members[0], members[1]
	require.NoError(t, s.ReplacePod(ns, replaced.Name()))
	s.Container(ns, crashed.Name()).(*kubeapi.Fake).Exit(2)
	for _, m := range members {
		select {
		case <-m.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not exit", m.Name())
		}
	}
	require.Eventually(t, func() bool { return replaced.Restarts() == 1 }, 5*time.Second, 20*time.Millisecond, "the new pod of index 0 is seen")
	assert.Equal(t, 137, replaced.ExitCode(), "killed")
	assert.Contains(t, replaced.Log(), "kube: pod "+replaced.Name()+": its container ended: Error, exit code 137")
	assert.Equal(t, 2, crashed.ExitCode())
	assert.Zero(t, crashed.Restarts())
	assert.Contains(t, crashed.Log(), "kube: pod "+crashed.Name()+": its container ended: Error, exit code 2")
	cleanup()
	requireNothingLeft(t, s)
}

// Kill deletes the pod at once; the member exits killed.
func TestFleetKill(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{})
	opts.Replicas = 1
	members, cleanup, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.NoError(t, err)
	defer cleanup()
	members[0].Kill()
	assert.Equal(t, 137, members[0].ExitCode())
	cleanup()
	requireNothingLeft(t, s)
}

// Connections the API server drops (a restart, a load balancer's timeout)
// cost nothing: the watch lists again, the logs are read on from where they
// were, with no line twice.
func TestFleetSurvivesDroppedConnections(t *testing.T) {
	s, opts := standIn(t, kubeapi.Options{})
	members, cleanup, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.NoError(t, err)
	defer cleanup()
	fake := s.Container(ns, members[0].Name()).(*kubeapi.Fake)
	for i := range 5 {
		s.DropConnections()
		fake.Logf(map[string]any{"msg": "line", "n": i})
		time.Sleep(100 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return strings.Contains(members[0].Log(), `"n":4`) }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, members[0].Terminate())
	<-members[0].Exited()
	<-members[1].Exited()
	log := members[0].Logged()
	assert.Len(t, log, 7, "the start line, five lines, the report: each once\n%s", members[0].Log())
	cleanup()
	requireNothingLeft(t, s)
}

// The Role of deploy/eks/loadtest allows every request the engine makes in
// runs that start, read, stop, kill, remove and fail to start, and grants
// nothing the engine does not use.
func TestRoleAllowsWhatTheEngineDoes(t *testing.T) {
	role := loadRole(t)
	s, opts := standIn(t, kubeapi.Options{NeverReady: map[int]string{2: "ImagePullBackOff"}})
	members, cleanup, err := kube.StartMembers(opts)(t.Context(), configs, env)
	require.NoError(t, err)
	_, err = members[0].Telemetry(t.Context())
	require.NoError(t, err)
	members[1].Kill()
	require.NoError(t, members[0].Terminate())
	<-members[0].Exited()
	cleanup()
	opts.Replicas, opts.ReadyTimeout = 3, time.Second
	_, _, err = kube.StartMembers(opts)(t.Context(), configs, env)
	require.ErrorContains(t, err, "ImagePullBackOff")
	requireNothingLeft(t, s)

	used := s.Accesses()
	for _, a := range used {
		assert.True(t, kubeapi.Allows(role.Rules, a), "%+v is not allowed by %s", a, role.Name)
	}
	for _, r := range role.Rules {
		for _, group := range r.APIGroups {
			for _, resource := range r.Resources {
				for _, verb := range r.Verbs {
					assert.Contains(t, used, kubeapi.Access{Verb: verb, Group: group, Resource: resource}, "granted and never used")
				}
			}
		}
	}
}

// loadRole decodes deploy/eks/loadtest/role.yaml strictly: its Role, and the
// binding that grants it.
func loadRole(t *testing.T) *rbacv1.Role {
	t.Helper()
	path, err := runner.RepoPath("deploy", "eks", "loadtest", "role.yaml")
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var role *rbacv1.Role
	var binding *rbacv1.RoleBinding
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		obj, _, err := strict.Decode(doc, nil, nil)
		require.NoError(t, err)
		switch o := obj.(type) {
		case *rbacv1.Role:
			role = o
		case *rbacv1.RoleBinding:
			binding = o
		default:
			t.Fatalf("unexpected %T", obj)
		}
	}
	require.NotNil(t, role)
	require.NotNil(t, binding)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, binding.RoleRef)
	return role
}

func podNamed(t *testing.T, pods []corev1.Pod, name string) corev1.Pod {
	t.Helper()
	for _, p := range pods {
		if p.Name == name {
			return p
		}
	}
	require.Failf(t, "no pod", "%s", name)
	return corev1.Pod{}
}

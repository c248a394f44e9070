// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// The Job runs the configuration it was given, in order, from a ConfigMap;
// credentials come from a Secret only; the pod knows its replica index and
// addresses from the downward API; and the container is the standing fleet's.
func TestObjectsFromTheStandingFleet(t *testing.T) {
	tmpl, err := loadTemplate("")
	require.NoError(t, err)
	abs := filepath.Join(t.TempDir(), "extra.yaml")
	require.NoError(t, os.WriteFile(abs, []byte("service: {}\n"), 0o644))
	configs := []string{"collector-config.yaml", "collector-config-detailed.yaml", abs,
		"yaml:exporters::prometheus_remote_write::http::headers::X-Scope-OrgID: ${env:RUNNER_HEADER_0}"}
	env := map[string]string{"PROMETHEUS_WRITE_URL": "https://mimir.example/api/v1/push", "RUNNER_HEADER_0": "tenant-secret",
		"GENERATOR_INSTANCES": "1000", "GENERATOR_REPLICA_INDEX": "7", "TELEMETRY_PORT": "1"}
	opts := Options{Namespace: "load", Replicas: 3, Image: "registry.example/otelcol-dummymetrics:1", ActiveDeadline: 10 * time.Minute, GracePeriod: 90 * time.Second}
	objs, err := makeObjects(opts, tmpl, "otelcol-loadtest-abc", configs, env)
	require.NoError(t, err)

	// The ConfigMap: the files in order, a snippet as its text, the JSON logs last.
	shipped, err := os.ReadFile(filepath.Join(repo(t), "collector-config.yaml"))
	require.NoError(t, err)
	cm := objs.configMap.Data
	assert.Equal(t, string(shipped), cm["00-collector-config.yaml"])
	assert.Contains(t, cm, "01-collector-config-detailed.yaml")
	assert.Equal(t, "service: {}\n", cm["02-extra.yaml"])
	assert.Equal(t, "exporters::prometheus_remote_write::http::headers::X-Scope-OrgID: ${env:RUNNER_HEADER_0}\n", cm["03-overlay.yaml"])
	assert.Equal(t, strings.TrimPrefix(runner.JSONLogs, "yaml:")+"\n", cm["04-overlay.yaml"])
	assert.Len(t, cm, 5)
	for k, v := range cm {
		assert.NotContains(t, v, "tenant-secret", "credentials never in a ConfigMap (%s)", k)
	}
	require.NotNil(t, objs.secret)
	assert.Equal(t, map[string][]byte{"RUNNER_HEADER_0": []byte("tenant-secret")}, objs.secret.Data)

	job := objs.job
	assert.Equal(t, batchv1.IndexedCompletion, *job.Spec.CompletionMode)
	assert.EqualValues(t, 3, *job.Spec.Completions)
	assert.EqualValues(t, 3, *job.Spec.Parallelism)
	assert.EqualValues(t, 0, *job.Spec.BackoffLimit)
	assert.EqualValues(t, 600, *job.Spec.ActiveDeadlineSeconds)
	assert.True(t, *job.Spec.Suspend, "created suspended, resumed once its ConfigMap and Secret exist")
	assert.Equal(t, "otelcol-loadtest-abc", job.Spec.Template.Labels[labelRun])
	pod := job.Spec.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	assert.EqualValues(t, 90, *pod.TerminationGracePeriodSeconds, "the stop bound, above the template's 60 s")
	assert.Equal(t, "otelcol-dummymetrics", pod.ServiceAccountName, "the template's")
	assert.Equal(t, tmpl.pod.SecurityContext, pod.SecurityContext)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, opts.Image, c.Image)
	assert.Empty(t, c.Ports, "no port exposed")
	assert.Equal(t, tmpl.container.Resources, c.Resources)
	assert.Equal(t, tmpl.container.SecurityContext, c.SecurityContext)
	assert.Equal(t, []string{"--config", "/etc/otelcol-dummymetrics/00-collector-config.yaml", "--config", "/etc/otelcol-dummymetrics/01-collector-config-detailed.yaml",
		"--config", "/etc/otelcol-dummymetrics/02-extra.yaml", "--config", "/etc/otelcol-dummymetrics/03-overlay.yaml", "--config", "/etc/otelcol-dummymetrics/04-overlay.yaml"}, c.Args)
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, intstr.FromInt(13133), c.ReadinessProbe.HTTPGet.Port, "the named port resolved: no ports declared")
	assert.Equal(t, tmpl.container.ReadinessProbe.PeriodSeconds, c.ReadinessProbe.PeriodSeconds)
	require.NotNil(t, c.StartupProbe)
	assert.Equal(t, corev1.VolumeMount{Name: "config", MountPath: "/etc/otelcol-dummymetrics", ReadOnly: true}, c.VolumeMounts[0])
	assert.Equal(t, "otelcol-loadtest-abc", pod.Volumes[0].ConfigMap.Name)

	vars := map[string]corev1.EnvVar{}
	var names []string
	for _, v := range c.Env {
		vars[v.Name] = v
		names = append(names, v.Name)
	}
	assert.Equal(t, "status.podIP", vars["TELEMETRY_HOST"].ValueFrom.FieldRef.FieldPath)
	assert.Equal(t, "8888", vars["TELEMETRY_PORT"].Value, "the runner's own, not the caller's")
	assert.Equal(t, "$(TELEMETRY_HOST):13133", vars["HEALTH_CHECK_ENDPOINT"].Value)
	assert.Less(t, slices.Index(names, "TELEMETRY_HOST"), slices.Index(names, "HEALTH_CHECK_ENDPOINT"), "defined before it is referred to")
	assert.Equal(t, "metadata.annotations['batch.kubernetes.io/job-completion-index']", vars["GENERATOR_REPLICA_INDEX"].ValueFrom.FieldRef.FieldPath)
	assert.Equal(t, "https://mimir.example/api/v1/push", vars["PROMETHEUS_WRITE_URL"].Value)
	assert.Equal(t, &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "otelcol-loadtest-abc"}, Key: "RUNNER_HEADER_0"},
		vars["RUNNER_HEADER_0"].ValueFrom.SecretKeyRef)
	assert.Empty(t, vars["RUNNER_HEADER_0"].Value)
	assert.Len(t, c.Env, 7, "the given variables and the pod's own, each once")

	// What is created decodes strictly, as the API server reads it.
	for _, obj := range []runtime.Object{objs.configMap, objs.secret, job} {
		b, err := jsonOf(obj)
		require.NoError(t, err)
		_, _, err = strict.Decode(b, nil, nil)
		require.NoError(t, err, "%s", b)
	}
}

// Options override the template's resources and service account; without
// credentials there is no Secret.
func TestObjectsOverrides(t *testing.T) {
	tmpl, err := loadTemplate("")
	require.NoError(t, err)
	res := &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")}}
	objs, err := makeObjects(Options{Namespace: "n", Replicas: 1, Image: "i", ServiceAccount: "loadtest", Resources: res}, tmpl, "x", []string{"collector-config.yaml"}, map[string]string{"A": "b"})
	require.NoError(t, err)
	assert.Nil(t, objs.secret)
	pod := objs.job.Spec.Template.Spec
	assert.Equal(t, "loadtest", pod.ServiceAccountName)
	assert.Equal(t, *res, pod.Containers[0].Resources)
	assert.EqualValues(t, 60, *pod.TerminationGracePeriodSeconds, "the template's when longer")
	assert.Nil(t, objs.job.Spec.ActiveDeadlineSeconds)
}

// The template is read strictly: a misspelt field is an error, not a default.
func TestTemplateIsStrict(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repo(t), filepath.Join(defaultTemplate...)))
	require.NoError(t, err)
	_, err = parseTemplate(b)
	require.NoError(t, err)
	bad := strings.Replace(string(b), "readinessProbe:", "readinesProbe:", 1)
	_, err = parseTemplate([]byte(bad))
	require.ErrorContains(t, err, "readinesProbe")
}

// An invalid Options names every problem.
func TestOptionsValidate(t *testing.T) {
	err := Options{Replicas: 0}.validate()
	require.Error(t, err)
	for _, want := range []string{"no namespace", "no image", "0 replicas"} {
		assert.ErrorContains(t, err, want)
	}
}

func repo(t *testing.T) string {
	t.Helper()
	dir, err := runner.RepoPath()
	require.NoError(t, err)
	return dir
}

// jsonOf encodes an API object with its kind, as a client sends it.
func jsonOf(obj runtime.Object) ([]byte, error) {
	return runtime.Encode(scheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion, batchv1.SchemeGroupVersion), obj)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// TestStatefulSetPodOwnsItsInstances plays pod 2 of the scale-out StatefulSet as
// kustomize builds it: the collector container's arguments, with the files of the
// ConfigMap where it mounts them, and its environment, GENERATOR_REPLICA_INDEX
// being the pod's name as the downward API sets it. Only what points at AWS
// changes: a local Prometheus stands in for AMP (the SigV4 overlay still signs
// every request, with test credentials), and N is small. Prometheus must hold
// exactly the series of the instances [2N, 3N), with every sample emitted.
func TestStatefulSetPodOwnsItsInstances(t *testing.T) {
	t.Parallel()
	const (
		ordinal = 2
		n       = 6 // GENERATOR_INSTANCES
	)
	out := buildEKS(t, "scale-out")
	require.Len(t, out.statefulSets, 1)
	sts := out.statefulSets[0]
	pod := sts.Spec.Template.Spec
	require.Empty(t, pod.InitContainers)
	c := collector(t, pod)
	podName := fmt.Sprintf("%s-%d", sts.Name, ordinal)

	// The configuration files as the pod sees them.
	dir := t.TempDir()
	var configs []string
	for file, content := range podConfigs(t, pod, c, out.configMaps) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, path.Base(file)), []byte(content), 0o600))
	}
	for _, file := range configArgs(t, c.Args) {
		configs = append(configs, filepath.Join(dir, path.Base(file)))
	}

	// The container's environment, resolved as the kubelet does.
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		default:
			require.Failf(t, "unexpected source", "%s: the test resolves only metadata.name", e.Name)
		}
	}
	require.Equal(t, podName, env["GENERATOR_REPLICA_INDEX"])

	prom := startPrometheus(t, runner.PrometheusOptions{})
	env = withEnv(env, awsEnv(t, map[string]string{
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	}))
	env = withEnv(env, map[string]string{
		"PROMETHEUS_WRITE_URL": prom.WriteURL,
		"GENERATOR_INSTANCES":  strconv.Itoa(n),
		"GENERATOR_PAUSE":      "20ms",
	})
	for k, v := range env {
		require.NotContains(t, v, "<", "%s still holds a placeholder", k)
	}

	col := runCollector(t, runner.CollectorOptions{Env: env, Configs: configs})
	time.Sleep(6 * time.Second)
	code, err := col.Stop(60 * time.Second)
	require.NoError(t, err)
	require.Zero(t, code, "a SIGTERM ends the collector cleanly")
	log := col.Log()
	assert.Empty(t, problems(log))
	report := receiverReport(t, log)
	assert.Zero(t, report.Refused)
	require.Positive(t, report.Emitted)

	first, last := fmt.Sprintf("I%010d", ordinal*n), fmt.Sprintf("I%010d", (ordinal+1)*n-1)
	var started bool
	for _, e := range runner.ParseLog(log) {
		if e.FirstInstance != "" {
			started = true
			assert.Equal(t, [2]string{first, last}, [2]string{e.FirstInstance, e.LastInstance}, "the range the receiver logs at start")
		}
	}
	assert.True(t, started, "the receiver logs its range at start")

	// Exactly CPU and Memory of each instance in [2N, 3N), every sample emitted.
	want := map[string]bool{}
	for i := ordinal * n; i < (ordinal+1)*n; i++ {
		for _, name := range []string{"CPU", "Memory"} {
			want[fmt.Sprintf(`%s{InstanceId="I%010d"}`, name, i)] = true
		}
	}
	got := map[string]bool{}
	var stored int64
	for _, s := range storedSeries(t, prom, `{__name__=~".+"}`) {
		require.Len(t, s.Metric, 2, "only __name__ and InstanceId: %v", s.Metric)
		got[s.Metric.String()] = true
		stored += int64(len(s.Values))
	}
	assert.Equal(t, want, got, "pod %d owns the instances [%d, %d)", ordinal, ordinal*n, (ordinal+1)*n)
	assert.Equal(t, report.Emitted, stored, "samples emitted and stored")
	t.Logf("pod %s: instances %s..%s, %d samples emitted and stored", podName, first, last, stored)
}

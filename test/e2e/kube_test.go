// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/kubeapi"
)

// The load test's Kubernetes engine against the stand-in API server
// (test/kubeapi), whose pods are real collector processes of the built
// distribution: what a cluster adds (scheduling, image pulls, the kubelet,
// the network between pods and the backend) is not exercised here.

const kubeNamespace = "loadtest"

// kubeStandIn starts the stand-in API server and returns its kubeconfig; at
// the end of the test, it must hold nothing of the run.
func kubeStandIn(t *testing.T, opts kubeapi.Options) (*kubeapi.Server, string) {
	t.Helper()
	opts.Runtime = kubeapi.Collectors(t.TempDir())
	s, err := kubeapi.Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	kubeconfig, err := s.Kubeconfig(t.TempDir(), kubeNamespace)
	require.NoError(t, err)
	return s, kubeconfig
}

// requireNothingLeftIn waits until the stand-in holds no object and runs no
// container of the run.
func requireNothingLeftIn(t *testing.T, s *kubeapi.Server) {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Left()) == 0 }, 15*time.Second, 100*time.Millisecond, "left: %v", s.Left())
	assert.Empty(t, s.Unhandled(), "requests the stand-in does not serve")
}

func kubeArgs(kubeconfig string, args ...string) []string {
	return append([]string{"-kube-namespace", kubeNamespace, "-kubeconfig", kubeconfig, "-image", "otelcol-dummymetrics:e2e",
		"-kube-align-start", "5s", "-kube-ready-timeout", "30s"}, args...)
}

// Two pods of an Indexed Job carry the stages' total, half each, and the
// read-back finds exactly what the backend acknowledged over both ranges of
// instances; the Job, its ConfigMap, Secret and pods are gone afterwards.
func TestKubeLoadTestFleet(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	s, kubeconfig := kubeStandIn(t, kubeapi.Options{})
	lt := runLoadTest(t, nil, kubeArgs(kubeconfig, "-replicas", "2", "-url", prom.WriteURL, "-instances", "1000", "-stages", "5s:4000,5s:8000")...)
	v := lt.verdict
	require.NotNil(t, v, lt.out)
	assert.Equal(t, 0, lt.code)
	assert.Equal(t, 2, v.Collectors)
	require.Len(t, v.Stages, 2)
	for _, st := range v.Stages {
		assert.True(t, st.Passed, st.Reason)
		require.Len(t, st.Collectors, 2)
		for _, c := range st.Collectors {
			assert.InDelta(t, st.TargetSamplesPerSecond/2, c.SentSamplesPerSecond, st.TargetSamplesPerSecond*0.05, "%s carries half of stage %s", c.Name, st.Stage)
		}
	}
	assert.True(t, v.Passed)
	require.NotNil(t, v.ReadBack)
	assert.Empty(t, v.ReadBack.Problem)
	assert.True(t, v.ReadBack.Exact)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "read back exactly over both ranges")
	assert.Equal(t, v.ReadBack.SeriesExpected, v.ReadBack.SeriesFound)
	assert.Greater(t, v.ReadBack.SeriesFound, 3500.0, "both ranges: 2 × 1,000 instances, 2 series each (a short run leaves a few unwritten)")
	// Each pod's log is in the run's folder, and ends with its receiver's report.
	logs, err := filepath.Glob(filepath.Join(lt.dir, "otelcol-loadtest-*.log"))
	require.NoError(t, err)
	require.Len(t, logs, 2, "one log per pod")
	for _, l := range logs {
		b, err := os.ReadFile(l)
		require.NoError(t, err)
		assert.Len(t, runner.ParseLog(string(b)).ReceiverReports(), 1, "%s stopped gracefully, by SIGTERM", filepath.Base(l))
	}
	requireNothingLeftIn(t, s)
}

// Ctrl-C mid-run stops the pods gracefully (the Job suspended), reads back
// what was acknowledged, reports, exits 130, and removes everything.
func TestKubeLoadTestInterrupted(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	s, kubeconfig := kubeStandIn(t, kubeapi.Options{})
	web, err := runner.FreeAddr()
	require.NoError(t, err)
	out := t.TempDir()
	cmd := exec.Command(command(t, "loadtest"), append([]string{"-out", out, "-web", web, "-progress", "1s"},
		kubeArgs(kubeconfig, "-replicas", "2", "-url", prom.WriteURL, "-instances", "500", "-stages", "60s:2000")...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	stuck := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer stuck.Stop()
	var output strings.Builder
	lines := bufio.NewScanner(pipe)
	progress := regexp.MustCompile(`^\s+\d+s stage 1 of 1: .*acknowledged [1-9]`)
	for lines.Scan() {
		output.WriteString(lines.Text() + "\n")
		if progress.MatchString(lines.Text()) {
			break // the pods write
		}
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	for lines.Scan() {
		output.WriteString(lines.Text() + "\n")
	}
	err = cmd.Wait()
	t.Logf("loadtest:\n%s", output.String())
	exit, ok := errors.AsType[*exec.ExitError](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 130, exit.ExitCode())
	assert.Contains(t, output.String(), "interrupted; the load was stopped")
	m := regexp.MustCompile(`Read back: stored ([\d,]+) of ([\d,]+) samples acknowledged`).FindStringSubmatch(output.String())
	require.NotNil(t, m, "the read-back ran")
	assert.Equal(t, m[2], m[1], "every acknowledged sample stored")
	logs, err := filepath.Glob(filepath.Join(out, "*", "otelcol-loadtest-*.log"))
	require.NoError(t, err)
	require.Len(t, logs, 2)
	for _, l := range logs {
		b, err := os.ReadFile(l)
		require.NoError(t, err)
		assert.Len(t, runner.ParseLog(string(b)).ReceiverReports(), 1, "%s stopped gracefully, by SIGTERM", filepath.Base(l))
	}
	requireNothingLeftIn(t, s)
}

// A pod that never becomes ready stops the run before any load: the error
// names the pod and why, the exit code is 2, and nothing is left.
func TestKubeLoadTestPodNeverReady(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	s, kubeconfig := kubeStandIn(t, kubeapi.Options{NeverReady: map[int]string{1: "ImagePullBackOff"}})
	args := kubeArgs(kubeconfig, "-replicas", "2", "-url", prom.WriteURL, "-instances", "500", "-stages", "10s:2000")
	args = append(args, "-kube-ready-timeout", "3s")
	lt := runLoadTest(t, nil, args...)
	assert.Equal(t, 2, lt.code)
	assert.Nil(t, lt.verdict, "no run, no verdict")
	assert.Regexp(t, `loadtest: kube: 1 of 2 pods of job loadtest/otelcol-loadtest-\w+ not ready after 3s:\n`+
		`  pod otelcol-loadtest-\w+-1-\w+ \(index 1\): Pending; container otelcol-dummymetrics waiting: ImagePullBackOff: Back-off pulling image "otelcol-dummymetrics:e2e"; `+
		`events: .*Failed to pull image "otelcol-dummymetrics:e2e"`, lt.out)
	requireNothingLeftIn(t, s)
	assert.Zero(t, storedSamples(t, prom), "no load")
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e holds the end-to-end tests: they run the built distribution and the
// repository's commands against a real Prometheus, as users do, and check what
// Prometheus stored. `make test` builds the distribution and installs Prometheus
// (and Chromium, for the live page) first.
package e2e

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// The exporter's component id in the telemetry's labels.
var prw = map[string]string{"exporter": "prometheus_remote_write"}

// startPrometheus starts a real Prometheus for the test and stops it afterwards.
func startPrometheus(t *testing.T, opts runner.PrometheusOptions) *runner.Prometheus {
	t.Helper()
	prom, err := runner.StartPrometheus(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = prom.Stop() })
	return prom
}

// shippedConfig returns the path of a file of the repository.
func shippedConfig(t *testing.T, name string) string {
	t.Helper()
	path, err := runner.RepoPath(name)
	require.NoError(t, err)
	return path
}

// startCollector runs the distribution with the configuration files given (the
// shipped collector-config.yaml when none) and env on top of the environment,
// waits until it is healthy, and stops it at the end of the test.
func startCollector(t *testing.T, env map[string]string, configs ...string) *runner.Collector {
	t.Helper()
	return runCollector(t, runner.CollectorOptions{Env: env, Configs: configs})
}

// runCollector is startCollector with every option.
func runCollector(t *testing.T, opts runner.CollectorOptions) *runner.Collector {
	t.Helper()
	if opts.LogPath == "" {
		opts.LogPath = filepath.Join(t.TempDir(), "collector.log")
	}
	col, err := runner.StartCollector(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, err := col.Stop(60 * time.Second); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("--- collector log ---\n%s", col.Log())
		}
	})
	return col
}

// withEnv returns env with extra on top.
func withEnv(env, extra map[string]string) map[string]string {
	out := maps.Clone(env)
	maps.Copy(out, extra)
	return out
}

// front is a stand-in backend in front of a real Prometheus: it records every
// request and can be made to fail.
type front struct {
	*backend.Server
	*backend.Recorder
	*backend.Faults
}

// startFaultFront starts a front of prom for the test.
func startFaultFront(t *testing.T, prom *runner.Prometheus) *front {
	t.Helper()
	f := &front{Faults: backend.InjectFaults(backend.Forward(prom.URL))}
	f.Recorder = backend.Record(f.Faults)
	srv, err := backend.Serve(f.Recorder)
	require.NoError(t, err)
	f.Server = srv
	t.Cleanup(srv.Close)
	return f
}

// querier asks prom's query API.
func querier(t *testing.T, prom *runner.Prometheus) *runner.Querier {
	t.Helper()
	q, err := runner.Backend{QueryURL: prom.URL}.NewQuerier()
	require.NoError(t, err)
	return q
}

// storedSeries returns every series Prometheus holds with its samples, checking
// that each only goes forward in time.
func storedSeries(t *testing.T, prom *runner.Prometheus, selector string) model.Matrix {
	t.Helper()
	// A little ahead of now: the newest samples may run up to a second ahead of the clock.
	m, err := querier(t, prom).Samples(context.Background(), selector, time.Hour, time.Now().Add(5*time.Second))
	require.NoError(t, err)
	for _, s := range m {
		for i := 1; i < len(s.Values); i++ {
			require.Greater(t, s.Values[i].Timestamp, s.Values[i-1].Timestamp, "%v: timestamps strictly increase", s.Metric)
		}
	}
	return m
}

// storedSamples counts the samples of the CPU and Memory series Prometheus holds.
func storedSamples(t *testing.T, prom *runner.Prometheus) int64 {
	t.Helper()
	var n int64
	for _, s := range storedSeries(t, prom, `{__name__=~"CPU|Memory"}`) {
		n += int64(len(s.Values))
	}
	return n
}

// scrapePrometheus reads Prometheus's own counters.
func scrapePrometheus(t *testing.T, prom *runner.Prometheus) runner.Metrics {
	t.Helper()
	m, err := runner.Scrape(context.Background(), prom.URL+"/metrics")
	require.NoError(t, err)
	return m
}

// telemetry scrapes the collector's own metrics.
func telemetry(t *testing.T, col *runner.Collector) runner.Metrics {
	t.Helper()
	m, err := col.Telemetry(context.Background())
	require.NoError(t, err)
	return m
}

// problems returns the collector's log lines at level warn and above.
func problems(log string) []string {
	var out []string
	for _, e := range runner.ParseLog(log).Problems() {
		out = append(out, e.Raw)
	}
	return out
}

// receiverReport returns the receiver's one report at shutdown.
func receiverReport(t *testing.T, log string) runner.LogEntry {
	t.Helper()
	reports := runner.ParseLog(log).ReceiverReports()
	require.Len(t, reports, 1, "the receiver reports what it emitted when it stops")
	return reports[0]
}

// waitUntil polls cond every 100 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	require.Eventuallyf(t, cond, timeout, 100*time.Millisecond, format, args...)
}

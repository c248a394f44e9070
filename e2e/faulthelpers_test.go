// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
	"github.com/ampload/otelcol-dummymetrics/internal/faultfront"
	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/repo"
	"github.com/ampload/otelcol-dummymetrics/internal/scrape"
)

// The exporter's component id in the telemetry's labels.
var prw = map[string]string{"exporter": "prometheus_remote_write"}

// loadEnv is the load of the tests of this file and sigv4_test.go: 12 instances
// over 3 generator subtasks with a 5 ms pause, about 3,600 samples/s, which the
// 1 s batch timeout cuts into batches of about 3,600 samples, two or three requests
// of SINK_MAX_REQUEST_BYTES at its default. extra is added on top.
func loadEnv(writeURL string, extra map[string]string) map[string]string {
	env := map[string]string{
		"PROMETHEUS_WRITE_URL":  writeURL,
		"GENERATOR_INSTANCES":   "12",
		"GENERATOR_PARALLELISM": "3",
		"GENERATOR_PAUSE":       "5ms",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startFaultFront starts a fault-injecting front of prom for the test.
func startFaultFront(t *testing.T, prom *promserver.Server) *faultfront.Front {
	t.Helper()
	u, err := url.Parse(prom.URL)
	require.NoError(t, err)
	front, err := faultfront.Start(u)
	require.NoError(t, err)
	t.Cleanup(front.Close)
	return front
}

// runCollector is startCollector with the feature gates given (empty: the shipped
// ones) and, without waitHealthy, without waiting for the health check.
func runCollector(t *testing.T, env map[string]string, gates string, waitHealthy bool, configs ...string) *collectorproc.Process {
	t.Helper()
	bin, err := repo.CollectorBinary()
	require.NoError(t, err)
	if len(configs) == 0 {
		configs = []string{shippedConfig(t, "collector-config.yaml")}
	}
	proc, err := collectorproc.Start(context.Background(), collectorproc.Options{
		Binary:       bin,
		Configs:      configs,
		Env:          env,
		FeatureGates: gates,
		LogPath:      filepath.Join(t.TempDir(), "collector.log"),
	}, waitHealthy)
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, err := proc.Stop(60 * time.Second); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("--- collector log ---\n%s", proc.Log())
		}
	})
	return proc
}

// waitUntil polls cond every 100 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "after %s: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAccepted waits until the front forwarded n more requests that Prometheus
// accepted (204) than it had when called.
func waitAccepted(t *testing.T, front *faultfront.Front, n int64, timeout time.Duration) {
	t.Helper()
	base := front.Stats()[204].Requests
	waitUntil(t, timeout, func() bool { return front.Stats()[204].Requests >= base+n }, "%d more requests accepted", n)
}

// waitCaughtUp waits until the exporter's queue is empty and two more requests
// landed: after a fault, everything held back was delivered.
func waitCaughtUp(t *testing.T, col *collectorproc.Process, front *faultfront.Front, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	waitUntil(t, timeout, func() bool {
		m, err := col.Telemetry(context.Background())
		return err == nil && m.Has("otelcol_exporter_queue_size") && m.Sum("otelcol_exporter_queue_size", prw) == 0
	}, "the exporter's queue to empty")
	waitAccepted(t, front, 2, time.Until(deadline)+10*time.Second)
}

// outcome is what a run delivered, read after the collector stopped.
type outcome struct {
	// Emitted, Refused: the receiver's report at shutdown.
	Emitted, Refused int64
	// Stored is the number of samples Prometheus holds; Appended its own counter.
	Stored, Appended int64
	// Dropped adds up dropped_items of the exporter's "Exporting failed. Dropping
	// data." lines, Rejected the rejected_items of its "Rejecting data." lines;
	// DropLines and RejectLines count them.
	Dropped, Rejected      int64
	DropLines, RejectLines int
	// StopTime is how long the collector took to exit after SIGTERM.
	StopTime time.Duration
	ExitCode int
	Log      string
	// Prom is Prometheus's own telemetry after the run.
	Prom scrape.Metrics
}

// stopAndAccount stops the collector, waits at most stopTimeout, and reads what
// was emitted, stored and reported dropped.
func stopAndAccount(t *testing.T, col *collectorproc.Process, prom *promserver.Server, stopTimeout time.Duration) outcome {
	t.Helper()
	ctx := context.Background()
	began := time.Now()
	code, err := col.Stop(stopTimeout)
	o := outcome{StopTime: time.Since(began), ExitCode: code, Log: col.Log()}
	require.NoError(t, err)
	summaries := collectorproc.Summaries(o.Log)
	require.Len(t, summaries, 1, "the receiver reports what it emitted when it stops")
	o.Emitted, o.Refused = summaries[0].Emitted, summaries[0].Refused
	o.Dropped, o.DropLines, o.Rejected, o.RejectLines = droppedInLog(o.Log)
	o.Stored = storedSamples(t, prom)
	o.Prom, err = scrapePrometheus(ctx, prom)
	require.NoError(t, err)
	o.Appended = int64(o.Prom.Sum("prometheus_tsdb_head_samples_appended_total", nil))
	return o
}

// storedSamples counts the samples Prometheus holds, checking that every series
// only goes forward in time.
func storedSamples(t *testing.T, prom *promserver.Server) int64 {
	t.Helper()
	series, err := prom.RawSamples(context.Background(), `{__name__=~"CPU|Memory"}`, time.Hour)
	require.NoError(t, err)
	var n int64
	for _, s := range series {
		for i := 1; i < len(s.Samples); i++ {
			require.Greater(t, s.Samples[i].Millis, s.Samples[i-1].Millis, "%v", s.Labels)
		}
		n += int64(len(s.Samples))
	}
	return n
}

// dropPattern matches the exporter's reports of samples it gave up:
// "Dropping data" (dropped_items) for a batch that left the queue and failed,
// "Rejecting data" (rejected_items) for one that never entered it: the queue was
// full or, with SINK_QUEUE_ENABLED=false, its export failed.
var dropPattern = regexp.MustCompile(`Exporting failed\. (Dropping|Rejecting) data\..*"(?:dropped|rejected)_items": (\d+)`)

// droppedInLog adds up what the exporter reported it dropped after the queue
// (dropped) and at its entry (rejected), and counts the lines.
func droppedInLog(log string) (dropped int64, dropLines int, rejected int64, rejectLines int) {
	for _, m := range dropPattern.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "Dropping" {
			dropped += n
			dropLines++
		} else {
			rejected += n
			rejectLines++
		}
	}
	return dropped, dropLines, rejected, rejectLines
}

// failedRequestLine is one "failed to send WriteRequest" line of the exporter.
type failedRequestLine struct {
	Status, Attempt int
	Body            string
}

var failedRequestPattern = regexp.MustCompile(`failed to send WriteRequest to remote endpoint.*"status_code": (\d+),.*"retry_attempt": (\d+), "error": "((?:[^"\\]|\\.)*)"`)

// failedRequests returns the exporter's log lines about requests answered with an error.
func failedRequests(log string) []failedRequestLine {
	var out []failedRequestLine
	for _, m := range failedRequestPattern.FindAllStringSubmatch(log, -1) {
		status, _ := strconv.Atoi(m[1])
		attempt, _ := strconv.Atoi(m[2])
		out = append(out, failedRequestLine{Status: status, Attempt: attempt, Body: m[3]})
	}
	return out
}

// The collector samples its log: of the lines with the same message, it writes
// the first logSamplingInitial in every 10 s, then one in 100
// (service::telemetry::logs::sampling, left at its defaults).
const logSamplingInitial = 10

// requireSampledCount checks that logged lines are what the log sampling lets
// through of n events: all of them up to logSamplingInitial, then fewer.
func requireSampledCount(t *testing.T, n, logged int, what string) {
	t.Helper()
	require.LessOrEqual(t, logged, n, what)
	require.GreaterOrEqual(t, logged, min(n, logSamplingInitial), what)
}

// requireUnsampledDrops checks that the log holds every "Exporting failed" line,
// which adding up their items needs: fewer than the sampling lets through.
func requireUnsampledDrops(t *testing.T, o outcome) {
	t.Helper()
	require.Less(t, o.DropLines, logSamplingInitial, "more drop lines than the log sampling keeps: the log cannot be summed")
	require.Less(t, o.RejectLines, logSamplingInitial, "more reject lines than the log sampling keeps: the log cannot be summed")
}

// writeCodes returns the answers of Prometheus's remote-write handler by status.
func writeCodes(m scrape.Metrics) map[string]float64 {
	out := map[string]float64{}
	family, ok := m["prometheus_http_requests_total"]
	if !ok {
		return out
	}
	for _, metric := range family.GetMetric() {
		var handler, code string
		for _, l := range metric.GetLabel() {
			switch l.GetName() {
			case "handler":
				handler = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		if handler == "/api/v1/write" && metric.GetCounter().GetValue() > 0 {
			out[code] += metric.GetCounter().GetValue()
		}
	}
	return out
}

// requireCleanPrometheus checks that Prometheus answered every write 204 and
// rejected no sample as out of order, duplicate or too old: nothing arrived twice.
func requireCleanPrometheus(t *testing.T, o outcome) {
	t.Helper()
	codes := writeCodes(o.Prom)
	require.Positive(t, codes["204"])
	require.Len(t, codes, 1, "Prometheus answered every write 204: %v", codes)
	for _, counter := range []string{
		"prometheus_tsdb_out_of_order_samples_total",
		"prometheus_tsdb_out_of_bound_samples_total",
		"prometheus_tsdb_too_old_samples_total",
	} {
		require.Zero(t, o.Prom.Sum(counter, nil), counter)
	}
}

// rssKiB reads the resident set size of a process from /proc.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kib
		}
	}
	require.FailNow(t, "no VmRSS in /proc/<pid>/status")
	return 0
}

// telemetry scrapes the collector's own metrics.
func telemetry(t *testing.T, col *collectorproc.Process) scrape.Metrics {
	t.Helper()
	m, err := col.Telemetry(context.Background())
	require.NoError(t, err)
	return m
}

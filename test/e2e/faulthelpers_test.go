// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// loadEnv is the load of the fault and SigV4 tests: 12 instances over 3 generator
// workers with a 5 ms pause, about 3,600 samples/s, which the 1 s batch timeout
// cuts into batches of about 3,600 samples, two or three requests of
// SINK_MAX_REQUEST_BYTES at its default. extra is added on top.
func loadEnv(writeURL string, extra map[string]string) map[string]string {
	return withEnv(map[string]string{
		"PROMETHEUS_WRITE_URL":  writeURL,
		"GENERATOR_INSTANCES":   "12",
		"GENERATOR_PARALLELISM": "3",
		"GENERATOR_PAUSE":       "5ms",
	}, extra)
}

// waitAccepted waits until the front passed on n more requests that Prometheus
// accepted (204) than it had when called.
func waitAccepted(t *testing.T, f *front, n int64, timeout time.Duration) {
	t.Helper()
	base := f.Stats()[204].Requests
	waitUntil(t, timeout, func() bool { return f.Stats()[204].Requests >= base+n }, "%d more requests accepted", n)
}

// waitCaughtUp waits until the exporter's queue (if any) is empty and two more
// requests landed: after a fault, everything held back was delivered.
func waitCaughtUp(t *testing.T, col *runner.Collector, f *front, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, func() bool {
		m, err := col.Telemetry(t.Context())
		return err == nil && m.Sum("otelcol_exporter_queue_size", prw) == 0
	}, "the exporter's queue to empty")
	waitAccepted(t, f, 2, timeout)
}

// outcome is what a run delivered, read after the collector stopped.
type outcome struct {
	// Emitted, Refused: the receiver's report at shutdown.
	Emitted, Refused int64
	// Stored is the number of samples Prometheus holds; Appended its own counter.
	Stored, Appended int64
	// Dropped adds up the dropped_items of the exporter's "Exporting failed.
	// Dropping data." lines (a batch that left its queue and failed), Rejected the
	// rejected_items of its "Rejecting data." lines (a batch that never entered
	// the queue, or without a queue, whose export failed); DropLines and
	// RejectLines count them.
	Dropped, Rejected      int64
	DropLines, RejectLines int
	// Lost and LostLines add both up: without the queue (the default) a failed
	// batch is rejected at the exporter's entry, with the queue it is dropped.
	Lost      int64
	LostLines int
	// StopTime is how long the collector took to exit after SIGTERM.
	StopTime time.Duration
	ExitCode int
	Log      string
	// Prom is Prometheus's own telemetry after the run.
	Prom runner.Metrics
}

// stopAndAccount stops the collector, waits at most stopTimeout, and reads what
// was emitted, stored and reported dropped.
func stopAndAccount(t *testing.T, col *runner.Collector, prom *runner.Prometheus, stopTimeout time.Duration) outcome {
	t.Helper()
	began := time.Now()
	code, err := col.Stop(stopTimeout)
	o := outcome{StopTime: time.Since(began), ExitCode: code, Log: col.Log()}
	require.NoError(t, err)
	report := receiverReport(t, o.Log)
	o.Emitted, o.Refused = report.Emitted, report.Refused
	for _, e := range runner.ParseLog(o.Log) {
		switch {
		case strings.HasPrefix(e.Message, "Exporting failed. Dropping data."):
			o.Dropped += e.DroppedItems
			o.DropLines++
		case strings.HasPrefix(e.Message, "Exporting failed. Rejecting data."):
			o.Rejected += e.RejectedItems
			o.RejectLines++
		}
	}
	o.Lost, o.LostLines = o.Dropped+o.Rejected, o.DropLines+o.RejectLines
	o.Stored = storedSamples(t, prom)
	o.Prom = scrapePrometheus(t, prom)
	o.Appended = int64(o.Prom.Sum("prometheus_tsdb_head_samples_appended_total", nil))
	return o
}

// writeCodes returns the answers of Prometheus's remote-write handler by status.
func writeCodes(m runner.Metrics) map[string]float64 {
	out := map[string]float64{}
	for code, n := range m.By("prometheus_http_requests_total", "code", map[string]string{"handler": "/api/v1/write"}) {
		if n > 0 {
			out[code] = n
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

// rssKiB reads the resident memory of a process.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	u, err := runner.ProcessUsage(pid)
	require.NoError(t, err)
	return u.RSS >> 10
}

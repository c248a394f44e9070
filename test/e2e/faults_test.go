// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// TestRetriedFaultsDeliverEverythingOnce answers a burst of requests 503, and all
// requests 429 for ten seconds: the exporter sends each answered request again,
// with a backoff that starts near 30 ms and grows, until it lands; every emitted
// sample is stored, once, and nothing is counted as failed.
func TestRetriedFaultsDeliverEverythingOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault backend.Fault
	}{
		{name: "503 for 20 requests", fault: backend.Fault{Status: http.StatusServiceUnavailable, Body: "service unavailable", Requests: 20}},
		// Shorter than SINK_MAX_RETRY_TIME (8 s): every batch outlives the storm.
		{name: "429 for 5 seconds", fault: backend.Fault{Status: http.StatusTooManyRequests, Body: "rate exceeded", For: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.fault.Status
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			col := startCollector(t, loadEnv(front.WriteURL, nil))

			waitAccepted(t, front, 3, 60*time.Second)
			front.Inject(tt.fault)
			began := time.Now()
			if tt.fault.Requests > 0 {
				waitUntil(t, 60*time.Second, func() bool { return front.Stats()[status].Requests >= int64(tt.fault.Requests) }, "the burst")
			} else {
				time.Sleep(tt.fault.For)
			}
			waitCaughtUp(t, col, front, 60*time.Second)
			caughtUp := time.Since(began)
			m := telemetry(t, col)
			o := stopAndAccount(t, col, prom, 30*time.Second)

			faulted := front.Stats()[status]
			require.Positive(t, faulted.Requests)
			if tt.fault.Requests > 0 {
				require.Equal(t, int64(tt.fault.Requests), faulted.Requests)
			}
			assert.Zero(t, m.Sum("otelcol_exporter_send_failed_metric_points", prw))
			assert.Zero(t, m.Sum("otelcol_exporter_enqueue_failed_metric_points", prw))
			assert.Zero(t, o.LostLines, "nothing lost")
			assert.Zero(t, o.ExitCode)

			// Everything lands, once.
			assert.Zero(t, o.Refused)
			assert.Equal(t, o.Emitted, o.Stored, "samples emitted and stored")
			assert.Equal(t, o.Emitted, o.Appended, "samples appended by Prometheus")
			assert.Zero(t, front.Duplicates(), "no sample accepted twice")
			requireCleanPrometheus(t, o)

			// Every answered request was sent again, the same body, until it landed.
			retried := front.Retried()
			faultedAttempts := 0
			var firstGaps []time.Duration
			longest := []backend.Attempt{}
			for _, attempts := range retried {
				require.Equal(t, 204, attempts[len(attempts)-1].Status, "the last attempt landed")
				for i, a := range attempts[:len(attempts)-1] {
					require.Equal(t, status, a.Status)
					if i == 0 {
						firstGaps = append(firstGaps, attempts[1].At.Sub(a.At))
					}
				}
				faultedAttempts += len(attempts) - 1
				if len(attempts) > len(longest) {
					longest = attempts
				}
			}
			require.Equal(t, int(faulted.Requests), faultedAttempts, "every answered request was retried")
			for _, gap := range firstGaps {
				// initial_interval 30 ms, randomization ±50%: at least 15 ms.
				require.GreaterOrEqual(t, gap, 15*time.Millisecond, "first retry after %s", gap)
			}
			gaps := make([]time.Duration, 0, len(longest))
			for i := 1; i < len(longest); i++ {
				gaps = append(gaps, longest[i].At.Sub(longest[i-1].At).Round(time.Millisecond))
			}
			maxGap := gaps[0]
			for _, g := range gaps {
				maxGap = max(maxGap, g)
				// max_interval 5 s, randomization ±50%, and slack for a loaded machine.
				require.Less(t, g, 10*time.Second)
			}
			if tt.fault.For > 0 {
				// A constant 30 ms would make hundreds of attempts in ten seconds.
				require.Less(t, len(longest), 40, "the backoff grows: %v", gaps)
				require.Greater(t, maxGap, time.Second, "the backoff grows: %v", gaps)
			}

			// An error line per answered request (sampled), naming the status and the body.
			failed := runner.ParseLog(o.Log).FailedRequests()
			require.Len(t, failed, int(faulted.Requests), "error lines")
			for _, f := range failed {
				require.Equal(t, status, f.StatusCode)
				require.Equal(t, tt.fault.Body, f.Error)
			}
			sort.Slice(firstGaps, func(i, j int) bool { return firstGaps[i] < firstGaps[j] })
			t.Logf("%d requests answered %d (%d samples) in %d bodies; caught up %s after the fault began; "+
				"first retries after %s..%s; the longest-retried body: %d attempts, gaps %v; %d samples emitted, %d stored; %d error lines",
				faulted.Requests, status, faulted.Samples, len(retried), caughtUp.Round(100*time.Millisecond),
				firstGaps[0].Round(time.Millisecond), firstGaps[len(firstGaps)-1].Round(time.Millisecond),
				len(longest), gaps, o.Emitted, o.Stored, len(failed))
		})
	}
}

// TestPermanentRejections answers requests with statuses the exporter does not
// retry: their samples are counted as failed, the rest lands. With one request per
// batch (SINK_MAX_REQUEST_BYTES large) the count is exact: emitted = stored +
// failed. With several requests per batch the exporter counts the whole batch as
// failed although the other requests of the batch landed.
func TestPermanentRejections(t *testing.T) {
	const oneRequestPerBatch = "16777216"
	tests := []struct {
		name  string
		fault backend.Fault
		gates string
		env   map[string]string
		// exact: one request per batch, so send_failed counts exactly the rejected samples.
		exact bool
	}{
		{
			name:  "400 for one request",
			fault: backend.Fault{Status: http.StatusBadRequest, Body: "out of order sample", Requests: 1},
			env:   map[string]string{"SINK_MAX_REQUEST_BYTES": oneRequestPerBatch},
			exact: true,
		},
		{
			name:  "429 without the RetryOn429 feature gate",
			fault: backend.Fault{Status: http.StatusTooManyRequests, Body: "rate exceeded", Requests: 2},
			gates: "-exporter.prometheusremotewritexporter.RetryOn429",
			env:   map[string]string{"SINK_MAX_REQUEST_BYTES": oneRequestPerBatch},
			exact: true,
		},
		{
			name:  "400 for one of the requests of a batch",
			fault: backend.Fault{Status: http.StatusBadRequest, Body: "out of order sample", Requests: 1},
			env:   map[string]string{"SINK_MAX_REQUEST_BYTES": "8192"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.fault.Status
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			col := runCollector(t, runner.CollectorOptions{Env: loadEnv(front.WriteURL, tt.env), FeatureGates: tt.gates})

			waitAccepted(t, front, 3, 60*time.Second)
			front.Inject(tt.fault)
			waitUntil(t, 60*time.Second, func() bool { return front.Stats()[status].Requests >= int64(tt.fault.Requests) }, "the rejections")
			waitCaughtUp(t, col, front, 60*time.Second)
			m := telemetry(t, col)
			o := stopAndAccount(t, col, prom, 30*time.Second)

			rejected := front.Stats()[status]
			require.Equal(t, int64(tt.fault.Requests), rejected.Requests)
			require.Positive(t, rejected.Samples)
			assert.Empty(t, front.Retried(), "a rejected request is not sent again")
			sendFailed := int64(m.Sum("otelcol_exporter_send_failed_metric_points", prw))
			assert.Equal(t, sendFailed, o.Lost, "the telemetry and the log agree")
			assert.Equal(t, tt.fault.Requests, o.LostLines, "one line per failed batch")
			assert.Zero(t, m.Sum("otelcol_exporter_enqueue_failed_metric_points", prw))
			assert.Zero(t, o.Refused)
			assert.Zero(t, o.ExitCode)

			// What really happened: every sample not rejected was stored.
			assert.Equal(t, o.Emitted, o.Stored+rejected.Samples, "emitted = stored + rejected by the backend")
			assert.Equal(t, o.Stored, o.Appended)
			assert.Zero(t, front.Duplicates())
			requireCleanPrometheus(t, o)
			if tt.exact {
				assert.Equal(t, rejected.Samples, sendFailed, "the failed count is the rejected samples")
				assert.Equal(t, o.Emitted, o.Stored+sendFailed, "emitted = stored + failed, to the sample")
			} else {
				assert.Greater(t, sendFailed, rejected.Samples, "the whole batch is counted as failed")
				assert.Greater(t, o.Stored+sendFailed, o.Emitted, "the other requests of the batch landed")
			}

			failed := runner.ParseLog(o.Log).FailedRequests()
			require.Len(t, failed, tt.fault.Requests)
			for _, f := range failed {
				assert.Equal(t, status, f.StatusCode)
				assert.Equal(t, 1, f.Attempt)
				assert.Equal(t, tt.fault.Body, f.Error, "the log shows the backend's answer")
			}
			t.Logf("%d requests answered %d with %d samples; send_failed %d; %d samples emitted, %d stored; emitted - stored - failed = %d",
				rejected.Requests, status, rejected.Samples, sendFailed, o.Emitted, o.Stored, o.Emitted-o.Stored-sendFailed)
		})
	}
}

// TestBackendOutage takes the backend away for ten seconds (connections refused).
// Without the queue (the default) the export of a batch retries for
// SINK_MAX_RETRY_TIME and then fails, counted as failed, while the backend's
// absence holds the generator back; with a queue of four batches, the batches that
// find it full are counted as enqueue failures. Either way the collector keeps
// running, its memory stays flat, once the backend is back everything else lands,
// and emitted = stored + failed + dropped at the queue, to the sample (one request
// per batch, so that a failed batch is exactly its rejected samples).
func TestBackendOutage(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		queue bool
	}{
		{name: "no queue (default)"},
		{name: "queue of four batches", env: map[string]string{"SINK_QUEUE_ENABLED": "true", "SINK_QUEUE_SIZE": "4"}, queue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			col := startCollector(t, loadEnv(front.WriteURL, withEnv(map[string]string{"SINK_MAX_REQUEST_BYTES": "16777216"}, tt.env)))

			waitAccepted(t, front, 3, 60*time.Second)
			rssBefore := rssKiB(t, col.Pid())
			require.NoError(t, front.Down())
			down := time.Now()
			rssPeak, queuePeak := rssBefore, 0.0
			for time.Since(down) < 10*time.Second {
				time.Sleep(500 * time.Millisecond)
				select {
				case <-col.Exited():
					require.FailNow(t, "the collector exited during the outage")
				default:
				}
				rssPeak = max(rssPeak, rssKiB(t, col.Pid()))
				queuePeak = max(queuePeak, telemetry(t, col).Sum("otelcol_exporter_queue_size", prw))
			}
			require.NoError(t, front.Up())
			up := time.Now()
			waitCaughtUp(t, col, front, 60*time.Second)
			caughtUp := time.Since(up)
			rssAfter := rssKiB(t, col.Pid())
			m := telemetry(t, col)
			o := stopAndAccount(t, col, prom, 30*time.Second)

			sendFailed := int64(m.Sum("otelcol_exporter_send_failed_metric_points", prw))
			enqueueFailed := int64(m.Sum("otelcol_exporter_enqueue_failed_metric_points", prw))
			assert.Zero(t, o.ExitCode)
			assert.Zero(t, o.Refused)
			assert.Equal(t, o.Emitted, o.Stored+sendFailed+enqueueFailed, "emitted = stored + send_failed + enqueue_failed")
			assert.Equal(t, o.Dropped+o.Rejected, sendFailed+enqueueFailed, "every lost sample is in the log, one line per batch")
			if tt.queue {
				assert.Positive(t, enqueueFailed, "ten seconds fill a queue of four one-second batches")
				assert.Equal(t, 4.0, queuePeak, "the queue filled up")
			} else {
				assert.Positive(t, sendFailed, "batches gave up after the retry limit")
				assert.Zero(t, enqueueFailed)
			}
			assert.Zero(t, front.Duplicates())
			requireCleanPrometheus(t, o)

			const boundKiB = 64 << 10
			assert.Less(t, rssPeak-rssBefore, int64(boundKiB), "memory during the outage")
			assert.Less(t, rssAfter-rssBefore, int64(boundKiB), "memory after the outage")
			t.Logf("outage 10 s: %d samples emitted, %d stored, send_failed %d, enqueue_failed %d (%d lines); queue peak %.0f; "+
				"caught up %s after the backend came back; VmRSS %d MiB before, %d MiB peak, %d MiB after",
				o.Emitted, o.Stored, sendFailed, enqueueFailed, o.DropLines+o.RejectLines, queuePeak, caughtUp.Round(100*time.Millisecond),
				rssBefore>>10, rssPeak>>10, rssAfter>>10)
		})
	}
}

// TestStopDuringOutage stops the collector while the backend is gone, in every
// mode: with and without the queue, with connections refused and with requests
// never answered. A stop must always finish within 30 s (the default grace period
// of Kubernetes and ECS) with the shipped limits, and report what it could not
// send in the log, so that emitted = stored + reported lost, to the sample.
func TestStopDuringOutage(t *testing.T) {
	tests := []struct {
		name string
		hang bool
		env  map[string]string
		// wantError matches the cause in the log.
		wantError string
	}{
		{name: "no queue, connections refused", wantError: "connection refused"},
		{name: "no queue, requests never answered", hang: true, wantError: "max_elapsed_time"},
		{name: "queue, connections refused", env: map[string]string{"SINK_QUEUE_ENABLED": "true"}, wantError: "connection refused"},
		{name: "queue, requests never answered", hang: true, env: map[string]string{"SINK_QUEUE_ENABLED": "true"}, wantError: "Client.Timeout exceeded|context deadline exceeded"}, // the client's timeout or the exporter's, whichever fires first
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			// One request per batch: the exporter counts a whole batch as failed when
			// any of its requests fails, so a batch cut in two by the outage would
			// count its delivered half as lost too.
			col := startCollector(t, loadEnv(front.WriteURL, withEnv(map[string]string{"SINK_MAX_REQUEST_BYTES": "16777216"}, tt.env)))

			waitAccepted(t, front, 3, 60*time.Second)
			if tt.hang {
				front.Inject(backend.Fault{Hang: true})
			} else {
				require.NoError(t, front.Down())
			}
			time.Sleep(3 * time.Second)
			queued := telemetry(t, col).Sum("otelcol_exporter_queue_size", prw)
			o := stopAndAccount(t, col, prom, 60*time.Second)

			assert.Zero(t, o.ExitCode)
			assert.Less(t, o.StopTime, 30*time.Second, "time to stop")
			assert.Zero(t, o.Refused)
			assert.Positive(t, o.Dropped+o.Rejected)
			assert.Equal(t, o.Emitted, o.Stored+o.Dropped+o.Rejected, "emitted = stored + reported lost in the log")
			assert.Regexp(t, tt.wantError, o.Log)
			assert.Zero(t, front.Duplicates())
			requireCleanPrometheus(t, o)
			t.Logf("stopped in %s with %.0f batches queued; %d samples emitted, %d stored, %d reported lost in %d log lines",
				o.StopTime.Round(10*time.Millisecond), queued, o.Emitted, o.Stored, o.Dropped+o.Rejected, o.DropLines+o.RejectLines)
		})
	}
}

// TestStopWithFullBatchesDuringOutage stops the collector at full speed while the
// backend holds every request without answering: full batches of several
// requests each, in flight, queued and buffered. The shipped limits still end the
// stop within 30 s, with and without the queue, and what was not stored is
// reported (a batch counts whole, so reported + stored may exceed emitted).
func TestStopWithFullBatchesDuringOutage(t *testing.T) {
	for _, queue := range []string{"false", "true"} {
		t.Run("queue "+queue, func(t *testing.T) {
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			col := startCollector(t, map[string]string{
				"PROMETHEUS_WRITE_URL": front.WriteURL, "GENERATOR_PAUSE": "0", "GENERATOR_INSTANCES": "1000", "SINK_QUEUE_ENABLED": queue,
			})
			waitAccepted(t, front, 10, 60*time.Second)
			front.Inject(backend.Fault{Hang: true})
			time.Sleep(3 * time.Second)
			o := stopAndAccount(t, col, prom, 60*time.Second)
			assert.Zero(t, o.ExitCode)
			assert.Less(t, o.StopTime, 30*time.Second, "time to stop")
			assert.Positive(t, o.LostLines)
			assert.GreaterOrEqual(t, o.Stored+o.Lost, o.Emitted, "everything emitted is stored or reported lost")
			t.Logf("queue %s: stopped in %s; %d emitted, %d stored, %d reported lost in %d lines",
				queue, o.StopTime.Round(10*time.Millisecond), o.Emitted, o.Stored, o.Lost, o.LostLines)
		})
	}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
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
		{name: "429 for 10 seconds", fault: backend.Fault{Status: http.StatusTooManyRequests, Body: "rate exceeded", For: 10 * time.Second}},
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
			assert.Zero(t, o.DropLines, "nothing dropped")
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
			assert.Equal(t, sendFailed, o.Dropped, "the telemetry and the log agree")
			assert.Equal(t, tt.fault.Requests, o.DropLines, "one line per failed batch")
			assert.Zero(t, o.Rejected)
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

// TestBackendOutage takes the backend away for ten seconds (connections refused)
// with a queue of four batches: the collector keeps running, its memory stays
// flat, the batches that found the queue full are counted, and once the backend is
// back everything else lands: emitted = stored + send_failed + enqueue_failed.
func TestBackendOutage(t *testing.T) {
	const queueSize = 4
	prom := startPrometheus(t, runner.PrometheusOptions{})
	front := startFaultFront(t, prom)
	col := startCollector(t, loadEnv(front.WriteURL, map[string]string{"SINK_QUEUE_SIZE": strconv.Itoa(queueSize)}))

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
	logDuringOutage := col.Log()
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
	assert.Zero(t, sendFailed, "retried without a time limit")
	assert.Zero(t, o.DropLines)
	assert.Positive(t, enqueueFailed, "ten seconds fill a queue of four one-second batches")
	// Each batch that found the queue full is logged with its samples (sampled).
	assert.LessOrEqual(t, o.Rejected, enqueueFailed)
	assert.Positive(t, o.Rejected)
	assert.Equal(t, float64(queueSize), queuePeak, "the queue filled up")
	assert.Zero(t, front.Duplicates())
	requireCleanPrometheus(t, o)

	const boundKiB = 64 << 10
	assert.Less(t, rssPeak-rssBefore, int64(boundKiB), "memory during the outage")
	assert.Less(t, rssAfter-rssBefore, int64(boundKiB), "memory after the outage")

	full := strings.Count(logDuringOutage, "sending queue is full")
	assert.Positive(t, full, "each batch dropped at the queue is logged")
	t.Logf("outage 10 s: %d samples emitted, %d stored, send_failed %d, enqueue_failed %d (%d batches, %d samples logged); "+
		"queue peak %.0f of %d; caught up %s after the backend came back; VmRSS %d MiB before, %d MiB peak, %d MiB after",
		o.Emitted, o.Stored, sendFailed, enqueueFailed, full, o.Rejected, queuePeak, queueSize, caughtUp.Round(100*time.Millisecond),
		rssBefore>>10, rssPeak>>10, rssAfter>>10)
}

// TestStopDuringOutage stops the collector while the backend is gone. With the
// queue (the default), SIGTERM stops the retries: the request in flight runs to
// its end, every queued batch is tried once more, and what could not be delivered
// is reported in the log, so that emitted = stored + reported dropped. With refused
// connections it stops at once; when requests go unanswered, each attempt costs one
// SINK_REQUEST_TIMEOUT. Without the queue, the receiver's shutdown waits for the
// export it is blocked in, which the shutdown does not stop: SINK_MAX_RETRY_TIME
// bounds it, and without a limit SIGTERM does not stop the collector at all.
func TestStopDuringOutage(t *testing.T) {
	tests := []struct {
		name string
		hang bool
		env  map[string]string
		// wantError is the cause in the log; wantAtMost bounds the time to stop.
		wantError  string
		wantAtMost time.Duration
		// wantNoStop: still running 10 s after SIGTERM.
		wantNoStop bool
	}{
		{name: "connections refused", wantError: "connection refused", wantAtMost: 15 * time.Second},
		{
			name: "requests never answered", hang: true, env: map[string]string{"SINK_REQUEST_TIMEOUT": "2s"},
			wantError: "Client.Timeout exceeded", wantAtMost: 30 * time.Second,
		},
		{
			name: "queue disabled, retries limited to 5 s", env: map[string]string{"SINK_QUEUE_ENABLED": "false", "SINK_MAX_RETRY_TIME": "5s"},
			wantError: "maximum elapsed time exceeded", wantAtMost: 30 * time.Second,
		},
		{name: "queue disabled, retries without limit", env: map[string]string{"SINK_QUEUE_ENABLED": "false"}, wantNoStop: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startFaultFront(t, prom)
			// One request per batch: the exporter counts a whole batch as failed when
			// any of its requests fails, so a batch cut in two by the outage would
			// count its delivered half as dropped too.
			env := map[string]string{"SINK_MAX_REQUEST_BYTES": "16777216"}
			maps.Copy(env, tt.env)
			col := startCollector(t, loadEnv(front.WriteURL, env))

			waitAccepted(t, front, 3, 60*time.Second)
			if tt.hang {
				front.Inject(backend.Fault{Hang: true})
			} else {
				require.NoError(t, front.Down())
			}
			time.Sleep(3 * time.Second)
			queued := telemetry(t, col).Sum("otelcol_exporter_queue_size", prw)
			unansweredBefore := front.Stats()[backend.NoAnswer].Requests

			if tt.wantNoStop {
				_, err := col.Stop(10 * time.Second)
				require.Error(t, err, "SIGTERM stops the collector only once the export gives up, which it never does")
				assert.Contains(t, col.Log(), "Starting shutdown")
				assert.NotContains(t, col.Log(), "Shutdown complete")
				return
			}
			o := stopAndAccount(t, col, prom, 60*time.Second)
			unansweredAfter := front.Stats()[backend.NoAnswer].Requests - unansweredBefore

			assert.Zero(t, o.ExitCode)
			assert.Less(t, o.StopTime, tt.wantAtMost, "time to stop")
			assert.Zero(t, o.Refused)
			assert.Positive(t, o.Dropped+o.Rejected)
			assert.Equal(t, o.Emitted, o.Stored+o.Dropped+o.Rejected, "emitted = stored + reported dropped in the log")
			assert.Contains(t, o.Log, tt.wantError)
			assert.Zero(t, front.Duplicates())
			requireCleanPrometheus(t, o)
			if tt.hang {
				// At least the request in flight runs to its timeout.
				assert.GreaterOrEqual(t, o.StopTime, 1500*time.Millisecond)
				assert.Positive(t, unansweredAfter)
			}
			t.Logf("stopped in %s with %.0f batches queued; %d samples emitted, %d stored, %d reported dropped in %d log lines; %d requests unanswered after SIGTERM",
				o.StopTime.Round(10*time.Millisecond), queued, o.Emitted, o.Stored, o.Dropped+o.Rejected, o.DropLines+o.RejectLines, unansweredAfter)
		})
	}
}

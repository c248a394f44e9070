// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stageTelemetry is a recorded scrape of a collector in a load test: its
// counters, the scheduled and shortfall samples of stages 0 and 1, requests
// answered 204 in 50 ms, and batches sent.
type stageTelemetry struct {
	accepted, refused, sent, failed, dropped float64
	scheduled, shortfall                     [2]float64
	requests, requestSeconds, batches        float64
}

func (s stageTelemetry) metrics(t *testing.T) Metrics {
	return parseMetrics(t, fmt.Sprintf(`# TYPE otelcol_receiver_accepted_metric_points_total counter
otelcol_receiver_accepted_metric_points_total %v
# TYPE otelcol_receiver_refused_metric_points_total counter
otelcol_receiver_refused_metric_points_total %v
# TYPE otelcol_exporter_sent_metric_points_total counter
otelcol_exporter_sent_metric_points_total %v
# TYPE otelcol_exporter_send_failed_metric_points_total counter
otelcol_exporter_send_failed_metric_points_total %v
# TYPE otelcol_exporter_enqueue_failed_metric_points_total counter
otelcol_exporter_enqueue_failed_metric_points_total %v
# TYPE otelcol_receiver_dummymetrics_scheduled_samples_total counter
otelcol_receiver_dummymetrics_scheduled_samples_total{stage="0"} %v
otelcol_receiver_dummymetrics_scheduled_samples_total{stage="1"} %v
# TYPE otelcol_receiver_dummymetrics_shortfall_samples_total counter
otelcol_receiver_dummymetrics_shortfall_samples_total{stage="0"} %v
otelcol_receiver_dummymetrics_shortfall_samples_total{stage="1"} %v
# TYPE http_client_request_duration histogram
http_client_request_duration_bucket{http_response_status_code="204",le="0.05"} %[10]v
http_client_request_duration_bucket{http_response_status_code="204",le="+Inf"} %[10]v
http_client_request_duration_sum{http_response_status_code="204"} %[11]v
http_client_request_duration_count{http_response_status_code="204"} %[10]v
# TYPE otelcol_processor_batch_batch_send_size histogram
otelcol_processor_batch_batch_send_size_bucket{le="+Inf"} %[12]v
otelcol_processor_batch_batch_send_size_sum 0
otelcol_processor_batch_batch_send_size_count %[12]v
`, s.accepted, s.refused, s.sent, s.failed, s.dropped, s.scheduled[0], s.scheduled[1], s.shortfall[0], s.shortfall[1],
		s.requests, s.requestSeconds, s.batches))
}

func TestPlanWindows(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := Plan{Stages: []Stage{{Duration: 10 * time.Second}, {Duration: time.Second}, {Duration: 20 * time.Second}}, Start: start, Settings: shipped}
	assert.Equal(t, 1500*time.Millisecond, p.Lag(), "the batch timeout and a request")
	for i, want := range [][4]time.Duration{
		{0, 10 * time.Second, 1500 * time.Millisecond, 10 * time.Second},
		{10 * time.Second, 11 * time.Second, 10500 * time.Millisecond, 11 * time.Second}, // shorter than the lag: its second half
		{11 * time.Second, 31 * time.Second, 12500 * time.Millisecond, 31 * time.Second},
	} {
		from, to := p.Span(i)
		assert.Equal(t, start.Add(want[0]), from, "stage %d", i)
		assert.Equal(t, start.Add(want[1]), to, "stage %d", i)
		from, to = p.Window(i)
		assert.Equal(t, start.Add(want[2]), from, "stage %d: its window starts a lag in", i)
		assert.Equal(t, start.Add(want[3]), to, "stage %d: and ends with it, before the next stage's samples", i)
	}
	assert.Equal(t, start.Add(31*time.Second), p.End())
	for i, want := range []time.Duration{10500 * time.Millisecond, 12500 * time.Millisecond, 32500 * time.Millisecond} {
		assert.Equal(t, start.Add(want), p.JudgedAt(i), "stage %d is judged when the next window starts, the last a lag after the end", i)
	}
	assert.True(t, p.InWindows(start.Add(5*time.Second), 1))
	assert.False(t, p.InWindows(start.Add(time.Second), 3), "the first lag is in no window")
	assert.False(t, p.InWindows(start.Add(12*time.Second), 2), "stage 3 not judged")
	assert.True(t, p.InWindows(start.Add(12*time.Second+600*time.Millisecond), 3))

	// A longer batch timeout makes the lag longer.
	p.Settings.BatchTimeout = 5 * time.Second
	from, _ := p.Window(2)
	assert.Equal(t, start.Add(16500*time.Millisecond), from)
}

// TestPlanMeasuresOneWindow measures a stage from recorded snapshots and a log:
// the exporter's figures from its window, the failures split by the log lines
// inside it, and the generator's counts from the stage, by its stage attribute.
func TestPlanMeasuresOneWindow(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := Plan{Stages: []Stage{{Duration: 10 * time.Second, From: 1000, To: 1000}, {Duration: 10 * time.Second, From: 2000, To: 2000}}, Start: start, Settings: shipped, SLO: DefaultSLO}
	spanFrom, _ := p.Span(1)
	from, to := p.Window(1)
	stage := Snapshot{At: spanFrom, Collector: stageTelemetry{accepted: 10000, sent: 9000, scheduled: [2]float64{10000, 0}}.metrics(t)}
	window := Snapshot{At: from, Collector: stageTelemetry{accepted: 13000, sent: 10000, scheduled: [2]float64{10000, 3000}, requests: 10, requestSeconds: 0.5, batches: 10}.metrics(t)}
	end := Snapshot{At: to, Collector: stageTelemetry{accepted: 30000, refused: 100, sent: 27000, failed: 2000, scheduled: [2]float64{10000, 20000}, shortfall: [2]float64{0, 100},
		requests: 30, requestSeconds: 1.5, batches: 20}.metrics(t), CollectorUsage: Usage{CPU: 2 * time.Second}}
	log := Log{
		{Time: from.Add(-time.Millisecond), Message: msgRejected, Error: "remote write request failed (http status 400)", RejectedItems: 700},
		{Time: from.Add(time.Second), Message: msgRejected, Error: "backoff: permanent error (last error: Permanent error: remote write request failed (http status 400))", RejectedItems: 1500},
		{Time: from.Add(2 * time.Second), Message: msgRejected, Error: `Post "http://x/api/v1/write": context deadline exceeded`, RejectedItems: 500},
		{Time: to, Message: msgRejected, Error: "remote write request failed", RejectedItems: 900},
		{Time: from.Add(3 * time.Second), Message: msgFailedRequest, StatusCode: 400, Error: "per-user series limit of 10 exceeded"},
		{Time: to.Add(time.Millisecond), Message: msgFailedRequest, StatusCode: 429, Error: "ingestion rate limit (1) exceeded"},
	}
	judged := Snapshot{At: to.Add(p.Lag()), Collector: stageTelemetry{scheduled: [2]float64{10000, 20000}, shortfall: [2]float64{0, 300}}.metrics(t)}
	m := p.Measure(1, Window{From: stage, To: end}, Window{From: window, To: end}, judged, log)
	assert.InDelta(t, 8.5, m.Seconds, 1e-9, "the window: the stage less the lag")
	assert.InDelta(t, 10, m.StageSeconds, 1e-9)
	assert.InDelta(t, 20100, m.Emitted, 0, "what the stage emitted, over its span")
	assert.InDelta(t, 17000, m.Sent, 0, "the exporter's count over the window")
	assert.InDelta(t, 2000, m.SendFailed, 0)
	assert.InDelta(t, 1500, m.Rejected, 0, "the backend answered: rejected, not lost")
	assert.InDelta(t, 500, m.Unanswered, 0, "no answer: lost")
	assert.InDelta(t, 600, m.Lost(), 0, "unanswered and refused")
	assert.InDelta(t, 20000-300-100-2000, m.Acknowledged, 0, "due less given up, less what the window lost or had rejected")
	assert.InDelta(t, 20000, m.Scheduled, 0, "stage 1's own schedule, whole")
	assert.InDelta(t, 300, m.Shortfall, 0, "as counted when the stage is judged")
	assert.InDelta(t, 10, m.Batches, 0)
	assert.InDelta(t, 2, m.CollectorCPU, 0)
	assert.Equal(t, map[string]float64{"204": 20}, m.Responses)

	r := p.Judge(1, m, log, nil)
	assert.Equal(t, map[string]float64{"400 series limit exceeded (per user)": 1}, r.Causes, "the causes of the window only")
	assert.InDelta(t, 1760, r.SentSamplesPerSecond, 1e-9, "per second of the stage")
	assert.InDelta(t, 0.2, r.CollectorCores, 1e-9)
	assert.False(t, r.Passed)
	assert.Equal(t, "600 samples lost (unanswered 500, dropped at the queue 0, refused by the pipeline 100)", r.Reason)
}

func TestFinalCounts(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	log := ParseLog(`{"level":"info","ts":"2026-12-04T12:00:09.000Z","msg":"Stopped generating dummy metrics","emitted_samples":10100,"accepted_samples":10000,"refused_samples":100,"series_written":40,"stage_at_stop":2,"accepted_by_block":{"I0000000000-I0000000009":6000,"I0000000010-I0000000019":4000}}
{"level":"error","ts":"2026-12-04T12:00:05.000Z","msg":"Exporting failed. Rejecting data. Try enabling sending_queue to survive temporary failures.","error":"backoff: maximum elapsed time exceeded (last error: remote write request failed)","rejected_items":1000}
{"level":"error","ts":"2026-12-04T12:00:11.000Z","msg":"Exporting failed. Rejecting data. Try enabling sending_queue to survive temporary failures.","error":"retry_on_failure.max_elapsed_time (8s) exceeded (last error: Post \"http://x\": context deadline exceeded)","rejected_items":300}
{"level":"error","ts":"2026-12-04T12:00:12.000Z","msg":"Exporting failed. Rejecting data.","error":"sending queue is full","rejected_items":200}
`)
	f, err := FinalCounts(log, Snapshot{}, false)
	require.NoError(t, err)
	assert.InDelta(t, 1000, f.Rejected, 0)
	assert.InDelta(t, 300, f.Unanswered, 0)
	assert.InDelta(t, 200, f.Dropped, 0)
	assert.InDelta(t, 10000-1500, f.Acknowledged, 0, "accepted less every batch given up")
	assert.InDelta(t, 1300, f.Failed(), 0, "rejected and unanswered may be stored in part; dropped never left")
	assert.Equal(t, 2, f.StageAtStop)
	assert.Equal(t, map[string]float64{"I0000000000-I0000000009": 6000, "I0000000010-I0000000019": 4000}, f.AcceptedByBlock)

	plan := f.ReadBackPlan(at, at.Add(time.Minute), nil, 1e6, 1e5)
	assert.InDelta(t, 8500, plan.Sent, 0)
	assert.InDelta(t, 1300, plan.Failed, 0)
	assert.InDelta(t, 40, plan.SeriesExpected, 0)

	// Outside the windows: one stage of 5 s judged, its span ending at 12:00:05;
	// the rejected batch at 12:00:05 and the lost ones after are outside, with their times.
	p := Plan{Stages: []Stage{{Duration: 5 * time.Second}, {Duration: 5 * time.Second}}, Start: at, Settings: shipped}
	end := Snapshot{At: at.Add(5 * time.Second), Collector: stageTelemetry{accepted: 9000, refused: 100, sent: 8400, failed: 0}.metrics(t)}
	o := f.Outside(p, 1, end)
	assert.InDelta(t, 1000, o.EmittedAfter, 0)
	assert.InDelta(t, 100, o.AckedAfter, 0)
	assert.InDelta(t, 500, o.LostSamples, 0, "unanswered and dropped")
	assert.InDelta(t, 1000, o.RejectedSamples, 0)
	assert.Equal(t, 3, o.StageAtStop, "counted from 1")
	assert.Equal(t, "outside the stages' windows 500 samples were lost and 1,000 rejected by the backend, from 12:00:05 to 12:00:12", o.Problem)

	v := Verdict{Stages: []StageResult{{Passed: true}}, Passed: true}
	v.WithOutside(o)
	assert.False(t, v.Passed, "a loss outside the stages fails the verdict")
	assert.Contains(t, v.Headline(), "every stage passed, but samples were lost or rejected outside them")
	assert.Contains(t, v.Details()[0], "Outside the stages: outside the stages' windows 500 samples were lost")

	p.Stages = []Stage{{Duration: 10 * time.Second}}
	o = f.Outside(p, 1, end)
	assert.Equal(t, "outside the stages' windows 500 samples were lost and 0 rejected by the backend, from 12:00:11 to 12:00:12, after the last stage", o.Problem)

	// Killed: what the last snapshot had not seen sent is still in the pipeline.
	f, err = FinalCounts(log, Snapshot{Collector: stageTelemetry{accepted: 10000, sent: 7000}.metrics(t)}, true)
	require.NoError(t, err)
	assert.InDelta(t, 1500, f.Remaining, 0)
	assert.InDelta(t, 7000, f.Acknowledged, 0)

	_, err = FinalCounts(Log{}, Snapshot{}, false)
	require.ErrorContains(t, err, "the receiver reported 0 times")
}

func TestSettings(t *testing.T) {
	s, err := SettingsOf(map[string]string{"SINK_BATCH_TIMEOUT": "3s", "SINK_PARALLELISM": "8", "RUNNER_HEADER_0": "Bearer x", "GENERATOR_PARALLELISM": "2", "AWS_SECRET_ACCESS_KEY": "hunter2"})
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, s.BatchTimeout)
	assert.Equal(t, 3500*time.Millisecond, s.Lag())
	assert.Equal(t, 8, s.Sink)
	assert.Equal(t, 16384, s.BatchSize, "the shipped default")
	assert.Equal(t, 8*time.Second, s.MaxRetry, "the shipped default")
	assert.NotContains(t, s.Env, "RUNNER_HEADER_0", "secrets are not recorded")
	assert.NotContains(t, s.String(), "Bearer")
	assert.NotContains(t, s.String(), "hunter2", "nor AWS keys")

	_, err = SettingsOf(map[string]string{"SINK_BATCH_TIMEOUT": "3", "SINK_QUEUE_ENABLED": "yes"})
	require.ErrorContains(t, err, `SINK_BATCH_TIMEOUT="3": not a duration with a unit`)
	require.ErrorContains(t, err, `SINK_QUEUE_ENABLED="yes": true or false`)

	q := shipped
	q.Queue, q.QueueSize = true, 2
	assert.Equal(t, 24*time.Second, q.StopBound(), "(queue size + 1) × the retry limit")
	assert.Positive(t, shipped.StopBound())
}

// TestJudgeNamesTheCollectorBehind: of two collectors, the second fell behind
// while the backend answered in time; the fleet's stage names it.
func TestJudgeNamesTheCollectorBehind(t *testing.T) {
	p := Plan{Stages: []Stage{{Duration: 10 * time.Second, From: 2e4, To: 2e4}}, Settings: shipped, SLO: DefaultSLO}
	p.Settings.Collectors = 2
	keptUp := healthy(nil)
	behind := healthy(func(m *Measurement) { m.Sent, m.Shortfall = 5e4, 5e4 })
	fleet := healthy(func(m *Measurement) { m.Scheduled, m.Sent, m.Shortfall = 2e5, 1.5e5, 5e4 })
	r := p.Judge(0, fleet, nil, []Measurement{keptUp, behind})
	assert.False(t, r.Passed)
	assert.True(t, strings.HasPrefix(r.Reason, "1 of 2 collectors fell behind while the backend answered in time (p99 200 ms) and throttled nothing: collector 2 fell behind by 50,000 samples ("), r.Reason)
	assert.Equal(t, "collector 2 fell behind, not the backend", r.Short)
	require.Len(t, r.Collectors, 2)
	assert.Empty(t, r.Collectors[0].CollectorLimit)
	assert.NotEmpty(t, r.Collectors[1].CollectorLimit)
	assert.InDelta(t, 1e4, r.Collectors[0].TargetSamplesPerSecond, 0, "each carries half")

	single := p.Judge(0, fleet, nil, nil)
	assert.Empty(t, single.Collectors)
	assert.True(t, strings.HasPrefix(single.Reason, "the collector fell behind"), single.Reason)
}

func TestSumFinals(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	one := Final{Emitted: 100, Accepted: 100, Acknowledged: 90, Rejected: 10, SeriesWritten: 20, StageAtStop: 1,
		AcceptedByBlock: map[string]float64{"I0000000000-I0000000009": 100}, GivenUp: []LogEntry{{Time: at.Add(2 * time.Second)}},
		Generated: Generated{First: 0, Instances: 10, Names: seedNames, SamplesPerPoint: 1}}
	two := Final{Emitted: 50, Accepted: 40, Refused: 10, Acknowledged: 40, SeriesWritten: 18, StageAtStop: 2, Killed: true,
		AcceptedByBlock: map[string]float64{"I0000000010-I0000000019": 40}, GivenUp: []LogEntry{{Time: at.Add(time.Second)}},
		Generated: Generated{First: 10, Instances: 10, Names: seedNames, SamplesPerPoint: 1}}
	sum := SumFinals([]Final{one, two})
	assert.InDelta(t, 150, sum.Emitted, 0)
	assert.InDelta(t, 130, sum.Acknowledged, 0)
	assert.InDelta(t, 38, sum.SeriesWritten, 0)
	assert.Equal(t, 2, sum.StageAtStop, "the latest")
	assert.True(t, sum.Killed)
	assert.Equal(t, Generated{First: 0, Instances: 20, Names: seedNames, SamplesPerPoint: 1}, sum.Generated, "the ranges follow each other")
	assert.Len(t, sum.AcceptedByBlock, 2)
	assert.True(t, sum.GivenUp[0].Time.Before(sum.GivenUp[1].Time), "in time order")
	assert.Equal(t, one, SumFinals([]Final{one}))
}

// A snapshot taken late (a slow scrape) widens the window the telemetry counts:
// the log's failures are split by the same times, so a batch rejected just after
// the planned end counts as rejected in the stage, and not again outside it.
func TestPlanSplitsTheLogByTheMeasuredWindow(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := Plan{Stages: []Stage{{Duration: 10 * time.Second, From: 1000, To: 1000}}, Start: start, Settings: shipped, SLO: DefaultSLO}
	from, to := p.Window(0)
	late := to.Add(200 * time.Millisecond)
	begin := Snapshot{At: from, Collector: stageTelemetry{}.metrics(t)}
	end := Snapshot{At: late, Collector: stageTelemetry{accepted: 10000, sent: 9000, failed: 1000, scheduled: [2]float64{10000, 0}, requests: 10, requestSeconds: 0.5, batches: 10}.metrics(t)}
	log := Log{{Time: to.Add(100 * time.Millisecond), Message: msgRejected, Error: "remote write request failed (http status 400)", RejectedItems: 1000}}

	p.Measured = append(p.Measured, Interval{From: begin.At, To: end.At})
	m := p.Measure(0, Window{From: begin, To: end}, Window{From: begin, To: end}, end, log)
	assert.InDelta(t, 1000, m.Rejected, 0, "rejected in the window the telemetry counted")
	assert.Zero(t, m.Lost())

	f := Final{Rejected: 1000, GivenUp: log, Generated: Generated{SamplesPerPoint: 1}}
	o := f.Outside(p, 1, end)
	assert.Zero(t, o.RejectedSamples, "counted once, in the stage")
	assert.Zero(t, o.LostSamples)
}

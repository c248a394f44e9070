// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// healthy is a 10-second window at 10,000 samples/s, answered in time.
func healthy(change func(*Measurement)) Measurement {
	m := Measurement{
		Seconds: 10, StageSeconds: 10, Scheduled: 1e5, Emitted: 1e5, Sent: 1e5, Latency: Quantiles{P50: 0.05, P90: 0.1, P99: 0.2},
		Responses: map[string]float64{"200": 100}, CollectorCPU: 15, HeldBackSeconds: 2,
	}
	if change != nil {
		change(&m)
	}
	m.Acknowledged = m.Sent
	return m
}

// shipped are the shipped configuration's settings that judging reads, with one
// generator worker: one batcher.
var shipped = Settings{Generator: 1, Sink: 2, BatchSize: 16384, BatchTimeout: time.Second, MaxRetry: 8 * time.Second, RequestBytes: 49152}

func TestJudge(t *testing.T) {
	stage := Stage{Duration: 10 * time.Second, From: 1e4, To: 1e4}
	errors := func(m *Measurement) { m.Responses = map[string]float64{"200": 90, "429": 10} }
	lost := func(m *Measurement) { m.SendFailed, m.EnqueueFailed, m.Refused = 5, 2, 1 }
	rejected := func(m *Measurement) { m.SendFailed, m.Rejected = 500, 500 }
	slow := func(m *Measurement) { m.Latency.P99 = 1.5 }
	behind := func(m *Measurement) { m.Sent, m.Shortfall = 5e4, 5e4 }
	const behindBy = "the collector fell behind by 50,000 samples while the backend answered in time (p99 200 ms) and throttled nothing: "
	all := func(fs ...func(*Measurement)) func(*Measurement) {
		return func(m *Measurement) {
			for _, f := range fs {
				f(m)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		m      Measurement
		causes map[string]float64
		reason string
		limit  string
	}{
		{name: "healthy", m: healthy(nil)},
		{"errors first, with the main cause", healthy(all(errors, lost, slow, behind)),
			map[string]float64{"429 ingestion rate limit exceeded": 7, "500 Internal Server Error: x": 3}, "429 ingestion rate limit exceeded (10 % of requests)", ""},
		{"errors without a logged cause", healthy(all(errors, lost)), nil, "answered 429 (10 % of requests)", ""},
		{"then lost samples", healthy(all(lost, slow, behind)), nil, "8 samples lost (unanswered 5, dropped at the queue 2, refused by the pipeline 1)", ""},
		{"rejected samples are not lost", healthy(rejected), nil, "", ""},
		{"then latency", healthy(all(slow, behind)), nil, "p99 write latency 1.50 s above 1s", ""},
		{"then the rate, backend-limited", healthy(func(m *Measurement) { m.Sent = 5e4 }), nil, "acknowledged 5,000 samples/s, 50 % of the target", ""},
		{"then the rate, the generator", healthy(behind), nil,
			behindBy + "the generator was the limit: it waited on the pipeline only 20 % of the time; add generator parallelism (-gen) or collectors", LimitGenerator},
		{"the export path", healthy(all(behind, func(m *Measurement) { m.RequestSeconds, m.HeldBackSeconds, m.Batches = 1, 16, 25 })), nil,
			behindBy + "the export path was the limit: requests in flight only 5 % of the time while the generator waited on it 160 %; the collector used 1.5 of ", LimitExport},
		{"a busy machine", healthy(all(behind, func(m *Measurement) {
			n := float64(runtime.NumCPU()) // over the 10 s stage: 0.15, 0.4 and 0.4 of the cores
			m.CollectorCPU, m.PrometheusCPU, m.OtherCPU, m.OtherCPUMeasured = 1.5*n, 4*n, 4*n, true
		})), nil, behindBy + "the machine was the limit: its ", LimitMachine},
		// 100 requests of 500 samples in 10 batches, 375 ms each: 5 rounds of
		// two requests per batch keep a request in flight all the time.
		{"latency-bound sending", healthy(all(behind, func(m *Measurement) {
			m.Responses, m.RequestSeconds, m.Batches = map[string]float64{"204": 100}, 37.5, 10
		})), nil, behindBy + "sending was latency-bound: at 375 ms per request and 2 in flight, one collector sends at most about 2,570 samples/s; " +
			"its requests carried only 500 samples each: -env SINK_MAX_REQUEST_BYTES=196608 (2,000 samples a request, as Prometheus sends them) " +
			"raises that to about 8,740 at the same latency", LimitSending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Judge(stage, tc.m, tc.causes, DefaultSLO, shipped)
			assert.Equal(t, tc.reason == "", r.Passed, r.Reason)
			if tc.reason == "" {
				assert.Empty(t, r.Reason)
			} else {
				assert.True(t, strings.HasPrefix(r.Reason, tc.reason), r.Reason)
			}
			assert.Equal(t, tc.limit != "", r.GeneratorLimited)
			assert.Equal(t, tc.limit, r.CollectorLimit)
			assert.InDelta(t, 1e4, r.TargetSamplesPerSecond, 0)
			assert.InDelta(t, tc.m.Sent/10, r.SentSamplesPerSecond, 0)
			assert.InDelta(t, tc.m.Lost(), r.LostSamples, 0)
			assert.InDelta(t, tc.m.Rejected, r.RejectedSamples, 0)
		})
	}
}

// TestLatencyBoundCeiling is the case: 375 ms per request, batches of
// 16,384 samples in requests of 2,048, two in flight.
func TestLatencyBoundCeiling(t *testing.T) {
	m := Measurement{Seconds: 15, Sent: 8 * 16384, Responses: map[string]float64{"204": 64}, RequestSeconds: 64 * 0.375, Batches: 8,
		Scheduled: 15 * 20000, Shortfall: 15*20000 - 8*16384, Latency: Quantiles{P99: 0.4}}
	s := AnalyzeSending(m, shipped)
	assert.Equal(t, 8, s.RequestsPerBatch)
	assert.InDelta(t, 0.8, s.PathBusy, 1e-9, "4 rounds of 375 ms per batch, 8 batches in 15 s")
	assert.InDelta(t, 0.8, s.SlotBusy, 1e-9, "every round a full pair")
	assert.InDelta(t, 16384/1.5, s.Ceiling, 1e-6)
	assert.InDelta(t, 16384/0.375, s.WholeBatch, 1e-6)
	limit, advice := CollectorLimit(m, shipped)
	assert.Equal(t, LimitSending, limit)
	assert.Equal(t, "sending was latency-bound: at 375 ms per request and 2 in flight, one collector sends at most about 10,900 samples/s; "+
		"-sink 8 (a whole batch at once) raises that to about 43,700", advice)

	// With -sink 8 a batch takes one round: 40 batches in 15 s, and the path is
	// still busy, so only more batches at once help.
	wide := shipped
	wide.Sink = 8
	m.Sent, m.Batches, m.Responses, m.RequestSeconds = 40*16384, 40, map[string]float64{"204": 320}, 320*0.375
	limit, advice = CollectorLimit(m, wide)
	assert.Equal(t, LimitSending, limit)
	assert.Equal(t, "sending was latency-bound: at 375 ms per request and 8 in flight, one collector sends at most about 43,700 samples/s; "+
		"more generator workers (-gen, a batcher each) or collectors send more batches at once", advice)

	twoWorkers := shipped
	twoWorkers.Generator = 2
	two := AnalyzeSending(m, twoWorkers)
	assert.Equal(t, 4, two.InFlight, "two batchers double the requests in flight")
	assert.InDelta(t, 2*16384/1.5, two.Ceiling, 1e-6)
}

func TestGeneratorLimited(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Measurement
		sink int
		want bool
	}{
		{"scheduled, behind by more than 5 %", healthy(func(m *Measurement) { m.Shortfall = 5001 }), 0, true},
		{"scheduled, behind by 5 %", healthy(func(m *Measurement) { m.Shortfall = 5000 }), 4, false},
		{"scheduled, errors", healthy(func(m *Measurement) { m.Shortfall, m.Responses["500"] = 5e4, 2 }), 0, false},
		{"scheduled, slow", healthy(func(m *Measurement) { m.Shortfall, m.Latency.P99 = 5e4, 1.01 }), 0, false},
		// healthy is 10 s long: 4 requests in flight offer 40 s of waiting.
		{"unscheduled, requests in flight idle more than half the time", healthy(func(m *Measurement) { m.Scheduled, m.RequestSeconds = 0, 19.9 }), 4, true},
		{"unscheduled, requests in flight busy", healthy(func(m *Measurement) { m.Scheduled, m.RequestSeconds = 0, 20 }), 4, false},
		{"unscheduled, no sink known", healthy(func(m *Measurement) { m.Scheduled, m.RequestSeconds = 0, 0 }), 0, false},
		{"unscheduled, slow", healthy(func(m *Measurement) { m.Scheduled, m.RequestSeconds, m.Latency.P99 = 0, 0, 2 }), 4, false},
	} {
		assert.Equal(t, tc.want, GeneratorLimited(tc.m, DefaultSLO, tc.sink), tc.name)
	}
}

func TestDecideAndHeadline(t *testing.T) {
	pass := func(target, sent float64) StageResult {
		return StageResult{TargetSamplesPerSecond: target, SentSamplesPerSecond: sent, Passed: true}
	}
	fail := func(target float64, short, reason string) StageResult {
		return StageResult{TargetSamplesPerSecond: target, SentSamplesPerSecond: target / 2, Short: short, Reason: reason}
	}
	throttled := "429 ingestion rate limit exceeded (34 % of requests)"
	v := Decide([]StageResult{pass(1e4, 9990), pass(3e4, 29000), fail(4e4, "429 ingestion rate limit exceeded", throttled), pass(2e4, 19999), fail(5e4, "later", "later")})
	assert.InDelta(t, 29000, v.SustainedSamplesPerSecond, 0)
	assert.Equal(t, Limit{Stage: 3, TargetSamplesPerSecond: 4e4, Reason: throttled, Short: "429 ingestion rate limit exceeded"}, v.Limit)
	assert.False(t, v.Passed)
	assert.Equal(t, "Sustained 29,000 samples/s; stopped at stage 3 (40,000 samples/s) by 429 ingestion rate limit exceeded.", v.Headline())
	assert.Equal(t, []string{"Stage 3: " + throttled + "."}, v.Details())

	v = Decide([]StageResult{pass(1e4, 1e4), pass(2e4, 1234567)})
	assert.Equal(t, Limit{}, v.Limit)
	assert.True(t, v.Passed)
	assert.Equal(t, "Sustained 1,234,567 samples/s; every stage passed.", v.Headline())
	assert.Empty(t, v.Details())

	v.WithReadBack(&ReadBack{SentSamples: 10, StoredSamples: 10, Exact: true})
	assert.True(t, v.Passed, "a read-back without a problem")
	v.WithReadBack(&ReadBack{SentSamples: 10, StoredSamples: 7, MissingSamples: 3, Exact: true, Problem: "3 acknowledged samples are missing"})
	assert.False(t, v.Passed, "a read-back with a problem fails the verdict")
	assert.Equal(t, "Sustained 1,234,567 samples/s; every stage passed. The backend lost acknowledged samples.", v.Headline())
	assert.Equal(t, []string{"Read back: 3 acknowledged samples are missing."}, v.Details())

	assert.Equal(t, "No stage was judged: the run ended before the first one.", Decide(nil).Headline(), "Ctrl-C before the first stage")

	v = Decide([]StageResult{fail(1e4, "p99 write latency 1.50 s", "p99 write latency 1.50 s above 1s")})
	v.WithReadBack(nil)
	assert.Equal(t, "No stage passed; stopped at stage 1 (10,000 samples/s) by p99 write latency 1.50 s.", v.Headline())

	v = Decide([]StageResult{{TargetSamplesPerSecond: 1, Passed: true, Causes: map[string]float64{"400 out-of-order samples": 1}},
		{TargetSamplesPerSecond: 2, Causes: map[string]float64{"429 ingestion rate limit exceeded": 9, "400 series limit exceeded (per user)": 3}}})
	assert.Equal(t, []string{
		"stage 1: 400 out-of-order samples: 1 failed write attempts (100 %)",
		"stage 2: 429 ingestion rate limit exceeded: 9 failed write attempts (75 %)",
		"stage 2: 400 series limit exceeded (per user): 3 failed write attempts (25 %)",
	}, v.CauseLines(), "by stage number, the largest share first")
}

func TestCause(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{429, "ingestion rate limit (140000) exceeded while adding 5000 samples and 0 metadata", "429 ingestion rate limit exceeded"},
		{429, "Ingestion burst size limit (50000) exceeded", "429 ingestion burst size limit exceeded"},
		{400, "per-user series limit of 2000000 exceeded, please contact administrator to raise it", "400 series limit exceeded (per user)"},
		{400, "per-user series limit of 2,000,000 exceeded, Capacity from 2,000,000 to 2,150,000 is automatically adjusted based on the last 30 min of usage", "400 series limit exceeded (per user)"},
		{400, "series has too many labels (actual: 40, limit: 30) series: 'CPU{a=\"b\"}'", "400 series has too many labels"},
		{400, "received a series whose number of labels exceeds the limit (actual: 41, limit: 40)", "400 series has too many labels"},
		{400, "label value too long (actual: 3000, limit: 2048)", "400 label value too long"},
		{400, "received a series whose label value length exceeds the limit, label: 'pod'", "400 label value too long"},
		{400, "label name too long", "400 label name too long"},
		{400, "err-mimir-max-series-per-metric: per-metric series limit of 10 exceeded", "400 series limit exceeded (per metric)"},
		{400, "out of order sample", "400 out-of-order samples"},
		{400, "duplicate sample for timestamp", "400 duplicate samples"},
		{400, "sample timestamp too old", "400 samples too old"},
		{403, "The request signature we calculated does not match the signature you provided", "403 signature refused"},
		{413, "", "413 request too large"},
		{413, "http: request body too large", "413 request too large"},
		{500, " boom \n", "500 Internal Server Error: boom"},
		{502, "", "502 Bad Gateway"},
		{503, strings.Repeat("x", 70), "503 Service Unavailable: " + strings.Repeat("x", 60) + "…"},
	} {
		assert.Equal(t, tc.want, Cause(tc.status, tc.body), tc.body)
	}
}

func TestLogCauses(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	line := func(at time.Time, status int, body string) LogEntry {
		return LogEntry{Time: at, Message: msgFailedRequest, StatusCode: status, Error: body}
	}
	l := Log{
		line(t0.Add(-time.Millisecond), 429, "ingestion rate limit (1) exceeded"),
		line(t0, 429, "ingestion rate limit (1) exceeded"),
		line(t0.Add(time.Second), 400, "out of order sample"),
		line(t0.Add(2*time.Second), 429, "ingestion rate limit (1) exceeded"),
		{Time: t0, Message: "something else", StatusCode: 500},
		line(t0.Add(10*time.Second), 429, "ingestion rate limit (1) exceeded"),
	}
	assert.Equal(t, map[string]float64{"429 ingestion rate limit exceeded": 2, "400 out-of-order samples": 1}, l.Causes(t0, t0.Add(10*time.Second)))
	require.Empty(t, l.Causes(t0.Add(time.Hour), t0.Add(2*time.Hour)))
}

func TestFormatCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1234: "-1,234", -123: "-123"} {
		assert.Equal(t, want, FormatCount(v))
	}
}

func TestMainCauseTies(t *testing.T) {
	for range 20 { // map order varies from run to run: a tie must not
		assert.Equal(t, "400 out-of-order samples", mainCause(map[string]float64{"429 ingestion rate limit exceeded": 3, "400 out-of-order samples": 3}, nil))
		assert.Equal(t, "answered 429", mainCause(nil, map[string]float64{"204": 9, "503": 2, "429": 2}))
	}
}

// A fleet's held-back time is summed over every collector's workers: four
// collectors of two workers each waiting 40 % of the time waited 40 %, not 160 %.
func TestFleetWaitedIsAShareOfEveryWorker(t *testing.T) {
	fleet := shipped
	fleet.Generator, fleet.Collectors = 2, 4
	m := Measurement{Seconds: 10, StageSeconds: 10, Sent: 5e4, HeldBackSeconds: 0.4 * 10 * 8, Scheduled: 1e5, Shortfall: 5e4,
		Responses: map[string]float64{"204": 25}, RequestSeconds: 1, Batches: 25}
	limit, advice := CollectorLimit(m, fleet)
	assert.Equal(t, LimitGenerator, limit, advice)
	assert.Contains(t, advice, "only 40 % of the time")
}

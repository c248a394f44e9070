// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// stagesConfig is a receiver with enough instances for every rate of these tests.
func stagesConfig(after AfterStages, stages ...Stage) *Config {
	return &Config{
		InstanceIDLocation: InstanceIDOnResource, Instances: 1000, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10,
		Stages: stages, AfterStages: after,
	}
}

func TestScheduleIsTheIntegralOfTheStages(t *testing.T) {
	cfg := stagesConfig(AfterStagesStop,
		Stage{Duration: 30 * time.Second, Rate: 10_000},
		Stage{Duration: time.Minute, Rate: 10_000, RampTo: new(40_000.0)},
		Stage{Duration: 10 * time.Second, Rate: 0},
	)
	require.NoError(t, cfg.Validate())
	s := newSchedule(cfg, simStart)

	// S(t): 10,000 t in the first stage; then 300,000 + 10,000 τ + 250 τ² (the
	// rate grows by 500/s each second); then flat at 1,800,000.
	for _, tt := range []struct{ t, due, rate float64 }{
		{-1, 0, 0},
		{0, 0, 10_000},
		{15, 150_000, 10_000},
		{30, 300_000, 10_000},
		{50, 300_000 + 10_000*20 + 250*20*20, 20_000},
		{90, 1_800_000, 0},
		{95, 1_800_000, 0},
		{100, 1_800_000, 0},
		{1000, 1_800_000, 0},
	} {
		assert.InDelta(t, tt.due, s.due(tt.t), 1e-6, "S(%v)", tt.t)
		assert.InDelta(t, tt.rate, s.rateAt(tt.t), 1e-9, "rate at %v", tt.t)
	}
	for _, tt := range []struct {
		t     float64
		stage int
	}{{-0.001, -1}, {0, 0}, {29.999, 0}, {30, 1}, {89.999, 1}, {90, 2}, {99.999, 2}, {100, 3}, {1e6, 3}} {
		assert.Equal(t, tt.stage, s.stageAt(tt.t), "stage at %v", tt.t)
	}
	for _, want := range []float64{0.5, 5, 30, 31, 60, 89.5} {
		got, ok := s.whenExceeds(s.due(want))
		require.True(t, ok)
		assert.InDelta(t, want, got, 1e-6, "the inverse of S")
	}
	_, ok := s.whenExceeds(1_800_000)
	assert.False(t, ok, "nothing is due after the last stage stops")

	quarter := s.share(4)
	for _, at := range []float64{10, 50, 95} {
		assert.InDelta(t, s.due(at)/4, quarter.due(at), 1e-6, "a worker's share")
	}
}

func TestAfterTheStagesTheScheduleHoldsOrStops(t *testing.T) {
	stages := []Stage{{Duration: 10 * time.Second, Rate: 100}, {Duration: 10 * time.Second, Rate: 100, RampTo: new(300.0)}}
	hold := newSchedule(stagesConfig(AfterStagesHold, stages...), simStart)
	assert.Equal(t, 2, hold.stageAt(25), "the hold after the stages")
	assert.InDelta(t, 300, hold.rateAt(25), 1e-9, "the final rate")
	assert.InDelta(t, 1000+2000+5*300, hold.due(25), 1e-9)

	stop := newSchedule(stagesConfig(AfterStagesStop, stages...), simStart)
	assert.Equal(t, 2, stop.stageAt(25))
	assert.Zero(t, stop.rateAt(25))
	assert.InDelta(t, 1000+2000, stop.due(25), 1e-9)

	rate := newSchedule(&Config{Rate: 250}, simStart)
	assert.Equal(t, 0, rate.stageAt(1e6), "rate is stage 0 held forever")
	assert.InDelta(t, 2500, rate.due(10), 1e-9)
	assert.Nil(t, newSchedule(&Config{Pause: time.Second}, simStart), "pause needs no schedule")
}

func TestAlignStartIsTheNextMultipleOnTheWallClock(t *testing.T) {
	startedAt := time.Date(2026, 1, 1, 12, 0, 20, 500_000_000, time.UTC)
	for _, tt := range []struct {
		align time.Duration
		want  time.Time
	}{
		{0, startedAt},
		{time.Minute, time.Date(2026, 1, 1, 12, 1, 0, 0, time.UTC)},
		{15 * time.Second, time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)},
		{time.Hour, time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC)},
	} {
		cfg := stagesConfig(AfterStagesHold, Stage{Duration: time.Minute, Rate: 10})
		cfg.AlignStart = tt.align
		assert.Equal(t, tt.want, newSchedule(cfg, startedAt).start, "align_start %s", tt.align)
	}
	cfg := stagesConfig(AfterStagesHold, Stage{Duration: time.Minute, Rate: 10})
	cfg.AlignStart = time.Minute
	onTheMinute := time.Date(2026, 1, 1, 12, 1, 0, 0, time.UTC)
	assert.Equal(t, onTheMinute, newSchedule(cfg, onTheMinute).start, "a start on a multiple starts at once")
}

// timedSink records when, on the simulated clock, the worker handed over each
// payload and how many samples it held; with a delay, taking a payload takes that
// long, as a slow backend would.
type timedSink struct {
	clock   *simClock
	delay   time.Duration
	at      []time.Duration // since simStart
	samples []int
}

func (s *timedSink) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	s.at = append(s.at, s.clock.now.Sub(simStart))
	s.samples = append(s.samples, md.DataPointCount())
	if s.delay > 0 {
		s.clock.Sleep(ctx, s.delay)
	}
	return nil
}

func (*timedSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// between returns the samples handed over in [from, to).
func (s *timedSink) between(from, to time.Duration) int {
	n := 0
	for i, at := range s.at {
		if at >= from && at < to {
			n += s.samples[i]
		}
	}
	return n
}

func (s *timedSink) total() int { return s.between(math.MinInt64, math.MaxInt64) }

// simulateStages runs worker 0 of cfg for d on the simulated clock from start and
// returns what it handed over, its worker and its telemetry.
func simulateStages(t *testing.T, cfg *Config, start time.Time, d, delay time.Duration) (*timedSink, *worker, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	clock := newSimClock(start, d)
	sink := &timedSink{clock: clock, delay: delay}
	w := simulate(t, cfg, clock, sink, set)
	return sink, w, tel
}

// byStage reads a counter of the receiver's telemetry by its stage attribute.
func byStage(t *testing.T, tel *componenttest.Telemetry, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := tel.GetMetric(name)
	if err != nil {
		return out // not recorded yet
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		stage, ok := dp.Attributes.Value("stage")
		require.True(t, ok)
		out[stage.AsString()] += dp.Value
	}
	return out
}

func TestStagesPaceEachStage(t *testing.T) {
	cfg := stagesConfig(AfterStagesStop,
		Stage{Duration: 10 * time.Second, Rate: 2_000},
		Stage{Duration: 10 * time.Second, Rate: 8_000},
		Stage{Duration: 10 * time.Second, Rate: 500},
	)
	sink, _, tel := simulateStages(t, cfg, simStart, 35*time.Second, 0)

	for i, st := range cfg.Stages {
		from := time.Duration(i) * 10 * time.Second
		assert.InEpsilon(t, st.Rate*10, sink.between(from, from+10*time.Second), 0.01, "stage %d", i)
	}
	assert.Zero(t, sink.between(30*time.Second+rateQuantum, 35*time.Second), "the stages are over")
	assert.Equal(t, map[string]int64{"0": 20_000, "1": 80_000, "2": 5_000}, byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples"),
		"exactly the integral of each stage")
	assert.Empty(t, byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples"))
}

func TestARampIsLinear(t *testing.T) {
	cfg := stagesConfig(AfterStagesStop, Stage{Duration: 20 * time.Second, Rate: 1_000, RampTo: new(9_000.0)})
	s := newSchedule(cfg, simStart)
	for k := range 20 {
		// The rate is 1000 + 400 t, so second k is due 1200 + 400 k samples.
		assert.InDelta(t, 1_200+400*k, s.due(float64(k+1))-s.due(float64(k)), 1e-6, "scheduled in second %d", k)
	}

	sink, _, tel := simulateStages(t, cfg, simStart, 25*time.Second, 0)
	for k := range 20 {
		from := time.Duration(k) * time.Second
		assert.InEpsilon(t, 1_200+400*k, sink.between(from, from+time.Second), 0.02, "emitted in second %d", k)
	}
	assert.Equal(t, map[string]int64{"0": 100_000}, byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples"),
		"(1000 + 9000) / 2 × 20 s")
	assert.InDelta(t, 100_000, sink.total(), float64(cfg.MaxSamplesPerSeries))
}

func TestAnAlignedStartBeginsAtTheNextMultiple(t *testing.T) {
	cfg := stagesConfig(AfterStagesStop, Stage{Duration: 2 * time.Second, Rate: 1_000})
	cfg.AlignStart = time.Second
	sink, _, _ := simulateStages(t, cfg, simStart.Add(300*time.Millisecond), 5*time.Second, 0)
	require.NotEmpty(t, sink.at)
	assert.GreaterOrEqual(t, sink.at[0], time.Second, "idle until the next whole second")
	assert.InEpsilon(t, 2_000, sink.between(time.Second, 3*time.Second+rateQuantum), 0.01)
	assert.Zero(t, sink.between(3*time.Second+rateQuantum, 6*time.Second))
}

func TestAfterStagesHoldsOrStops(t *testing.T) {
	stages := []Stage{{Duration: 2 * time.Second, Rate: 1_000}, {Duration: 2 * time.Second, Rate: 3_000}}

	sink, _, tel := simulateStages(t, stagesConfig(AfterStagesHold, stages...), simStart, 10*time.Second, 0)
	assert.InEpsilon(t, 3_000*6, sink.between(4*time.Second, 10*time.Second), 0.01, "the last rate is held")
	scheduled := byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples")
	assert.Equal(t, int64(2_000), scheduled["0"])
	assert.Equal(t, int64(6_000), scheduled["1"])
	assert.InEpsilon(t, 3_000*6, scheduled["2"], 0.01, "the hold counts as stage 2, one past the last")

	sink, _, tel = simulateStages(t, stagesConfig(AfterStagesStop, stages...), simStart, 10*time.Second, 0)
	assert.InEpsilon(t, 8_000, sink.total(), 0.01)
	assert.Zero(t, sink.between(4*time.Second+rateQuantum, 10*time.Second), "nothing after the stages")
	assert.Equal(t, map[string]int64{"0": 2_000, "1": 6_000}, byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples"))
}

func TestAnIdleStageEmitsNothing(t *testing.T) {
	cfg := stagesConfig(AfterStagesStop,
		Stage{Duration: 2 * time.Second, Rate: 1_000},
		Stage{Duration: 3 * time.Second, Rate: 0},
		Stage{Duration: 2 * time.Second, Rate: 1_000},
	)
	sink, _, tel := simulateStages(t, cfg, simStart, 8*time.Second, 0)
	assert.Zero(t, sink.between(2*time.Second+rateQuantum, 5*time.Second))
	assert.InEpsilon(t, 2_000, sink.between(5*time.Second, 8*time.Second), 0.01)
	assert.Equal(t, map[string]int64{"0": 2_000, "2": 2_000}, byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples"))
}

func TestASlowPipelineShowsAsShortfall(t *testing.T) {
	// Taking a payload of at most 4096 samples takes 100 ms: at most 40,960
	// samples/s, well below the first stage's 100,000.
	const delay = 100 * time.Millisecond
	cfg := stagesConfig(AfterStagesStop,
		Stage{Duration: 5 * time.Second, Rate: 100_000},
		Stage{Duration: 5 * time.Second, Rate: 1_000},
	)
	sink, w, tel := simulateStages(t, cfg, simStart, 12*time.Second, delay)

	scheduled := byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples")
	shortfall := byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples")
	assert.Equal(t, map[string]int64{"0": 500_000, "1": 5_000}, scheduled)
	assert.Greater(t, shortfall["0"], int64(100_000), "the pipeline took well under half of the first stage")

	// Per stage, what was due is what was emitted in it, what was given up in it,
	// and the change of the backlog, which is never more than a second behind, plus
	// what falls due while a payload is taken, plus what the worker may run ahead.
	backlog := 100_000 + 100_000*delay.Seconds() + float64(maxPayloadSamples+cfg.MaxSamplesPerSeries)
	for i, stage := range []string{"0", "1"} {
		from := time.Duration(i) * 5 * time.Second
		emitted := int64(sink.between(from, from+5*time.Second))
		assert.InDelta(t, scheduled[stage], emitted+shortfall[stage], backlog, "stage %s", stage)
	}
	// Once the stages stop, the backlog left is a shortfall too, so the totals add
	// up to what the last emission ran ahead.
	emitted := w.totals.accepted.Load() + w.totals.refused.Load()
	assert.Equal(t, int64(sink.total()), emitted)
	assert.InDelta(t, scheduled["0"]+scheduled["1"], emitted+shortfall["0"]+shortfall["1"], float64(cfg.MaxSamplesPerSeries))
	assert.Equal(t, scheduled["0"]+scheduled["1"], w.totals.scheduled.Load(), "the shutdown line counts the same")
	assert.Equal(t, shortfall["0"]+shortfall["1"], w.totals.shortfall.Load())

	heldBack, err := tel.GetMetric("otelcol_receiver_dummymetrics_held_back_time")
	require.NoError(t, err)
	assert.InDelta(t, float64(len(sink.at))*delay.Seconds(), heldBack.Data.(metricdata.Sum[float64]).DataPoints[0].Value, 1e-6,
		"the time spent handing payloads over")
}

func TestHeldBackTimeInEveryPacingMode(t *testing.T) {
	for _, cfg := range []*Config{
		{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 100 * time.Millisecond},
		{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0},
		{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Rate: 1000},
	} {
		sink, w, tel := simulateStages(t, cfg, simStart, time.Second, 10*time.Millisecond)
		require.NotEmpty(t, sink.at)
		heldBack, err := tel.GetMetric("otelcol_receiver_dummymetrics_held_back_time")
		require.NoError(t, err)
		assert.InDelta(t, float64(len(sink.at))*0.01, heldBack.Data.(metricdata.Sum[float64]).DataPoints[0].Value, 1e-6, cfg.pacing())
		assert.Equal(t, time.Duration(len(sink.at))*10*time.Millisecond, time.Duration(w.totals.heldBack.Load()))
	}
}

func TestTheScheduleIsObservedWhileTheReceiverRuns(t *testing.T) {
	gauges := func(t *testing.T, cfg *Config) (stage int64, rate float64, ok bool) {
		tel := componenttest.NewTelemetry()
		defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
		rcv := startReceiver(t, cfg, consumertest.NewNop(), tel)
		defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()
		s, err := tel.GetMetric("otelcol_receiver_dummymetrics_stage")
		if err != nil {
			return 0, 0, false
		}
		r, err := tel.GetMetric("otelcol_receiver_dummymetrics_target_rate")
		require.NoError(t, err)
		return s.Data.(metricdata.Gauge[int64]).DataPoints[0].Value, r.Data.(metricdata.Gauge[float64]).DataPoints[0].Value, true
	}
	hour := []Stage{{Duration: time.Hour, Rate: 1_000}, {Duration: time.Hour, Rate: 2_000}}

	stage, rate, ok := gauges(t, stagesConfig(AfterStagesHold, hour...))
	require.True(t, ok)
	assert.Equal(t, int64(0), stage)
	assert.Equal(t, 1_000.0, rate)

	aligned := stagesConfig(AfterStagesHold, hour...)
	aligned.AlignStart = 24 * time.Hour
	stage, rate, ok = gauges(t, aligned)
	require.True(t, ok)
	assert.Equal(t, int64(-1), stage, "before align_start")
	assert.Zero(t, rate, "idle until then")

	_, _, ok = gauges(t, &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour})
	assert.False(t, ok, "pause has no schedule to observe")
}

func TestASlowHandOverDoesNotCostTheNextPayload(t *testing.T) {
	// 2 samples/s, and taking a payload takes 1.5 s: the worker is idle most of
	// the time and must keep up.
	cfg := stagesConfig(AfterStagesStop, Stage{Duration: 5 * time.Minute, Rate: 2})
	sink, _, tel := simulateStages(t, cfg, simStart, 5*time.Minute, 1500*time.Millisecond)

	assert.Empty(t, byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples"))
	assert.InDelta(t, 600, sink.total(), 10, "to an emission of at most 10 samples")
}

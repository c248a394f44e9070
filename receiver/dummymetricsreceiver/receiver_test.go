// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// seriesChecker is a consumer that checks, as the data arrives, that every series'
// timestamps strictly increase and stay within a second of the wall clock.
type seriesChecker struct {
	mu       sync.Mutex
	last     map[string]int64
	samples  int64
	problems []string
}

func newSeriesChecker() *seriesChecker { return &seriesChecker{last: map[string]int64{}} }

func (c *seriesChecker) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	limit := time.Now().Add(maxAheadOfWallClock).UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range flatten(md) {
		key := p.instance + "/" + p.metric
		if last, ok := c.last[key]; ok && p.millis <= last {
			c.problems = append(c.problems, key+": timestamp did not increase")
		}
		if p.millis > limit {
			c.problems = append(c.problems, key+": timestamp more than 1s ahead of the clock")
		}
		c.last[key] = p.millis
		c.samples++
	}
	return nil
}

func (*seriesChecker) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// sumOf reads a counter of the receiver's telemetry.
func sumOf(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

func startReceiver(t *testing.T, cfg *Config, next consumer.Metrics, tel *componenttest.Telemetry) *dummyMetricsReceiver {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	return rcv.(*dummyMetricsReceiver)
}

func TestStartLogNamesTheReplicasInstances(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 12, Parallelism: 3, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour,
		InstanceOffset: 24, ReplicaIndex: 2}
	require.NoError(t, cfg.Validate())
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, rcv.Shutdown(context.Background()))

	started := logs.FilterMessage("Generating dummy CPU and Memory metrics").All()
	require.Len(t, started, 1)
	fields := started[0].ContextMap()
	assert.Equal(t, int64(2), fields["replica_index"])
	assert.Equal(t, "I0000000048", fields["first_instance"], "24 + 2 × 12")
	assert.Equal(t, "I0000000059", fields["last_instance"])
}

func TestConcurrentWorkersAtFullSpeed(t *testing.T) {
	for _, location := range []string{InstanceIDOnDataPoint, InstanceIDOnResource} {
		t.Run("instance_id_location="+location, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			checker := newSeriesChecker()
			cfg := &Config{InstanceIDLocation: location, Instances: 12, Parallelism: 3, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
			rcv := startReceiver(t, cfg, checker, tel)
			time.Sleep(time.Second)
			require.NoError(t, rcv.Shutdown(context.Background()))

			require.Empty(t, checker.problems)
			assert.Len(t, checker.last, 24, "12 instances x {CPU, Memory}")
			assert.Positive(t, checker.samples)
			assert.Equal(t, checker.samples, sumOf(t, tel, "otelcol_receiver_accepted_metric_points"),
				"the receiver's telemetry counts exactly the samples it emitted")
			assert.Equal(t, checker.samples, rcv.totals.accepted.Load())
			assert.Zero(t, rcv.totals.refused.Load())
		})
	}
}

func TestRefusedSamplesAreCountedAndTheWorkerBacksOff(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()

	// The pipeline refuses the first calls, as a memory limiter would, then recovers.
	var calls, refusedSamples atomic.Int64
	accepted := new(consumertest.MetricsSink)
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		if calls.Add(1) <= 4 {
			refusedSamples.Add(int64(md.DataPointCount()))
			return errors.New("data refused due to high memory usage")
		}
		return accepted.ConsumeMetrics(ctx, md)
	})
	require.NoError(t, err)

	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Rate: 2000}
	rcv := startReceiver(t, cfg, next, tel)
	require.Eventually(t, func() bool { return accepted.DataPointCount() > 0 }, 10*time.Second, 10*time.Millisecond,
		"the worker resumes once the pipeline accepts again")
	require.NoError(t, rcv.Shutdown(context.Background()))

	assert.Equal(t, refusedSamples.Load(), sumOf(t, tel, "otelcol_receiver_refused_metric_points"))
	assert.Equal(t, int64(accepted.DataPointCount()), sumOf(t, tel, "otelcol_receiver_accepted_metric_points"))
	assert.Positive(t, refusedSamples.Load())
}

func TestRefusingPipelineDoesNotSpin(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	var calls atomic.Int64
	next, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
		calls.Add(1)
		return errors.New("refused")
	})
	require.NoError(t, err)
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 4, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	rcv := startReceiver(t, cfg, next, tel)
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))

	// Backing off 10, 20, 40, ... ms allows at most about six calls per worker in
	// half a second; a worker that retried at once would make thousands.
	assert.LessOrEqual(t, calls.Load(), int64(2*8))
	assert.Equal(t, rcv.totals.refused.Load(), sumOf(t, tel, "otelcol_receiver_refused_metric_points"))
	assert.Positive(t, rcv.totals.refused.Load())
}

func TestShutdownInterruptsALongPause(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	sink := new(consumertest.MetricsSink)
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour}
	rcv := startReceiver(t, cfg, sink, tel)
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) == 2 }, 5*time.Second, time.Millisecond,
		"each worker emits once, then pauses")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, rcv.Shutdown(ctx), "Shutdown must not wait for the pause to end")
	assert.Len(t, sink.AllMetrics(), 2)
}

// simClock is a simulated clock for one worker: sleeping advances it, and it stops
// the worker once the simulated run is over.
type simClock struct {
	now    time.Time
	end    time.Time
	cancel context.CancelFunc
	slept  time.Duration
}

// newSimClock returns a simulated clock for a run from start for d.
func newSimClock(start time.Time, d time.Duration) *simClock {
	return &simClock{now: start, end: start.Add(d)}
}

func (c *simClock) Now() time.Time { return c.now }

func (c *simClock) Sleep(_ context.Context, d time.Duration) {
	c.now = c.now.Add(d)
	c.slept += d
	if !c.now.Before(c.end) {
		c.cancel()
	}
}

// simStart is when simulated runs start.
var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// runSimulated runs worker 0 of cfg for the simulated duration and returns the
// payloads it handed to the pipeline.
func runSimulated(t *testing.T, cfg *Config, d time.Duration) ([]pmetric.Metrics, *simClock) {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	clock := newSimClock(simStart, d)
	simulate(t, cfg, clock, sink, receivertest.NewNopSettings(metadata.Type))
	return sink.AllMetrics(), clock
}

// simulate runs worker 0 of cfg on clock, from its start to its end, handing its
// payloads to next, and returns the worker.
func simulate(t *testing.T, cfg *Config, clock *simClock, next consumer.Metrics, set receiver.Settings) *worker {
	t.Helper()
	require.NoError(t, cfg.Validate())
	rcv, err := newDummyMetricsReceiver(cfg, set, next)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock.cancel = cancel
	w := rcv.newWorker(0, 1, newSchedule(cfg, clock.now))
	w.now, w.sleep = clock.Now, clock.Sleep
	w.run(ctx)
	return w
}

func countSamples(mds []pmetric.Metrics) int {
	n := 0
	for _, md := range mds {
		n += md.DataPointCount()
	}
	return n
}

func TestRatePacesTheReceiver(t *testing.T) {
	for _, rate := range []float64{100, 5_000, 200_000} {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 1000, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Second, Rate: rate}
		mds, _ := runSimulated(t, cfg, 10*time.Second)
		assert.InEpsilon(t, rate*10, countSamples(mds), 0.01, "rate %v over 10 simulated seconds", rate)
		// A payload goes out when the worker sleeps, at most every rateQuantum, or when full.
		assert.LessOrEqual(t, len(mds), int(10*time.Second/rateQuantum)+countSamples(mds)/maxPayloadSamples+1)
	}
}

func TestRateIsSharedByTheWorkers(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 1000, Parallelism: 4, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Rate: 40_000}
	mds, _ := runSimulated(t, cfg, 10*time.Second) // one of the four workers
	assert.InEpsilon(t, 100_000, countSamples(mds), 0.01)
}

func TestPauseFollowsEveryEmission(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 100 * time.Millisecond}
	mds, _ := runSimulated(t, cfg, 10*time.Second)
	assert.Len(t, mds, 100, "one emission per 100 ms pause")
	for _, md := range mds {
		points := flatten(md)
		require.GreaterOrEqual(t, len(points), 2)
		require.LessOrEqual(t, len(points), 10)
		for _, p := range points {
			assert.Equal(t, points[0].instance+points[0].metric, p.instance+p.metric, "one series per emission")
		}
	}
}

func TestFullSpeedWaitsForTheClockInsteadOfRunningAhead(t *testing.T) {
	// One instance and a clock that only moves when the worker sleeps: without the
	// rule the series would run ahead of the clock without bound.
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 1, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	mds, clock := runSimulated(t, cfg, 10*time.Second)
	samples := countSamples(mds)
	// Two series, one sample per millisecond each over 10 s, plus the one second of lead.
	assert.LessOrEqual(t, samples, 2*(10_000+1000), "at most one sample per millisecond per series")
	assert.GreaterOrEqual(t, samples, 2*10_000*8/10, "waiting costs little of the ceiling")
	assert.Positive(t, clock.slept)

	last := map[string]int64{}
	for _, md := range mds {
		for _, p := range flatten(md) {
			key := p.instance + p.metric
			require.Greater(t, p.millis, last[key])
			last[key] = p.millis
		}
	}
	for key, ms := range last {
		assert.LessOrEqual(t, ms, clock.now.UnixMilli()+1000, key)
	}
}

func TestAPermanentRefusalIsNotWaitedOut(t *testing.T) {
	// On the simulated clock, so that only the worker's own sleeps pass time.
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 10, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	run := func(refusal error) (calls int64, w *worker, logs *observer.ObservedLogs) {
		next, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
			calls++
			return refusal
		})
		require.NoError(t, err)
		core, logs := observer.New(zap.InfoLevel)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Logger = zap.New(core)
		w = simulate(t, cfg, newSimClock(simStart, time.Second), next, set)
		return calls, w, logs
	}

	permanentCalls, w, logs := run(consumererror.NewPermanent(errors.New("rejected")))
	assert.Greater(t, permanentCalls, int64(100), "the worker goes on at its pace instead of backing off")
	assert.Zero(t, w.totals.accepted.Load())
	assert.Positive(t, w.totals.refused.Load(), "every sample is counted as refused")
	assert.Equal(t, 1, logs.FilterMessageSnippet("refused samples permanently").Len(), "logged once per streak")

	retryableCalls, _, logs := run(errors.New("data refused due to high memory usage"))
	assert.LessOrEqual(t, retryableCalls, int64(8), "backing off 10, 20, 40, ... ms allows about seven calls in a second")
	assert.Equal(t, 1, logs.FilterMessageSnippet("backing off").Len(), "logged once per streak")
}

func TestStartTwiceFails(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour}
	rcv := startReceiver(t, cfg, consumertest.NewNop(), tel)
	assert.Error(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, rcv.Shutdown(context.Background()))
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour}
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)

	never, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, never.Shutdown(context.Background()))

	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, rcv.Shutdown(context.Background()))
	require.NoError(t, rcv.Shutdown(context.Background()))
	assert.Equal(t, 1, logs.FilterMessage("Stopped generating dummy metrics").Len())
}

func TestShutdownReturnsWhenItsContextEnds(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	// A pipeline that holds the worker, as a synchronous export to a dead backend does.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	next, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})
	require.NoError(t, err)
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	rcv := startReceiver(t, cfg, next, tel)
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, rcv.Shutdown(ctx), context.DeadlineExceeded, "Shutdown gives up with its context")
	close(release)
	select {
	case <-rcv.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the workers did not stop once the pipeline let go")
	}
	assert.NoError(t, rcv.Shutdown(context.Background()), "a second Shutdown")
}

func TestARestartWritesAfterThePreviousProcess(t *testing.T) {
	// At full speed one instance's series run a second ahead of the clock; the next
	// process, started as the previous one stops, must start after them.
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 1, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	first, second := new(consumertest.MetricsSink), new(consumertest.MetricsSink)
	clock := newSimClock(simStart, 3*time.Second)
	simulate(t, cfg, clock, first, receivertest.NewNopSettings(metadata.Type))
	w := simulate(t, cfg, newSimClock(clock.now, 3*time.Second), second, receivertest.NewNopSettings(metadata.Type))

	newest, oldest := map[string]int64{}, map[string]int64{}
	for _, md := range first.AllMetrics() {
		for _, p := range flatten(md) {
			newest[p.instance+p.metric] = max(newest[p.instance+p.metric], p.millis)
		}
	}
	for _, md := range second.AllMetrics() {
		for _, p := range flatten(md) {
			if o, ok := oldest[p.instance+p.metric]; !ok || p.millis < o {
				oldest[p.instance+p.metric] = p.millis
			}
		}
	}
	require.Len(t, newest, 2)
	require.Len(t, oldest, 2)
	for series, o := range oldest {
		assert.Greater(t, o, newest[series], series)
		assert.Greater(t, o, clock.now.Add(maxAheadOfWallClock).UnixMilli(), "%s starts after the most a previous process may have written", series)
	}
	assert.Positive(t, w.totals.clockWait.Load(), "waiting for the clock to let the series on is clock wait")
}

func TestShutdownLogsTheTotals(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	sink := new(consumertest.MetricsSink)
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 2, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Rate: 1000}
	require.NoError(t, cfg.Validate())
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return sink.DataPointCount() > 0 }, 10*time.Second, time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))

	stopped := logs.FilterMessage("Stopped generating dummy metrics").All()
	require.Len(t, stopped, 1)
	fields := stopped[0].ContextMap()
	// Other code parses these names.
	assert.Equal(t, int64(sink.DataPointCount()), fields["emitted_samples"])
	assert.Equal(t, int64(sink.DataPointCount()), fields["accepted_samples"])
	assert.Equal(t, int64(0), fields["refused_samples"])
	assert.Positive(t, fields["scheduled_samples"])
	assert.Contains(t, fields, "shortfall_samples")
	assert.Contains(t, fields, "clock_wait")
	assert.Contains(t, fields, "held_back")
}

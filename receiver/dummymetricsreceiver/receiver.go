// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

var _ receiver.Metrics = (*dummyMetricsReceiver)(nil)

// dummyMetricsReceiver runs one generator worker per shard of the instances.
type dummyMetricsReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	next      consumer.Metrics
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder

	totals     counters
	workers    sync.WaitGroup
	stageAttrs []metric.AddOption // the stage attribute, by stage
	running    []*worker          // read by Shutdown once they have stopped
	sched      *schedule          // nil when pause paces the seed shape

	mu      sync.Mutex // guards the lifecycle below
	cancel  context.CancelFunc
	stopped bool
	done    chan struct{}
	started time.Time
}

func newDummyMetricsReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*dummyMetricsReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		LongLivedCtx:           true,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	// One more than the stages, for the hold after them.
	stageAttrs := make([]metric.AddOption, len(cfg.Stages)+1)
	for i := range stageAttrs {
		stageAttrs[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("stage", strconv.Itoa(i))))
	}
	return &dummyMetricsReceiver{cfg: cfg, settings: set, next: next, obsrecv: obsrecv, telemetry: telemetry, stageAttrs: stageAttrs}, nil
}

// Start spawns the workers. They stop when Shutdown is called.
func (r *dummyMetricsReceiver) Start(_ context.Context, _ component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("the dummymetrics receiver was started already")
	}
	seed := r.cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	started := time.Now()
	sched := newSchedule(r.cfg, started)
	if err := r.observe(sched); err != nil {
		return err
	}
	// The workers outlive Start's context, which ends when Start returns.
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	r.started = started
	r.sched = sched

	for k := range r.cfg.Parallelism {
		w := r.newWorker(k, seed, sched)
		r.running = append(r.running, w)
		r.workers.Go(func() { w.run(ctx) })
	}
	go func() {
		r.workers.Wait()
		close(r.done)
	}()

	first := r.cfg.firstIndex()
	fields := []zap.Field{
		zap.String("shape", r.cfg.Shape.String()),
		zap.Int("instances", r.cfg.Instances),
		zap.Int64("replica_index", int64(r.cfg.ReplicaIndex)),
		zap.String("first_instance", instanceID(first)),
		zap.String("last_instance", instanceID(first+int64(r.cfg.Instances)-1)),
		zap.Int("series", r.cfg.Instances*r.seriesPerInstance()),
		zap.Int("parallelism", r.cfg.Parallelism),
		zap.String("pacing", r.cfg.pacing()),
		zap.Uint64("seed", seed),
	}
	if r.cfg.Shape == ShapeScrape {
		fields = append(fields,
			zap.Duration("interval", r.cfg.Scrape.Interval),
			zap.Int("series_per_instance", r.seriesPerInstance()),
			zap.Strings("metrics", metricList(scrapeMetrics(&r.cfg.Scrape))),
		)
	}
	if sched != nil {
		fields = append(fields, zap.Time("schedule_start", sched.start))
	}
	r.settings.Logger.Info("Generating dummy CPU and Memory metrics", fields...)
	return nil
}

// seriesPerInstance is the number of series of one instance in the receiver's shape.
func (r *dummyMetricsReceiver) seriesPerInstance() int {
	if r.cfg.Shape == ShapeScrape {
		return r.cfg.Scrape.seriesPerInstance()
	}
	return metricCount
}

// activeSeries returns the series of the instances active at now.
func (r *dummyMetricsReceiver) activeSeries(sched *schedule, now time.Time) int64 {
	if r.cfg.Shape != ShapeScrape {
		return int64(metricCount * r.cfg.Instances)
	}
	a := newActivity(r.cfg, sched)
	return int64(a.instancesAt(now.UnixMilli()) * a.series)
}

// targetRate returns the samples per second the schedule asks for at now.
func (r *dummyMetricsReceiver) targetRate(sched *schedule, now time.Time) float64 {
	if r.cfg.Shape != ShapeScrape {
		return sched.rateAt(sched.elapsed(now))
	}
	return float64(r.activeSeries(sched, now)) / r.cfg.Scrape.Interval.Seconds()
}

// observe reports the series written, and the schedule's current rate and stage
// when there is a schedule, whenever the telemetry is read.
func (r *dummyMetricsReceiver) observe(sched *schedule) error {
	written := errors.Join(
		r.telemetry.RegisterReceiverDummymetricsSeriesWrittenCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(r.totals.written.Load())
			return nil
		}),
		r.telemetry.RegisterReceiverDummymetricsActiveSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(r.activeSeries(sched, time.Now()))
			return nil
		}),
	)
	if sched == nil {
		return written
	}
	return errors.Join(written,
		r.telemetry.RegisterReceiverDummymetricsTargetRateCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(r.targetRate(sched, time.Now()))
			return nil
		}),
		r.telemetry.RegisterReceiverDummymetricsStageCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(sched.stageAt(sched.elapsed(time.Now()))))
			return nil
		}),
	)
}

// newWorker builds the worker of shard k, on the wall clock: in the seed shape paced
// by its share of sched, or by pause when sched is nil; in the scrape shape by the
// scrape interval, with the active instances of sched.
func (r *dummyMetricsReceiver) newWorker(k int, seed uint64, sched *schedule) *worker {
	w := &worker{
		next:       r.next,
		obsrecv:    r.obsrecv,
		telemetry:  r.telemetry,
		logger:     r.settings.Logger.With(zap.Int("worker", k)),
		totals:     &r.totals,
		client:     shardClientInfo(k),
		pause:      r.cfg.Pause,
		stageAttrs: r.stageAttrs,
		now:        time.Now,
		sleep:      newTimerSleep(),
	}
	if r.cfg.Shape == ShapeScrape {
		w.scrape = newScrapeShard(r.cfg, k, seed, sched)
		w.out, w.counts, w.blockNames = w.scrape, &w.scrape.counts, w.scrape.blockNames()
	} else {
		w.shard = newShard(r.cfg, k, seed)
		w.payload = newPayload(w.shard, r.cfg.InstanceIDLocation)
		w.out, w.blockNames = seedOutput{w.shard, w.payload}, w.shard.blockNames()
		if sched != nil {
			w.pacer = newPacer(sched.share(r.cfg.Parallelism), len(r.cfg.Stages))
			w.counts = &w.pacer.stageCounts
		}
	}
	w.blockAttrs = make([]metric.AddOption, len(w.blockNames))
	w.acceptedByBlock = make([]int64, len(w.blockNames))
	for b, name := range w.blockNames {
		w.blockAttrs[b] = metric.WithAttributeSet(attribute.NewSet(attribute.String("instances", name)))
	}
	return w
}

// Shutdown stops the workers, waits for them as long as ctx allows, and reports
// what was emitted: every sample counted here was either accepted by the pipeline
// or refused by it. When ctx ends first, the workers still stop, without a report.
func (r *dummyMetricsReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.telemetry.Shutdown()
	if r.cancel == nil || r.stopped {
		return nil
	}
	r.stopped = true
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	stopped := time.Now()
	accepted, refused := r.totals.accepted.Load(), r.totals.refused.Load()
	r.settings.Logger.Info("Stopped generating dummy metrics",
		zap.Int64("emitted_samples", accepted+refused),
		zap.Int64("accepted_samples", accepted),
		zap.Int64("refused_samples", refused),
		zap.Int64("stale_markers", r.totals.stale.Load()),
		zap.Int64("refused_stale_markers", r.totals.refusedStale.Load()),
		zap.Int("stage_at_stop", r.stageAt(stopped)),
		zap.Object("accepted_by_block", acceptedByBlock(r.running)),
		zap.Int64("scheduled_samples", r.totals.scheduled.Load()),
		zap.Int64("shortfall_samples", r.totals.shortfall.Load()),
		zap.Int64("series_written", r.totals.written.Load()),
		zap.Duration("clock_wait", time.Duration(r.totals.clockWait.Load())),
		zap.Duration("held_back", time.Duration(r.totals.heldBack.Load())),
		zap.Duration("ran_for", stopped.Sub(r.started)),
	)
	return nil
}

// stageAt returns the stage in force at now: -1 before the schedule's start, the
// number of stages after the last one; 0 with pause, which has no schedule.
func (r *dummyMetricsReceiver) stageAt(now time.Time) int {
	if r.sched == nil {
		return 0
	}
	return r.sched.stageAt(r.sched.elapsed(now))
}

// acceptedByBlock is the samples the workers had accepted by block, named as the
// accepted_samples telemetry names them, in the order of the instances.
type acceptedByBlock []*worker

func (workers acceptedByBlock) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, w := range workers {
		for b, name := range w.blockNames {
			enc.AddInt64(name, w.acceptedByBlock[b])
		}
	}
	return nil
}

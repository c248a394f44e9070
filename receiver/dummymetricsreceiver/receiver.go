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

	for k := range r.cfg.Parallelism {
		w := r.newWorker(k, seed, sched)
		r.workers.Go(func() { w.run(ctx) })
	}
	go func() {
		r.workers.Wait()
		close(r.done)
	}()

	first := r.cfg.firstIndex()
	fields := []zap.Field{
		zap.Int("instances", r.cfg.Instances),
		zap.Int64("replica_index", int64(r.cfg.ReplicaIndex)),
		zap.String("first_instance", instanceID(first)),
		zap.String("last_instance", instanceID(first+int64(r.cfg.Instances)-1)),
		zap.Int("series", 2*r.cfg.Instances),
		zap.Int("parallelism", r.cfg.Parallelism),
		zap.String("pacing", r.cfg.pacing()),
		zap.Uint64("seed", seed),
	}
	if sched != nil {
		fields = append(fields, zap.Time("schedule_start", sched.start))
	}
	r.settings.Logger.Info("Generating dummy CPU and Memory metrics", fields...)
	return nil
}

// observe reports the series written, and the schedule's current rate and stage
// when there is a schedule, whenever the telemetry is read.
func (r *dummyMetricsReceiver) observe(sched *schedule) error {
	written := r.telemetry.RegisterReceiverDummymetricsSeriesWrittenCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(r.totals.written.Load())
		return nil
	})
	if sched == nil {
		return written
	}
	return errors.Join(written,
		r.telemetry.RegisterReceiverDummymetricsTargetRateCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(sched.rateAt(sched.elapsed(time.Now())))
			return nil
		}),
		r.telemetry.RegisterReceiverDummymetricsStageCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(sched.stageAt(sched.elapsed(time.Now()))))
			return nil
		}),
	)
}

// newWorker builds the worker of shard k, on the wall clock, paced by its share of
// sched, or by pause when sched is nil.
func (r *dummyMetricsReceiver) newWorker(k int, seed uint64, sched *schedule) *worker {
	s := newShard(r.cfg, k, seed)
	w := &worker{
		shard:      s,
		payload:    newPayload(s, r.cfg.InstanceIDLocation),
		next:       r.next,
		obsrecv:    r.obsrecv,
		telemetry:  r.telemetry,
		logger:     r.settings.Logger.With(zap.Int("worker", k)),
		totals:     &r.totals,
		client:     shardClientInfo(k),
		pause:      r.cfg.Pause,
		stageAttrs: r.stageAttrs,
		blockAttrs: make([]metric.AddOption, len(s.ledger.blockSamples)),
		now:        time.Now,
		sleep:      newTimerSleep(),
	}
	for b, name := range s.blockNames() {
		w.blockAttrs[b] = metric.WithAttributeSet(attribute.NewSet(attribute.String("instances", name)))
	}
	if sched != nil {
		w.pacer = newPacer(sched.share(r.cfg.Parallelism), len(r.cfg.Stages))
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
	accepted, refused := r.totals.accepted.Load(), r.totals.refused.Load()
	r.settings.Logger.Info("Stopped generating dummy metrics",
		zap.Int64("emitted_samples", accepted+refused),
		zap.Int64("accepted_samples", accepted),
		zap.Int64("refused_samples", refused),
		zap.Int64("scheduled_samples", r.totals.scheduled.Load()),
		zap.Int64("shortfall_samples", r.totals.shortfall.Load()),
		zap.Int64("series_written", r.totals.written.Load()),
		zap.Duration("clock_wait", time.Duration(r.totals.clockWait.Load())),
		zap.Duration("held_back", time.Duration(r.totals.heldBack.Load())),
		zap.Duration("ran_for", time.Since(r.started)),
	)
	return nil
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
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

	totals  counters
	workers sync.WaitGroup

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
	return &dummyMetricsReceiver{cfg: cfg, settings: set, next: next, obsrecv: obsrecv, telemetry: telemetry}, nil
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
	// The workers outlive Start's context, which ends when Start returns.
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	r.started = time.Now()

	for k := range r.cfg.Parallelism {
		w := r.newWorker(k, seed)
		r.workers.Go(func() { w.run(ctx) })
	}
	go func() {
		r.workers.Wait()
		close(r.done)
	}()

	first := r.cfg.firstIndex()
	r.settings.Logger.Info("Generating dummy CPU and Memory metrics",
		zap.Int("instances", r.cfg.Instances),
		zap.Int64("replica_index", int64(r.cfg.ReplicaIndex)),
		zap.String("first_instance", instanceID(first)),
		zap.String("last_instance", instanceID(first+int64(r.cfg.Instances)-1)),
		zap.Int("series", 2*r.cfg.Instances),
		zap.Int("parallelism", r.cfg.Parallelism),
		zap.String("pacing", r.cfg.pacing()),
		zap.Uint64("seed", seed),
	)
	return nil
}

// newWorker builds the worker of shard k, on the wall clock.
func (r *dummyMetricsReceiver) newWorker(k int, seed uint64) *worker {
	var samplesPerNs float64
	if r.cfg.Rate > 0 {
		samplesPerNs = r.cfg.Rate / float64(r.cfg.Parallelism) / float64(time.Second)
	}
	s := newShard(r.cfg, k, seed)
	return &worker{
		shard:        s,
		payload:      newPayload(s, r.cfg.InstanceIDLocation),
		next:         r.next,
		obsrecv:      r.obsrecv,
		telemetry:    r.telemetry,
		logger:       r.settings.Logger.With(zap.Int("worker", k)),
		totals:       &r.totals,
		pause:        r.cfg.Pause,
		samplesPerNs: samplesPerNs,
		now:          time.Now,
		sleep:        newTimerSleep(),
	}
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
		zap.Duration("clock_wait", time.Duration(r.totals.clockWait.Load())),
		zap.Duration("ran_for", time.Since(r.started)),
	)
	return nil
}

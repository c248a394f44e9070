// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

const (
	// maxPayloadSamples caps the samples handed to the pipeline in one call. Emissions
	// that are due at once (pause 0, or a high rate) share a payload; an emission
	// followed by a pause goes out alone, as in the original.
	maxPayloadSamples = 4096

	// The backoff after the pipeline refused a payload: long enough not to spin a core
	// against a memory limiter, short enough to resume soon after it recovers.
	minRefusedBackoff = 10 * time.Millisecond
	maxRefusedBackoff = time.Second

	// maxRateDebt is how far a worker paced by a schedule may fall behind before it
	// gives up the samples due earlier, counted as shortfall, so that a stall is not
	// followed by an unbounded burst.
	maxRateDebt = time.Second

	// rateQuantum is how far a worker paced by a schedule may run ahead of it before
	// it sleeps. At high rates it gathers a few milliseconds' worth of emissions into
	// one payload instead of sleeping, and flushing, after every emission.
	rateQuantum = 5 * time.Millisecond
)

// ShardMetadataKey is the client metadata key under which each worker passes its
// index (worker k: "k") with its payloads, so that a batch processor given
// metadata_keys: [dummymetrics_shard] keeps one batcher per worker instead of
// making the workers contend for one. It must not be listed in an exporter's
// include_metadata_keys, which would send it as an HTTP header.
const ShardMetadataKey = "dummymetrics_shard"

// shardClientInfo is the client information worker k attaches to its payloads.
func shardClientInfo(k int) client.Info {
	return client.Info{Metadata: client.NewMetadata(map[string][]string{ShardMetadataKey: {strconv.Itoa(k)}})}
}

// counters are the receiver's totals, summed over its workers for the shutdown report.
type counters struct {
	accepted  atomic.Int64
	refused   atomic.Int64
	scheduled atomic.Int64
	shortfall atomic.Int64
	clockWait atomic.Int64 // nanoseconds
	heldBack  atomic.Int64 // nanoseconds
	written   atomic.Int64 // series with a sample accepted
}

// worker runs one shard: it draws emissions, paces them, and hands them to the pipeline.
type worker struct {
	shard     *shard
	payload   payload
	next      consumer.Metrics
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	totals    *counters
	client    client.Info // the worker's shard, as client metadata

	pause      time.Duration
	pacer      *pacer             // nil when pacing by pause
	stageAttrs []metric.AddOption // the stage attribute of the schedule's counts, by stage
	blockAttrs []metric.AddOption // the instances attribute of the accepted samples, by block

	// The clock, replaced in tests by a simulated one.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration)

	backoff         time.Duration // current backoff after refusals; 0 while the pipeline accepts
	refusedInStreak int64
}

func (w *worker) run(ctx context.Context) {
	// Built once: every payload of the worker goes with its shard's metadata.
	ctx = client.NewContext(ctx, w.client)
	// A previous process may have written these series up to a second ahead of its
	// clock until it stopped: start after that, so that a restart is not rejected.
	w.shard.startAfter(w.now().UnixMilli() + maxAheadMillis)
	e := w.shard.next()
	for ctx.Err() == nil {
		now := w.now()
		if w.pacer != nil && w.pacer.done >= w.pacer.budget {
			if wait := w.pacer.next(now); wait > 0 {
				w.flush(ctx)
				w.sleep(ctx, wait)
				continue
			}
		}

		startMillis, waitMillis := w.shard.place(e, now.UnixMilli())
		if waitMillis > 0 {
			// The series is a second ahead of the clock: flush what is ready and let the
			// clock catch up, so that timestamps stay strictly increasing and near now.
			w.flush(ctx)
			wait := time.Duration(waitMillis) * time.Millisecond
			w.totals.clockWait.Add(int64(wait))
			w.telemetry.ReceiverDummymetricsClockWaitTime.Add(ctx, wait.Seconds())
			w.sleep(ctx, wait)
			continue
		}
		w.shard.appendTo(w.payload, e, startMillis)
		if w.pacer != nil {
			w.pacer.done += int64(e.samples)
		}
		e = w.shard.next()

		switch {
		case w.pacer == nil && w.pause > 0:
			w.flush(ctx)
			w.sleep(ctx, w.pause)
		case w.payload.sampleCount() >= maxPayloadSamples:
			w.flush(ctx)
		}
	}
	if w.pacer != nil {
		w.pacer.count(w.pacer.sched.elapsed(w.now()))
		w.report(ctx)
	}
}

// report adds the schedule's counts gathered since the last report to the
// telemetry, so that the counters cost one call per flush, not per sample.
func (w *worker) report(ctx context.Context) {
	if w.pacer == nil {
		return
	}
	w.reportByStage(ctx, w.pacer.scheduled, w.telemetry.ReceiverDummymetricsScheduledSamples, &w.totals.scheduled)
	w.reportByStage(ctx, w.pacer.shortfall, w.telemetry.ReceiverDummymetricsShortfallSamples, &w.totals.shortfall)
}

// reportByStage moves the counts by stage into the counter and the total.
func (w *worker) reportByStage(ctx context.Context, counts []int64, counter metric.Int64Counter, total *atomic.Int64) {
	for stage, n := range counts {
		if n > 0 {
			counter.Add(ctx, n, w.stageAttrs[stage])
			total.Add(n)
			counts[stage] = 0
		}
	}
}

// flush hands the gathered samples to the pipeline and accounts for them. A refusal
// is counted, logged once per streak, and followed by a growing backoff unless it
// is permanent: waiting makes a memory limiter accept again, not a permanent error.
func (w *worker) flush(ctx context.Context) {
	w.report(ctx)
	if w.payload.sampleCount() == 0 {
		return
	}
	if w.pacer != nil {
		// The pipeline may take long: look at the schedule again afterwards.
		w.pacer.budget = 0
	}
	md, samples := w.payload.take()
	opCtx := w.obsrecv.StartMetricsOp(ctx)
	start := w.now()
	err := w.next.ConsumeMetrics(opCtx, md)
	heldBack := w.now().Sub(start)
	w.obsrecv.EndMetricsOp(opCtx, metadata.Type.String(), samples, err)
	w.totals.heldBack.Add(int64(heldBack))
	w.telemetry.ReceiverDummymetricsHeldBackTime.Add(ctx, heldBack.Seconds())

	if err == nil {
		w.totals.accepted.Add(int64(samples))
		for block, n := range w.shard.ledger.blockSamples {
			if n > 0 {
				w.telemetry.ReceiverDummymetricsAcceptedSamples.Add(ctx, int64(n), w.blockAttrs[block])
			}
		}
		w.totals.written.Add(int64(w.shard.ledger.settle(true)))
		if w.refusedInStreak > 0 {
			w.logger.Info("The pipeline accepts samples again", zap.Int64("refused_samples", w.refusedInStreak))
			w.backoff, w.refusedInStreak = 0, 0
		}
		return
	}
	w.totals.refused.Add(int64(samples))
	w.shard.ledger.settle(false)
	firstOfStreak := w.refusedInStreak == 0
	w.refusedInStreak += int64(samples)
	if consumererror.IsPermanent(err) {
		if firstOfStreak {
			w.logger.Warn("The pipeline refused samples permanently; counting them as refused without backing off", zap.Int("samples", samples), zap.Error(err))
		}
		return
	}
	if firstOfStreak {
		w.logger.Warn("The pipeline refused samples; backing off until it accepts again", zap.Int("samples", samples), zap.Error(err))
	}
	w.backoff = min(max(2*w.backoff, minRefusedBackoff), maxRefusedBackoff)
	w.sleep(ctx, w.backoff)
}

// newTimerSleep returns a sleep that waits for d or until ctx ends, reusing one timer.
func newTimerSleep() func(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	return func(ctx context.Context, d time.Duration) {
		timer.Reset(d)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
	}
}

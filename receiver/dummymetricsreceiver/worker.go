// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
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

	// maxRateDebt is how far a worker paced by rate may fall behind before it gives up
	// catching up, so that a stall is not followed by an unbounded burst.
	maxRateDebt = time.Second

	// rateQuantum is how far a worker paced by rate may run ahead of its schedule before
	// it sleeps. At high rates it gathers a few milliseconds' worth of emissions into
	// one payload instead of sleeping, and flushing, after every emission.
	rateQuantum = 5 * time.Millisecond
)

// counters are the receiver's totals, summed over its workers for the shutdown report.
type counters struct {
	accepted  atomic.Int64
	refused   atomic.Int64
	clockWait atomic.Int64 // nanoseconds
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

	pause        time.Duration
	samplesPerNs float64 // the worker's share of rate; 0 when pacing by pause

	// The clock, replaced in tests by a simulated one.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration)

	backoff         time.Duration // current backoff after refusals; 0 while the pipeline accepts
	refusedInStreak int64
}

func (w *worker) run(ctx context.Context) {
	// A previous process may have written these series up to a second ahead of its
	// clock until it stopped: start after that, so that a restart is not rejected.
	w.shard.startAfter(w.now().UnixMilli() + maxAheadMillis)
	var (
		e         = w.shard.next()
		paceStart = w.now()
		paced     int64 // samples emitted since paceStart, for rate pacing
	)
	for ctx.Err() == nil {
		now := w.now()
		if w.samplesPerNs > 0 {
			due := paceStart.Add(time.Duration(float64(paced) / w.samplesPerNs))
			switch ahead := due.Sub(now); {
			case ahead < -maxRateDebt:
				paceStart, paced = now, 0
			case ahead > rateQuantum:
				w.flush(ctx)
				w.sleep(ctx, ahead)
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
		paced += int64(e.samples)
		e = w.shard.next()

		switch {
		case w.samplesPerNs == 0 && w.pause > 0:
			w.flush(ctx)
			w.sleep(ctx, w.pause)
		case w.payload.sampleCount() >= maxPayloadSamples:
			w.flush(ctx)
		}
	}
}

// flush hands the gathered samples to the pipeline and accounts for them. A refusal
// is counted, logged once per streak, and followed by a growing backoff unless it
// is permanent: waiting makes a memory limiter accept again, not a permanent error.
func (w *worker) flush(ctx context.Context) {
	if w.payload.sampleCount() == 0 {
		return
	}
	md, samples := w.payload.take()
	opCtx := w.obsrecv.StartMetricsOp(ctx)
	err := w.next.ConsumeMetrics(opCtx, md)
	w.obsrecv.EndMetricsOp(opCtx, metadata.Type.String(), samples, err)

	if err == nil {
		w.totals.accepted.Add(int64(samples))
		if w.refusedInStreak > 0 {
			w.logger.Info("The pipeline accepts samples again", zap.Int64("refused_samples", w.refusedInStreak))
			w.backoff, w.refusedInStreak = 0, 0
		}
		return
	}
	w.totals.refused.Add(int64(samples))
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

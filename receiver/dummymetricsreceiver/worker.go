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
	"go.opentelemetry.io/collector/pdata/pmetric"
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
	accepted atomic.Int64 // samples; staleness markers are not samples
	refused  atomic.Int64
	stale    atomic.Int64 // staleness markers accepted
	// staleness markers refused: not sent again (their series end by Prometheus's
	// five-minute lookback instead), so counted, as samples are.
	refusedStale atomic.Int64
	scheduled    atomic.Int64
	shortfall    atomic.Int64
	clockWait    atomic.Int64 // nanoseconds
	heldBack     atomic.Int64 // nanoseconds
	written      atomic.Int64 // series with a sample accepted
}

// output is what a worker's shape stages its samples in, and what the worker needs
// of it to hand a payload to the pipeline and account for the answer.
type output interface {
	// staged returns the samples and staleness markers staged.
	staged() int
	// take builds the staged data and hands it over with its samples (staleness
	// markers excluded) and its staleness markers, emptying the stage.
	take() (md pmetric.Metrics, samples, markers int)
	// blockSamples returns the samples of the payload taken last, by block.
	blockSamples() []int
	// settle records the pipeline's answer to the payload taken last and returns
	// the series it wrote for the first time.
	settle(accepted bool) (newlyWritten int)
}

// seedOutput is the output of the seed shape: a shard's payload and ledger.
type seedOutput struct {
	shard   *shard
	payload payload
}

func (o seedOutput) staged() int { return o.payload.sampleCount() }

func (o seedOutput) take() (pmetric.Metrics, int, int) {
	md, samples := o.payload.take()
	return md, samples, 0
}

func (o seedOutput) blockSamples() []int { return o.shard.ledger.blockSamples }

func (o seedOutput) settle(accepted bool) int { return o.shard.ledger.settle(accepted) }

// worker runs one shard: it draws emissions, or scrapes, paces them, and hands
// them to the pipeline.
type worker struct {
	shard     *shard       // the seed shape's generator
	payload   payload      // the seed shape's payload
	scrape    *scrapeShard // the scrape shape's generator and payload
	out       output       // whichever of the two the shape uses
	next      consumer.Metrics
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	totals    *counters
	client    client.Info // the worker's shard, as client metadata

	pause      time.Duration
	pacer      *pacer             // nil when pacing by pause, or in the scrape shape
	counts     *stageCounts       // the schedule's counts not yet reported; nil without a schedule
	stageAttrs []metric.AddOption // the stage attribute of the schedule's counts, by stage
	blockAttrs []metric.AddOption // the instances attribute of the accepted samples, by block

	// The blocks' names, and their samples accepted, for the shutdown report,
	// which reads them once the worker has stopped.
	blockNames      []string
	acceptedByBlock []int64

	// The clock, replaced in tests by a simulated one.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration)

	backoff         time.Duration // current backoff after refusals; 0 while the pipeline accepts
	refusedInStreak int64
}

func (w *worker) run(ctx context.Context) {
	// Built once: every payload of the worker goes with its shard's metadata.
	ctx = client.NewContext(ctx, w.client)
	if w.scrape != nil {
		w.runScrape(ctx)
		return
	}
	// A previous process may have written these series up to a second ahead of its
	// clock until it stopped: start after that, so that a restart is not rejected.
	w.shard.startAfter(w.now().UnixMilli() + maxAheadMillis)
	e := w.shard.next()
	for ctx.Err() == nil {
		now := w.now()
		if w.pacer != nil && w.pacer.done >= w.pacer.budget {
			if wait := w.pacer.next(now); wait > 0 {
				// Hand over what is staged first: the pipeline may take longer than
				// the wait, so look at the schedule again afterwards.
				if w.flush(ctx) {
					continue
				}
				w.sleep(ctx, wait)
				continue
			}
		}

		startMillis, waitMillis := w.shard.place(e, now.UnixMilli())
		if waitMillis > 0 {
			// The series is a second ahead of the clock: flush what is ready and let the
			// clock catch up, so that timestamps stay strictly increasing and near now.
			if w.flush(ctx) {
				continue
			}
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

// maxStagedDelay is the longest a staged scrape waits for others to share its
// payload (the scrape shape).
const maxStagedDelay = 100 * time.Millisecond

// runScrape runs the scrape shape: it stages each scrape once it is due, hands
// them over in payloads that never split a scrape, and sleeps until the next one.
func (w *worker) runScrape(ctx context.Context) {
	s := w.scrape
	for ctx.Err() == nil {
		at, ok := s.due()
		if !ok {
			w.flush(ctx)
			w.sleep(ctx, forever)
			continue
		}
		now := w.now().UnixMilli()
		if wait := time.Duration(at-now) * time.Millisecond; wait > 0 {
			// Scrapes wait up to maxStagedDelay to go out together, as a Prometheus
			// server's remote write batches them: a payload per scrape would cost
			// the pipeline more than its samples. A hand-over may outlast the wait,
			// so after one the clock is read again, or the next scrape would be late.
			if s.staged() > 0 && time.Duration(now-s.stagedSince())*time.Millisecond+wait >= maxStagedDelay {
				w.flush(ctx)
				continue
			}
			w.sleep(ctx, wait)
			continue
		}
		s.scrape(w.now().UnixMilli())
		// A scrape stages at most its markers and its samples: flush before the next
		// one could overfill the payload.
		if s.staged()+2*s.series > maxPayloadSamples {
			w.flush(ctx)
		}
	}
	w.report(ctx)
}

// report adds the schedule's counts gathered since the last report to the
// telemetry, so that the counters cost one call per flush, not per sample.
func (w *worker) report(ctx context.Context) {
	if w.counts == nil {
		return
	}
	w.reportByStage(ctx, w.counts.scheduled, w.telemetry.ReceiverDummymetricsScheduledSamples, &w.totals.scheduled)
	w.reportByStage(ctx, w.counts.shortfall, w.telemetry.ReceiverDummymetricsShortfallSamples, &w.totals.shortfall)
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
// It reports whether anything was staged to hand over.
func (w *worker) flush(ctx context.Context) bool {
	w.report(ctx)
	if w.out.staged() == 0 {
		return false
	}
	if w.pacer != nil {
		// The pipeline may take long: look at the schedule again afterwards.
		w.pacer.budget = 0
	}
	md, samples, markers := w.out.take()
	opCtx := w.obsrecv.StartMetricsOp(ctx)
	start := w.now()
	err := w.next.ConsumeMetrics(opCtx, md)
	heldBack := w.now().Sub(start)
	w.obsrecv.EndMetricsOp(opCtx, metadata.Type.String(), samples, err)
	w.totals.heldBack.Add(int64(heldBack))
	w.telemetry.ReceiverDummymetricsHeldBackTime.Add(ctx, heldBack.Seconds())

	if err == nil {
		w.totals.accepted.Add(int64(samples))
		for block, n := range w.out.blockSamples() {
			if n > 0 {
				w.telemetry.ReceiverDummymetricsAcceptedSamples.Add(ctx, int64(n), w.blockAttrs[block])
				w.acceptedByBlock[block] += int64(n)
			}
		}
		if markers > 0 {
			w.totals.stale.Add(int64(markers))
			w.telemetry.ReceiverDummymetricsStaleMarkers.Add(ctx, int64(markers))
		}
		w.totals.written.Add(int64(w.out.settle(true)))
		if w.refusedInStreak > 0 {
			w.logger.Info("The pipeline accepts samples again", zap.Int64("refused_samples", w.refusedInStreak))
			w.backoff, w.refusedInStreak = 0, 0
		}
		return true
	}
	w.totals.refused.Add(int64(samples))
	w.telemetry.ReceiverDummymetricsRefusedSamples.Add(ctx, int64(samples))
	w.totals.refusedStale.Add(int64(markers))
	w.out.settle(false)
	firstOfStreak := w.refusedInStreak == 0
	w.refusedInStreak += int64(samples)
	if consumererror.IsPermanent(err) {
		if firstOfStreak {
			w.logger.Warn("The pipeline refused samples permanently; counting them as refused without backing off", zap.Int("samples", samples), zap.Error(err))
		}
		return true
	}
	if firstOfStreak {
		w.logger.Warn("The pipeline refused samples; backing off until it accepts again", zap.Int("samples", samples), zap.Error(err))
	}
	w.backoff = min(max(2*w.backoff, minRefusedBackoff), maxRefusedBackoff)
	w.sleep(ctx, w.backoff)
	return true
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

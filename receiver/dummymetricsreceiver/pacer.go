// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"math"
	"time"
)

// forever is a wait that only the end of the run interrupts.
const forever = time.Duration(math.MaxInt64)

// pacer paces one worker against its share of the schedule: the worker may emit
// while it has emitted fewer samples than are due a rateQuantum from now. It also
// counts, per stage, the samples the schedule asked for and those the worker fell
// more than maxRateDebt behind on and gave up, so that a stall shows as a
// shortfall instead of a burst or a silent loss.
type pacer struct {
	sched  *schedule // the worker's share
	done   int64     // samples emitted or given up since the start
	budget int64     // the worker may emit while done < budget

	counted    int64 // samples due at the last count, rounded down
	countedSeg int   // the segment of the last count

	stageCounts
	finished bool // after_stages: stop has ended the schedule
}

// stageCounts are the samples a worker's schedule asked for and those it gave
// up, per stage, not yet reported; index len(stages) is the hold after them.
type stageCounts struct {
	scheduled, shortfall []int64
}

func newStageCounts(stages int) stageCounts {
	return stageCounts{scheduled: make([]int64, stages+1), shortfall: make([]int64, stages+1)}
}

// newPacer returns the pacer of a worker whose share of a schedule of stages
// stages is sched.
func newPacer(sched *schedule, stages int) *pacer {
	return &pacer{sched: sched, stageCounts: newStageCounts(stages)}
}

// next decides at now whether the worker may emit: it returns 0 when it may, up
// to budget, and otherwise how long to wait. On the way it counts what the
// schedule asked for until now and gives up what is more than maxRateDebt behind.
func (p *pacer) next(now time.Time) time.Duration {
	t := p.sched.elapsed(now)
	if t < 0 {
		return seconds(-t)
	}
	p.count(t)
	if p.sched.ended(t) {
		if !p.finished {
			p.giveUp(p.sched.due(t), p.sched.segments[len(p.sched.segments)-1].stage)
			p.finished = true
		}
		return forever
	}
	p.giveUp(p.sched.due(t-maxRateDebt.Seconds()), p.sched.segments[p.sched.segmentAt(t)].stage)
	p.budget = int64(math.Ceil(p.sched.due(t + rateQuantum.Seconds())))
	if p.done < p.budget {
		return 0
	}
	at, ok := p.sched.whenExceeds(float64(p.done))
	if !ok {
		return forever
	}
	// Never 0: rounding must not make the worker spin.
	return max(seconds(at-t), time.Millisecond)
}

// count adds the samples due until t to the stages they are due in.
func (p *pacer) count(t float64) {
	segments := p.sched.segments
	for p.countedSeg < len(segments)-1 && t >= segments[p.countedSeg].end {
		p.countUpTo(segments[p.countedSeg].after, segments[p.countedSeg].stage)
		p.countedSeg++
	}
	p.countUpTo(p.sched.due(t), segments[p.countedSeg].stage)
}

func (p *pacer) countUpTo(due float64, stage int) {
	if n := int64(due) - p.counted; n > 0 {
		p.scheduled[stage] += n
		p.counted += n
	}
}

// giveUp writes off what was due by `due` and is not done as a shortfall of stage.
func (p *pacer) giveUp(due float64, stage int) {
	if n := int64(due) - p.done; n > 0 {
		p.shortfall[stage] += n
		p.done += n
	}
}

// seconds converts seconds to a duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

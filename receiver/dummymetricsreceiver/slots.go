// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"math"
	"math/bits"
	"strconv"
)

// goldenStep is 2^64/φ. The fractional parts of r/φ for r = 0, 1, 2, ... spread
// any prefix of the sequence evenly over [0, 1): n points leave gaps of at most
// three sizes, the largest under φ²/n (the three-distance theorem). Slots are
// ranked in the order they become active, so the phases, and the moments of churn,
// of the active slots are spread evenly however many are active.
const goldenStep = 0x9E3779B97F4A7C15

// spread returns the r-th point of the sequence as a fraction of 2^64.
func spread(r uint64) uint64 { return r * goldenStep }

// ofSpan returns the fraction f (of 2^64) of span.
func ofSpan(f uint64, span int64) int64 {
	hi, _ := bits.Mul64(f, uint64(span))
	return int64(hi)
}

// slotRank is the place of local slot j of shard k among the receiver's slots in
// the order they become active: the shards take turns, so that the first A
// slots are each shard's first ⌊A/P⌋ or ⌈A/P⌉.
func slotRank(j, k, parallelism int) uint64 {
	return uint64(j)*uint64(parallelism) + uint64(k)
}

// activity turns the schedule's active series into active instances: as many as
// the series need, whole instances, no more than the slots.
type activity struct {
	sched       *schedule
	startMs     int64 // the schedule's start, rounded up to a millisecond
	instances   int
	series      int // per instance
	parallelism int
}

func newActivity(cfg *Config, sched *schedule) activity {
	return activity{
		sched:       sched,
		startMs:     ceilMillis(sched.start.UnixNano()),
		instances:   cfg.Instances,
		series:      cfg.Scrape.seriesPerInstance(),
		parallelism: cfg.Parallelism,
	}
}

// ceilMillis rounds nanoseconds up to milliseconds.
func ceilMillis(nanos int64) int64 {
	return (nanos + 999_999) / 1_000_000
}

// elapsed returns the seconds from the schedule's start to millis.
func (a *activity) elapsed(millis int64) float64 {
	return float64(millis-a.startMs) / 1000
}

// instancesFor returns the instances that active series take.
func (a *activity) instancesFor(series float64) int {
	// The epsilon keeps a whole number of instances' series from rounding up to
	// one more instance.
	n := math.Ceil(series/float64(a.series) - 1e-9)
	return int(min(max(n, 0), float64(a.instances)))
}

// instancesAt returns the active instances of the receiver at millis.
func (a *activity) instancesAt(millis int64) int {
	return a.instancesFor(a.sched.rateAt(a.elapsed(millis)))
}

// ofShard returns how many of active instances shard k has: its first
// ⌊active/P⌋ or ⌈active/P⌉ slots.
func (a *activity) ofShard(k, active int) int {
	n := active / a.parallelism
	if k < active%a.parallelism {
		n++
	}
	return n
}

// mostOfShard returns the most instances shard k ever has active.
func (a *activity) mostOfShard(k int) int {
	most := 0.0
	for _, seg := range a.sched.segments {
		most = max(most, seg.from)
		if !math.IsInf(seg.end, 1) {
			most = max(most, seg.rate(seg.end-seg.start))
		}
	}
	return a.ofShard(k, a.instancesFor(most))
}

// nextActive returns the first millisecond at or after from at which shard k
// has an active instance, or false when it never will again.
func (a *activity) nextActive(k int, from int64) (int64, bool) {
	// Shard k has one when the receiver has more than k: more than k instances' series.
	threshold := (float64(k) + 1e-9) * float64(a.series)
	t := max(a.elapsed(from), 0)
	s := a.sched
	for i := s.segmentAt(t); i < len(s.segments); i++ {
		seg := &s.segments[i]
		if s.stops && t >= s.length {
			return 0, false
		}
		t = max(t, seg.start)
		if seg.rate(t-seg.start) > threshold {
			return max(from, a.startMs+int64(math.Ceil(t*1000))), true
		}
		if seg.slope > 0 && !math.IsInf(seg.end, 1) && seg.rate(seg.end-seg.start) > threshold {
			crossing := seg.start + (threshold-seg.from)/seg.slope
			return max(from, a.startMs+int64(math.Ceil(crossing*1000))+1), true
		}
	}
	return 0, false
}

// slotTimes are the times of the slots of one shard, in milliseconds: when each
// slot is scraped and when its instance is replaced.
type slotTimes struct {
	startMs     int64 // the schedule's start
	intervalMs  int64
	churnMs     int64 // 0: no churn
	k           int   // the shard
	parallelism int
}

// phase returns the offset of slot's scrapes from the start of each interval.
func (t *slotTimes) phase(slot int32) int64 {
	return ofSpan(spread(slotRank(int(slot), t.k, t.parallelism)), t.intervalMs)
}

// scrapeAt returns the time of slot's scrape of cycle n.
func (t *slotTimes) scrapeAt(slot int32, n int64) int64 {
	return t.startMs + n*t.intervalMs + t.phase(slot)
}

// churnOffset is how far into its lifetime slot's first instance is at the start,
// so that the slots' replacements are spread evenly over a lifetime.
func (t *slotTimes) churnOffset(slot int32) int64 {
	return ofSpan(spread(slotRank(int(slot), t.k, t.parallelism)), t.churnMs)
}

// generation returns which instance slot holds at millis: 0 for the first one.
func (t *slotTimes) generation(slot int32, millis int64) int32 {
	if t.churnMs == 0 || millis < t.startMs {
		return 0
	}
	return int32((millis - t.startMs + t.churnOffset(slot)) / t.churnMs)
}

// generationStart returns when generation gen of slot began: the schedule's start
// for the first one.
func (t *slotTimes) generationStart(slot, gen int32) int64 {
	if gen == 0 {
		return t.startMs
	}
	return t.startMs + int64(gen)*t.churnMs - t.churnOffset(slot)
}

// scrapeNumber returns which scrape of its generation the slot's scrape of cycle
// n is, from 1: the slot's scrapes since the generation began.
func (t *slotTimes) scrapeNumber(slot, gen int32, n int64) int64 {
	first := int64(0) // the first cycle at or after the generation's start
	if since := t.generationStart(slot, gen) - t.startMs - t.phase(slot); since > 0 {
		first = (since + t.intervalMs - 1) / t.intervalMs
	}
	return n - first + 1
}

// generationID returns the InstanceId of generation gen of the instance with
// global index: I0000000007 for the first, I0000000007-3 for the fourth.
func generationID(buf []byte, index int64, gen int32) []byte {
	buf = appendInstanceID(buf, index)
	if gen > 0 {
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(gen), 10)
	}
	return buf
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"fmt"
	"math"
	"time"
)

// Stage is one step of a load test: Duration at Rate samples per second of the
// receiver, or, with RampTo, a linear ramp from Rate to RampTo over Duration.
// A rate of 0 is idle. In the scrape shape a stage gives ActiveSeries instead of
// Rate, and RampTo ramps the active series.
type Stage struct {
	Duration     time.Duration `mapstructure:"duration"`
	Rate         float64       `mapstructure:"rate"`
	ActiveSeries float64       `mapstructure:"active_series"`
	RampTo       *float64      `mapstructure:"ramp_to"`
}

// finalRate is the rate the stage ends at.
func (s Stage) finalRate() float64 {
	if s.RampTo != nil {
		return *s.RampTo
	}
	return s.Rate
}

// finalActiveSeries is the active series the stage ends at, in the scrape shape.
func (s Stage) finalActiveSeries() float64 {
	if s.RampTo != nil {
		return *s.RampTo
	}
	return s.ActiveSeries
}

// AfterStages is what the receiver does once the last stage is over.
type AfterStages string

const (
	// AfterStagesHold keeps the last stage's final rate, the default.
	AfterStagesHold AfterStages = "hold"
	// AfterStagesStop stops generating.
	AfterStagesStop AfterStages = "stop"
)

// validate accepts hold and stop; empty is the default, hold.
func (a AfterStages) validate() error {
	switch a {
	case "", AfterStagesHold, AfterStagesStop:
		return nil
	}
	return fmt.Errorf("after_stages (%q) must be %q or %q", string(a), AfterStagesHold, AfterStagesStop)
}

// maxAlignStart bounds align_start: aligning to more than a day is a mistake, and
// the receiver would sit idle that long.
const maxAlignStart = 24 * time.Hour

// A schedule is the rate the receiver is asked for over time, as segments in which
// the rate changes linearly; rate: R is one segment held forever. Times are seconds
// since the schedule's start, rates samples per second. The cumulative number of
// samples due, S(t), is piecewise quadratic; pacing against it, rather than against
// the current rate, makes the samples of a ramp exactly its integral.
type schedule struct {
	start    time.Time
	segments []segment
	stops    bool    // after_stages: stop; otherwise the last segment lasts forever
	length   float64 // the end of the last segment when it stops
}

// segment is a stretch of the schedule with a rate from `from` to `to`.
type segment struct {
	start, end    float64 // end is +Inf for a segment that lasts forever
	from, slope   float64 // rate at start, and its change per second
	before, after float64 // samples due at start and at end (+Inf when endless)
	stage         int     // index in stages; len(stages) for the hold after them
}

// rate returns the segment's rate tau seconds after its start.
func (s *segment) rate(tau float64) float64 { return s.from + s.slope*tau }

// dueAfter returns the samples due in the first tau seconds of the segment.
func (s *segment) dueAfter(tau float64) float64 {
	if tau <= 0 {
		return 0
	}
	return s.from*tau + s.slope*tau*tau/2
}

// timeFor returns how long after its start the segment has x samples due (x less
// than it holds in all): the root of from·τ + slope·τ²/2 = x, in a form that does
// not cancel when slope is small or negative.
func (s *segment) timeFor(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return 2 * x / (s.from + math.Sqrt(max(0, s.from*s.from+2*s.slope*x)))
}

// newSchedule returns the schedule of cfg for a receiver started at startedAt, or
// nil when pause paces the workers. In the scrape shape its "rate" is the active
// series, and without stages every slot is active for ever.
func newSchedule(cfg *Config, startedAt time.Time) *schedule {
	stages, held := cfg.Stages, cfg.Rate
	if cfg.Shape == ShapeScrape {
		held = cfg.maxActiveSeries()
		stages = make([]Stage, len(cfg.Stages))
		for i, st := range cfg.Stages {
			stages[i] = Stage{Duration: st.Duration, Rate: st.ActiveSeries, RampTo: st.RampTo}
		}
	}
	if len(stages) == 0 {
		if held <= 0 {
			return nil
		}
		stages = []Stage{{Duration: 0, Rate: held}} // held forever, as stage 0
	}
	s := &schedule{start: startedAt}
	if cfg.AlignStart > 0 {
		s.start = startedAt.Truncate(cfg.AlignStart)
		if s.start.Before(startedAt) {
			s.start = s.start.Add(cfg.AlignStart)
		}
	}
	t, due := 0.0, 0.0
	for i, st := range stages {
		length := st.Duration.Seconds()
		seg := segment{start: t, end: t + length, from: st.Rate, before: due, stage: i}
		if length > 0 {
			seg.slope = (st.finalRate() - st.Rate) / length
		}
		seg.after = due + seg.dueAfter(length)
		s.segments = append(s.segments, seg)
		t, due = seg.end, seg.after
	}
	switch {
	case len(cfg.Stages) == 0: // rate: stage 0 is the hold
		s.segments[0].end, s.segments[0].after = math.Inf(1), endless(held, 0)
	case cfg.AfterStages == AfterStagesStop:
		s.stops, s.length = true, t
	default:
		final := stages[len(stages)-1].finalRate()
		s.segments = append(s.segments, segment{
			start: t, end: math.Inf(1), from: final, before: due, after: endless(final, due), stage: len(stages),
		})
	}
	return s
}

// endless is what a segment that lasts forever at rate holds in the end.
func endless(rate, before float64) float64 {
	if rate > 0 {
		return math.Inf(1)
	}
	return before
}

// share returns the schedule of one of n workers, which share the rate evenly.
func (s *schedule) share(n int) *schedule {
	out := *s
	out.segments = make([]segment, len(s.segments))
	for i, seg := range s.segments {
		seg.from, seg.slope = seg.from/float64(n), seg.slope/float64(n)
		seg.before, seg.after = seg.before/float64(n), seg.after/float64(n)
		out.segments[i] = seg
	}
	return &out
}

// elapsed returns the seconds since the schedule's start at now; negative before.
func (s *schedule) elapsed(now time.Time) float64 { return now.Sub(s.start).Seconds() }

// segmentAt returns the index of the segment in force at t (the last one past the
// end, the first one before the start).
func (s *schedule) segmentAt(t float64) int {
	i := 0
	for i < len(s.segments)-1 && t >= s.segments[i+1].start {
		i++
	}
	return i
}

// ended tells whether the stages are over at t and nothing follows them.
func (s *schedule) ended(t float64) bool { return s.stops && t >= s.length }

// due returns S(t), the samples due from the start until t.
func (s *schedule) due(t float64) float64 {
	if t <= 0 {
		return 0
	}
	seg := &s.segments[s.segmentAt(t)]
	return seg.before + seg.dueAfter(min(t, seg.end)-seg.start)
}

// rateAt returns the scheduled rate at t: 0 before the start and once stopped.
func (s *schedule) rateAt(t float64) float64 {
	if t < 0 || s.ended(t) {
		return 0
	}
	seg := &s.segments[s.segmentAt(t)]
	return seg.rate(t - seg.start)
}

// stageAt returns the stage in force at t: -1 before the start, len(stages) after
// the last one.
func (s *schedule) stageAt(t float64) int {
	switch {
	case t < 0:
		return -1
	case s.ended(t):
		return s.segments[len(s.segments)-1].stage + 1
	}
	return s.segments[s.segmentAt(t)].stage
}

// whenExceeds returns the time after which more than n samples are due, or false
// when that never comes.
func (s *schedule) whenExceeds(n float64) (float64, bool) {
	for i := range s.segments {
		if seg := &s.segments[i]; seg.after > n {
			return seg.start + seg.timeFor(n-seg.before), true
		}
	}
	return 0, false
}

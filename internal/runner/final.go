// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Final is what a collector counted from its start to its stop, exactly, as its
// log reports once it has stopped: the receiver's report, and one line for every
// batch the exporter gave up. Every sample the receiver emitted is acknowledged,
// rejected by the backend, lost, or was still in the pipeline when the collector
// was killed (docs/counters.md).
type Final struct {
	Emitted, Accepted, Refused float64
	// Acknowledged = Accepted − Rejected − Unanswered − Dropped − Remaining. A
	// failed batch counts whole, so with failures it is a lower bound.
	Acknowledged float64
	Rejected     float64 // batches the backend answered with an error status
	Unanswered   float64 // batches whose requests got no answer
	Dropped      float64 // batches refused at the exporter's full queue
	// Remaining were accepted and neither acknowledged nor given up when the
	// collector had to be killed: in the last snapshot, accepted − sent − failed.
	Remaining float64
	Killed    bool
	// SeriesWritten are the distinct series with a sample accepted.
	SeriesWritten float64
	// StageAtStop is the stage in force when the receiver stopped.
	StageAtStop int
	// AcceptedByBlock splits Accepted by blocks of instances ("I0000000000-I0000000029").
	AcceptedByBlock map[string]float64
	// GivenUp are the exporter's lines of the batches given up, with their times;
	// their counts are data points, converted into samples above.
	GivenUp []LogEntry
	// Generated is what the receiver's start line says it generates.
	Generated Generated
}

// FinalCounts reads a stopped collector's log. last is the last snapshot taken
// before it stopped, which counts what a collector that was killed still held.
func FinalCounts(log Log, last Snapshot, killed bool) (Final, error) {
	reports := log.ReceiverReports()
	if len(reports) != 1 {
		return Final{}, fmt.Errorf("the receiver reported %d times at its stop, not once: no exact counts", len(reports))
	}
	r := reports[0]
	f := Final{
		Emitted: float64(r.Emitted), Accepted: float64(r.Accepted), Refused: float64(r.Refused),
		SeriesWritten: float64(r.SeriesWritten), StageAtStop: r.StageAtStop, AcceptedByBlock: r.AcceptedByBlock,
		Killed: killed, GivenUp: log.GivenUp(), Generated: Generated{SamplesPerPoint: 1},
	}
	if i := slices.IndexFunc(log, func(e LogEntry) bool { return e.FirstInstance != "" }); i >= 0 {
		g, err := log[i].Generated()
		if err != nil {
			return f, err
		}
		f.Generated = g
	}
	perPoint := f.Generated.SamplesPerPoint
	for _, e := range f.GivenUp {
		switch n := float64(e.Items()) * perPoint; {
		case e.QueueFull():
			f.Dropped += n
		case e.Answered():
			f.Rejected += n
		default:
			f.Unanswered += n
		}
	}
	if killed && last.Collector != nil {
		c := last.Collector
		f.Remaining = max(0, f.Accepted-c.Sum(MetricSent, nil)*perPoint-f.Rejected-f.Unanswered-f.Dropped)
	}
	f.Acknowledged = f.Accepted - f.Rejected - f.Unanswered - f.Dropped - f.Remaining
	if f.Acknowledged < 0 {
		return f, errors.New("the exporter gave up more samples than the receiver handed over: the log is not this run's")
	}
	return f, nil
}

// SumFinals adds up the counts of several collectors, whose ranges of
// instances follow each other.
func SumFinals(finals []Final) Final {
	if len(finals) == 1 {
		return finals[0]
	}
	var sum Final
	for i, f := range finals {
		sum.Emitted += f.Emitted
		sum.Accepted += f.Accepted
		sum.Refused += f.Refused
		sum.Acknowledged += f.Acknowledged
		sum.Rejected += f.Rejected
		sum.Unanswered += f.Unanswered
		sum.Dropped += f.Dropped
		sum.Remaining += f.Remaining
		sum.Killed = sum.Killed || f.Killed
		sum.SeriesWritten += f.SeriesWritten
		sum.StageAtStop = max(sum.StageAtStop, f.StageAtStop)
		sum.GivenUp = append(sum.GivenUp, f.GivenUp...)
		if sum.AcceptedByBlock == nil {
			sum.AcceptedByBlock = map[string]float64{}
		}
		for block, n := range f.AcceptedByBlock {
			sum.AcceptedByBlock[block] += n
		}
		if i == 0 {
			sum.Generated = f.Generated
		} else {
			sum.Generated.Instances += f.Generated.Instances
		}
	}
	slices.SortFunc(sum.GivenUp, func(a, b LogEntry) int { return a.Time.Compare(b.Time) })
	return sum
}

// Failed is what left the collector unacknowledged and may still have been
// stored in part: rejected, unanswered, or in the pipeline when it was killed.
func (f Final) Failed() float64 { return f.Rejected + f.Unanswered + f.Remaining }

// ReadBackPlan is the read-back of what the collector wrote from `from` to
// `to`, against these counts; acked is what the backend had acknowledged at each
// snapshot, to tell when samples went missing.
func (f Final) ReadBackPlan(from, to time.Time, acked []Acked, maxSamplesPerQuery, maxSeriesPerQuery float64) ReadBackPlan {
	g := f.Generated
	return ReadBackPlan{
		First: g.First, Instances: g.Instances, From: from, To: to, Names: g.Names, SeriesPerInstance: g.SeriesPerInstance,
		Sent: f.Acknowledged, Failed: f.Failed(), Dropped: f.Dropped, SeriesExpected: f.SeriesWritten, Expected: f.AcceptedByBlock,
		Acked: acked, MaxSamplesPerQuery: maxSamplesPerQuery, MaxSeriesPerQuery: maxSeriesPerQuery,
	}
}

// Outside is what the collector counted outside the windows of the stages
// judged: the samples of a stage that had begun when the test stopped, and what
// was rejected or lost between the windows and while the pipeline drained.
// Nothing of it counts in a stage, and a loss or a rejection there fails the
// verdict like a stage's.
type Outside struct {
	// After the span of the last stage judged, until the stop.
	EmittedAfter float64 `json:"emitted_after_samples"`
	AckedAfter   float64 `json:"acknowledged_after_samples"`
	// StageAtStop is the stage (from 1) in force when the generator stopped.
	StageAtStop int `json:"stage_at_stop"`
	// Outside every window, from the start to the stop.
	RejectedSamples float64 `json:"rejected_samples"`
	LostSamples     float64 `json:"lost_samples"`
	Remaining       float64 `json:"remaining_samples,omitempty"`
	Problem         string  `json:"problem,omitempty"`
}

// Outside is what f counted outside the windows of the first judged stages of
// p; last is the snapshot at the end of the last one's span.
func (f Final) Outside(p Plan, judged int, last Snapshot) Outside {
	c := last.Collector
	perPoint := f.Generated.SamplesPerPoint
	o := Outside{
		StageAtStop:  f.StageAtStop + 1,
		EmittedAfter: max(0, f.Emitted-c.Sum(MetricAccepted, nil)-c.Sum(MetricRefused, nil)),
		AckedAfter:   max(0, f.Acknowledged-c.Sum(MetricSent, nil)*perPoint),
		LostSamples:  max(0, f.Refused-c.Sum(MetricRefused, nil)) + f.Remaining,
		Remaining:    f.Remaining,
	}
	var when []time.Time
	for _, e := range f.GivenUp {
		if p.InWindows(e.Time, judged) {
			continue
		}
		if e.Answered() && !e.QueueFull() {
			o.RejectedSamples += float64(e.Items()) * perPoint
		} else {
			o.LostSamples += float64(e.Items()) * perPoint
		}
		when = append(when, e.Time)
	}
	if o.LostSamples+o.RejectedSamples > 0 {
		o.Problem = fmt.Sprintf("outside the stages' windows %s samples were lost and %s rejected by the backend", FormatCount(o.LostSamples), FormatCount(o.RejectedSamples))
		if o.Remaining > 0 {
			o.Problem += fmt.Sprintf(" (%s still in the pipeline when the collector was killed)", FormatCount(o.Remaining))
		}
		if len(when) > 0 {
			o.Problem += fmt.Sprintf(", from %s to %s", when[0].Format("15:04:05"), when[len(when)-1].Format("15:04:05"))
			if !when[0].Before(p.End()) {
				o.Problem += ", after the last stage"
			}
		}
	}
	return o
}

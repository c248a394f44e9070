// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plan is a load test as the runner measures it: the stages the receiver runs
// from Start, the windows they are measured over, and the settings that judge
// them. What the generator did is counted over the stage itself (Span); what
// the exporter did over the stage's window (Window): the stage less its first
// Lag, when the exporter still reports the previous stage's samples, and never
// past its end, when it reports the next one's. What happens between windows is
// judged for the whole run (Final.Outside).
type Plan struct {
	Stages   []Stage
	Start    time.Time
	Settings Settings
	SLO      SLO
	// Names name the collectors of a fleet (a pod's name), in their order.
	Names []string
	// Measured are the windows of the stages measured so far as their snapshots
	// were taken (at or after Window's times): the log's failures are split by
	// these, as the telemetry's counts are.
	Measured []Interval
}

// Interval is [From, To).
type Interval struct{ From, To time.Time }

// judgedWindow is stage i's window as measured, else as planned.
func (p Plan) judgedWindow(i int) (from, to time.Time) {
	if i < len(p.Measured) {
		return p.Measured[i].From, p.Measured[i].To
	}
	return p.Window(i)
}

// Lag is how long after a sample is generated the exporter reports it.
func (p Plan) Lag() time.Duration { return p.Settings.Lag() }

// Span is stage i's own time.
func (p Plan) Span(i int) (from, to time.Time) {
	from = p.Start
	for _, s := range p.Stages[:i] {
		from = from.Add(s.Duration)
	}
	return from, from.Add(p.Stages[i].Duration)
}

// Window is stage i's window: its span less the lag at its start, or, for a
// stage shorter than twice the lag, less its first half.
func (p Plan) Window(i int) (from, to time.Time) {
	from, to = p.Span(i)
	return from.Add(min(p.Lag(), p.Stages[i].Duration/2)), to
}

// End is when the last stage ends.
func (p Plan) End() time.Time {
	_, end := p.Span(len(p.Stages) - 1)
	return end
}

// Duration is the stages' length in all.
func (p Plan) Duration() time.Duration { return p.End().Sub(p.Start) }

// JudgedAt is when stage i is judged: a lag after its end, when the receiver has
// counted what it was due (a worker held up by the pipeline counts late) and the
// exporter has reported its last samples; that is when the next window starts.
func (p Plan) JudgedAt(i int) time.Time {
	if i+1 < len(p.Stages) {
		from, _ := p.Window(i + 1)
		return from
	}
	return p.End().Add(p.Lag())
}

// Measure is what stage i measured: the generator's counts over its span; the
// exporter's over its window, with the failed batches split by the collector's
// log; and what the stage was due and gave up, by its stage attribute, at
// JudgedAt (counts). Acknowledged is what the stage was due and did not give up,
// less what its window lost or had rejected: the exporter acknowledges whole
// batches a second apart at low rates, which a window would cut arbitrarily,
// and a generator held up at the stage's end emits its last samples in the next.
func (p Plan) Measure(i int, span, window Window, counts Snapshot, log Log) Measurement {
	m := Measure(window)
	// The exporter counts data points; a classic histogram's is its B + 3 samples.
	perPoint := p.Settings.perPoint()
	m.Sent, m.SendFailed, m.EnqueueFailed = m.Sent*perPoint, m.SendFailed*perPoint, m.EnqueueFailed*perPoint
	from, to := p.judgedWindow(i)
	m.AddFailures(log, from, to, perPoint)
	g := Measure(span)
	m.StageSeconds, m.Emitted, m.Refused, m.PrometheusCPU = g.Seconds, g.Emitted, g.Refused, g.PrometheusCPU
	m.HeldBackSeconds, m.CollectorCPU, m.PeakRSS = g.HeldBackSeconds, g.CollectorCPU, g.PeakRSS
	m.OtherCPU, m.OtherCPUMeasured = g.OtherCPU, g.OtherCPUMeasured
	attr := map[string]string{"stage": strconv.Itoa(i)}
	m.Scheduled = counts.Collector.Sum(MetricScheduled, attr)
	m.Shortfall = counts.Collector.Sum(MetricShortfall, attr)
	m.SeriesCreated = span.To.Collector.Sum(MetricSeriesWritten, nil) - span.From.Collector.Sum(MetricSeriesWritten, nil)
	m.Acknowledged = max(0, m.Scheduled-m.Shortfall-m.Refused-m.SendFailed-m.EnqueueFailed)
	return m
}

// Judge makes stage i's result from its measurement and the causes the log
// gives for the failed requests of its window. With several collectors, members
// are each collector's measurement (MeasureMembers): a stage the fleet fell
// short of because some collectors could not keep up names them.
func (p Plan) Judge(i int, m Measurement, log Log, members []Measurement) StageResult {
	from, to := p.judgedWindow(i)
	r := Judge(p.Stages[i], m, log.Causes(from, to), p.SLO, p.Settings)
	if len(members) < 2 {
		return r
	}
	share := p.Stages[i]
	share.From, share.To = share.From/float64(len(members)), share.To/float64(len(members))
	one := p.Settings
	one.Collectors = 1
	var behind, names []string
	for k, mm := range members {
		name := fmt.Sprintf("collector %d", k+1)
		if k < len(p.Names) {
			name = p.Names[k]
		}
		c := CollectorResult{
			Name: name, TargetSamplesPerSecond: share.Target(), SentSamplesPerSecond: mm.StageRate(mm.Acknowledged),
			ShortfallSamples: mm.Shortfall, RejectedSamples: mm.Rejected, LostSamples: mm.Lost(), Cores: mm.StageRate(mm.CollectorCPU), PeakRSS: mm.PeakRSS,
		}
		if GeneratorLimited(mm, p.SLO, 0) {
			c.CollectorLimit, c.Advice = CollectorLimit(mm, one)
			behind = append(behind, fmt.Sprintf("%s fell behind by %s samples (%s)", c.Name, FormatCount(mm.Shortfall), c.Advice))
			names = append(names, c.Name)
		}
		r.Collectors = append(r.Collectors, c)
	}
	if r.GeneratorLimited && len(behind) > 0 && len(behind) < len(members) {
		r.Reason = fmt.Sprintf("%d of %d collectors fell behind while the backend answered in time (p99 %s) and throttled nothing: %s",
			len(behind), len(members), seconds(m.Latency.P99), strings.Join(behind, "; "))
		r.Short = strings.Join(names, ", ") + " fell behind, not the backend"
	}
	return r
}

// MeasureMembers is Measure for each collector of a run of several: its share
// of the snapshots, and the lines of its log.
func (p Plan) MeasureMembers(i int, span, window Window, counts Snapshot, log Log) []Measurement {
	n := len(window.To.Members)
	if n < 2 {
		return nil
	}
	out := make([]Measurement, n)
	for k := range n {
		var own Log
		for _, e := range log {
			if e.Member == k {
				own = append(own, e)
			}
		}
		out[k] = p.Measure(i, Window{From: span.From.Of(k), To: span.To.Of(k)}, Window{From: window.From.Of(k), To: window.To.Of(k)}, counts.Of(k), own)
	}
	return out
}

// InWindows tells whether t falls in the window of one of the first n stages.
func (p Plan) InWindows(t time.Time, n int) bool {
	for i := range min(n, len(p.Stages)) {
		if from, to := p.judgedWindow(i); !t.Before(from) && t.Before(to) {
			return true
		}
	}
	return false
}

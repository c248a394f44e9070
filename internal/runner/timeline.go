// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"math"
	"slices"
	"time"
)

// Moment is what a run did around one snapshot, as rates per second over the few
// seconds before it: one point of the report's and the live page's charts.
type Moment struct {
	Seconds     float64            `json:"t"` // since the run's start
	At          time.Time          `json:"at"`
	Acked       float64            `json:"acked_total"` // the exporter's sent samples so far
	Target      float64            `json:"target"`
	Emitted     float64            `json:"emitted"`
	Sent        float64            `json:"sent"`
	Lost        float64            `json:"lost"`
	Shortfall   float64            `json:"shortfall"`
	Stored      float64            `json:"stored,omitempty"` // read back, when known
	Latency     Quantiles          `json:"latency"`
	Responses   map[string]float64 `json:"responses"`
	Cores       float64            `json:"cores"`
	RSSMiB      float64            `json:"rss_mib"`
	QueueLength float64            `json:"queue"`
}

// moment is the run around snaps[i], over the span before it from snaps[from]
// on; it returns the moment and where the span of the next one can start, which
// only moves forward (so that earlier snapshots can be let go).
func moment(snaps []Snapshot, from, i int, start time.Time, span time.Duration, perPoint float64) (Moment, int) {
	for from < i-1 && snaps[i].At.Sub(snaps[from+1].At) >= span {
		from++
	}
	m := Measure(Window{From: snaps[from], To: snaps[i]})
	// The exporter counts data points; the receiver, and so the charts, samples.
	m.Sent, m.SendFailed, m.EnqueueFailed = m.Sent*perPoint, m.SendFailed*perPoint, m.EnqueueFailed*perPoint
	responses := map[string]float64{}
	for code, n := range m.Responses {
		responses[code] = m.Rate(n)
	}
	return Moment{
		Seconds: snaps[i].At.Sub(start).Seconds(), At: snaps[i].At, Acked: snaps[i].Collector.Sum(MetricSent, nil) * perPoint,
		Target:  snaps[i].Collector.Sum(MetricTargetRate, nil),
		Emitted: m.Rate(m.Emitted), Sent: m.Rate(m.Sent), Lost: m.Rate(m.Lost()), Shortfall: m.Rate(m.Shortfall),
		Latency: m.Latency, Responses: responses, Cores: m.Rate(m.CollectorCPU),
		RSSMiB: float64(snaps[i].CollectorUsage.RSS) / (1 << 20), QueueLength: snaps[i].Collector.Sum(MetricQueueSize, nil),
	}, from
}

// Recorder keeps what a run's reports and live page need as the snapshots come:
// the chart points, halved whenever there are more than maxPoints so that a run
// of hours holds as many as a run of minutes, and only the snapshots the next
// point's span can still reach. A long run's memory stays flat.
type Recorder struct {
	perPoint  float64 // samples per data point of the exporter's counts
	start     time.Time
	span      time.Duration
	maxPoints int
	recent    []Snapshot
	spanFrom  int
	moments   []Moment
	last      Snapshot
}

// NewRecorder records a run that began at start, each point over span.
func NewRecorder(start time.Time, span time.Duration, maxPoints int) *Recorder {
	return &Recorder{start: start, span: span, maxPoints: max(maxPoints, 2), perPoint: 1}
}

// SetSamplesPerPoint converts the exporter's data points into samples from now
// on (Generated.SamplesPerPoint).
func (r *Recorder) SetSamplesPerPoint(perPoint float64) {
	if perPoint > 0 {
		r.perPoint = perPoint
	}
}

// Add takes a snapshot and returns the point it makes, if any (none for the first).
func (r *Recorder) Add(s Snapshot) *Moment {
	r.last = s
	r.recent = append(r.recent, s)
	if len(r.recent) < 2 {
		return nil
	}
	m, from := moment(r.recent, r.spanFrom, len(r.recent)-1, r.start, r.span, r.perPoint)
	r.recent, r.spanFrom = slices.Delete(r.recent, 0, from), 0
	r.moments = append(r.moments, m)
	if len(r.moments) > r.maxPoints {
		// Every other point, the newest kept: the charts keep their shape.
		kept := r.moments[:0]
		for i := len(r.moments) % 2; i < len(r.moments); i += 2 {
			kept = append(kept, r.moments[i])
		}
		r.moments = kept
	}
	return &r.moments[len(r.moments)-1]
}

// Restart sets the start the points count their seconds from.
func (r *Recorder) Restart(start time.Time) {
	for i := range r.moments {
		r.moments[i].Seconds += r.start.Sub(start).Seconds()
	}
	r.start = start
}

// Moments are the points so far.
func (r *Recorder) Moments() []Moment { return slices.Clone(r.moments) }

// Last is the last snapshot added.
func (r *Recorder) Last() Snapshot { return r.last }

// Acked is what the backend had acknowledged in all at each point, for the
// read-back to tell when samples went missing.
func (r *Recorder) Acked() []Acked {
	out := make([]Acked, len(r.moments))
	for i, m := range r.moments {
		out[i] = Acked{At: m.At, Samples: m.Acked}
	}
	return out
}

// TimelineCharts draws a run's moments: the rates, the write latency, and the
// answers by status.
func TimelineCharts(moments []Moment) []Chart {
	line := func(label string, v func(Moment) float64) Line {
		l := Line{Label: label}
		for _, m := range moments {
			l.X, l.Y = append(l.X, m.Seconds), append(l.Y, v(m))
		}
		return l
	}
	rates := Chart{Title: "samples per second", XLabel: "seconds", YLabel: "samples/s", Lines: []Line{
		line("target", func(m Moment) float64 { return m.Target }),
		line("acknowledged", func(m Moment) float64 { return m.Sent }),
		line("emitted", func(m Moment) float64 { return m.Emitted }),
		line("lost", func(m Moment) float64 { return m.Lost }),
	}}
	if slices.ContainsFunc(moments, func(m Moment) bool { return m.Stored > 0 && !math.IsNaN(m.Stored) }) {
		rates.Lines = append(rates.Lines, line("stored (read back)", func(m Moment) float64 { return m.Stored }))
	}
	rates.Lines[0].Dashed = true
	latency := Chart{Title: "write latency", XLabel: "seconds", YLabel: "ms", Lines: []Line{
		line("p50", func(m Moment) float64 { return m.Latency.P50 * 1e3 }),
		line("p90", func(m Moment) float64 { return m.Latency.P90 * 1e3 }),
		line("p99", func(m Moment) float64 { return m.Latency.P99 * 1e3 }),
	}}
	responses := Chart{Title: "write answers", XLabel: "seconds", YLabel: "requests/s"}
	var codes []string
	for _, m := range moments {
		for code := range m.Responses {
			if !slices.Contains(codes, code) {
				codes = append(codes, code)
			}
		}
	}
	slices.Sort(codes)
	for _, code := range codes {
		responses.Lines = append(responses.Lines, line(code, func(m Moment) float64 { return m.Responses[code] }))
	}
	return []Chart{rates, latency, responses}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// ReadBack is what the backend's query API says the run stored, against what it
// acknowledged.
type ReadBack struct {
	// SentSamples were acknowledged by the backend (2xx); StoredSamples are what
	// its query API counts for the run's series in the run's window.
	SentSamples    float64 `json:"sent_samples"`
	StoredSamples  float64 `json:"stored_samples"`
	MissingSamples float64 `json:"missing_samples"`
	// Exact: no request failed, so the comparison is to the sample. Otherwise the
	// exporter counted whole batches as failed although some of their requests
	// were stored: stored must lie in [sent, sent + FailedSamples].
	Exact         bool    `json:"exact"`
	FailedSamples float64 `json:"failed_samples"`
	// SeriesExpected were written by the run; SeriesFound hold samples.
	SeriesExpected float64 `json:"series_expected"`
	SeriesFound    float64 `json:"series_found"`
	// DroppedSamples never left the collector (a full queue): a series whose
	// samples were all dropped was never written, so SeriesExpected is a bound.
	DroppedSamples float64    `json:"dropped_samples,omitempty"`
	Freshness      *Quantiles `json:"freshness_seconds,omitempty"`
	// SamplesRead is what the read-back's queries read (managed backends charge
	// queries by samples processed), in Queries queries.
	SamplesRead float64 `json:"samples_read"`
	Queries     int     `json:"queries"`
	// Where samples are missing: the instance blocks and 10-second windows that
	// lost most, a few of each.
	MissingByInstances []Gap `json:"missing_by_instances,omitempty"`
	MissingByTime      []Gap `json:"missing_by_time,omitempty"`
	// Problem says why the read-back fails the verdict, if it does.
	Problem string `json:"problem,omitempty"`
}

// Acked is what the backend had acknowledged in all at a time.
type Acked struct {
	At      time.Time
	Samples float64
}

// Gap is where samples went missing.
type Gap struct {
	Where    string  `json:"where"`
	Expected float64 `json:"expected"`
	Stored   float64 `json:"stored"`
}

// ReadBackPlan is what the read-back compares, and where.
type ReadBackPlan struct {
	// The run's instances [First, First+Instances) and its time window.
	First, Instances int64
	From, To         time.Time
	// Names are the metric names the run's series are stored under (StoredNames);
	// empty means the seed shape's CPU and Memory. SeriesPerInstance is how many
	// series an instance has (2 in the seed shape).
	Names             []string
	SeriesPerInstance int
	// Sent and Failed are the exporter's counts in samples; Expected the samples
	// the receiver handed over, by instance block ("I0000000000-I0000000029").
	Sent, Failed, SeriesExpected float64
	// Dropped is what the exporter dropped at its full queue, in samples.
	Dropped  float64
	Expected map[string]float64
	// Acked is what the backend had acknowledged in all at each snapshot, to find
	// when samples went missing.
	Acked []Acked
	// MaxSamplesPerQuery keeps each query under the backend's limit of samples
	// a query may load (Prometheus's --query.max-samples is 50 million, AMP's 12 to
	// 50 million); MaxSeriesPerQuery keeps each answer to that many series.
	MaxSamplesPerQuery, MaxSeriesPerQuery float64
}

// names are the plan's stored names.
func (p ReadBackPlan) names() []string {
	if len(p.Names) == 0 {
		return seedNames
	}
	return p.Names
}

// blockSize is how many instances one query covers: an aligned power of ten,
// under the limits of samples and series a query may read, and at most 10,000.
func (p ReadBackPlan) blockSize() int64 {
	perInstance := float64(max(p.SeriesPerInstance, 2))
	samplesPerSeries := 0.0
	if p.SeriesExpected > 0 {
		samplesPerSeries = (p.Sent + p.Failed) / p.SeriesExpected
	}
	// A name holds at most all of an instance's series (a histogram's buckets),
	// and churn makes several generations of an instance.
	generations := max(1, p.SeriesExpected/(perInstance*float64(max(p.Instances, 1))))
	maxSeries := p.MaxSeriesPerQuery
	if maxSeries <= 0 {
		maxSeries = 1e6
	}
	size := int64(1)
	for size < 1e9 && size*10 <= 10000 {
		series := float64(size*10) * perInstance * generations / float64(len(p.names()))
		if series*samplesPerSeries > p.MaxSamplesPerQuery || series > maxSeries {
			break
		}
		size *= 10
	}
	return size
}

// Queries is how many queries the read-back's counting takes.
func (p ReadBackPlan) Queries() int {
	size := p.blockSize()
	blocks := (p.First+p.Instances-1)/size - p.First/size + 1
	return int(blocks) * len(p.names())
}

// seedNames are the seed shape's metrics.
var seedNames = []string{"CPU", "Memory"}

// countOverTime is PromQL for the samples of one metric of the instances that
// pattern matches, per series, in the window before the evaluation time. One
// metric at a time: count_over_time drops the name, and CPU and Memory of an
// instance would collide.
func countOverTime(metric, pattern string, window time.Duration) string {
	return fmt.Sprintf("count_over_time(%s{InstanceId=~%q}[%dms])", metric, pattern, window.Milliseconds())
}

// StoredIn is PromQL for the number of the run's samples stored in the window
// before the evaluation time, over the metrics named (none: the seed's).
func StoredIn(names []string, first, n int64, window time.Duration) string {
	if len(names) == 0 {
		names = seedNames
	}
	parts := make([]string, len(names))
	for i, m := range names {
		parts[i] = fmt.Sprintf("(sum(%s) or vector(0))", countOverTime(m, idRangePattern(first, n), window))
	}
	return strings.Join(parts, " + ")
}

// ReadBack counts what the backend stored of the run, series group by series
// group: the range boundaries of a query differ between Prometheus 2 (closed) and
// 3 (left-open), so the work is split by series, each query covering the whole
// window with a margin on both sides, and never by time.
func (q *Querier) ReadBack(ctx context.Context, p ReadBackPlan) (*ReadBack, error) {
	rb := &ReadBack{SentSamples: p.Sent, FailedSamples: p.Failed, Exact: p.Failed == 0, SeriesExpected: p.SeriesExpected, DroppedSamples: p.Dropped}
	at := p.To.Add(2 * time.Second) // the newest samples run up to a second ahead of the clock
	window := at.Sub(p.From)
	size := p.blockSize()
	stored := map[int64]float64{}
	for block := p.First / size * size; block < p.First+p.Instances; block += size {
		for _, metric := range p.names() {
			vec, err := q.Vector(ctx, countOverTime(metric, idPattern(block, size), window), at)
			if err != nil {
				return rb, err
			}
			rb.Queries++
			q.countStored(vec, p, rb, stored)
		}
	}
	rb.MissingSamples = math.Max(0, rb.SentSamples-rb.StoredSamples)

	switch {
	case rb.StoredSamples > rb.SentSamples+rb.FailedSamples:
		rb.Problem = fmt.Sprintf("stored %s samples, more than the %s acknowledged and the %s that failed: another writer wrote the run's series, or samples were stored twice",
			FormatCount(rb.StoredSamples), FormatCount(rb.SentSamples), FormatCount(rb.FailedSamples))
	case rb.MissingSamples > 0:
		rb.Problem = FormatCount(rb.MissingSamples) + " acknowledged samples are missing"
	case rb.Exact && rb.DroppedSamples == 0 && rb.SeriesFound < rb.SeriesExpected:
		rb.Problem = fmt.Sprintf("%s of the %s series written are missing", FormatCount(rb.SeriesExpected-rb.SeriesFound), FormatCount(rb.SeriesExpected))
	}
	// The blocks' expected counts are what the receiver handed over: only without
	// failed or dropped batches is that what the backend acknowledged.
	if rb.MissingSamples > 0 && rb.Exact && rb.DroppedSamples == 0 {
		rb.MissingByInstances = missingByBlock(p.Expected, stored)
	}
	if rb.MissingSamples > 0 {
		if err := q.missingByTime(ctx, p, rb); err != nil {
			return rb, err
		}
	}
	return rb, nil
}

// countStored adds up the per-series counts of a read-back query.
func (q *Querier) countStored(vec model.Vector, p ReadBackPlan, rb *ReadBack, stored map[int64]float64) {
	for _, s := range vec {
		rb.SamplesRead += float64(s.Value)
		slot, _, _ := strings.Cut(string(s.Metric["InstanceId"]), "-") // a churned generation: I0000000007-3
		id, err := strconv.ParseInt(strings.TrimPrefix(slot, "I"), 10, 64)
		if err != nil || id < p.First || id >= p.First+p.Instances {
			continue
		}
		rb.SeriesFound++
		rb.StoredSamples += float64(s.Value)
		stored[id] += float64(s.Value)
	}
}

// idPattern matches the InstanceIds of the aligned block [first, first+size),
// and their churned generations (I0000000007-3).
func idPattern(first, size int64) string { return idBlock(first, size) + generationSuffix }

// idBlock matches the slots' own InstanceIds of the aligned block.
func idBlock(first, size int64) string {
	digits := len(strconv.FormatInt(size, 10)) - 1
	id := fmt.Sprintf("I%010d", first)
	if digits == 0 {
		return id
	}
	return fmt.Sprintf(`%s\d{%d}`, id[:11-digits], digits)
}

// generationSuffix matches the generation of a churned InstanceId, or nothing.
const generationSuffix = `(-\d+)?`

// missingByBlock compares what the receiver handed over with what is stored, by
// its blocks of instances, and keeps the few that lost most.
func missingByBlock(expected map[string]float64, stored map[int64]float64) []Gap {
	var gaps []Gap
	for block, want := range expected {
		first, last, ok := strings.Cut(block, "-")
		lo, err1 := strconv.ParseInt(strings.TrimPrefix(first, "I"), 10, 64)
		hi, err2 := strconv.ParseInt(strings.TrimPrefix(last, "I"), 10, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		got := 0.0
		for id, n := range stored {
			if id >= lo && id <= hi {
				got += n
			}
		}
		if got < want {
			gaps = append(gaps, Gap{Where: "instances " + block, Expected: want, Stored: got})
		}
	}
	return worst(gaps)
}

// missingByTime finds when acknowledged samples went missing. A sample acknowledged
// by t has a timestamp before t+1s (the generator runs at most a second ahead), so
// what was acknowledged by t less what is stored up to t+1s is a lower bound on
// what was lost by t, whatever the delay between a sample's timestamp and its
// acknowledgement. Named are the 10-second windows where that bound grew most.
func (q *Querier) missingByTime(ctx context.Context, p ReadBackPlan, rb *ReadBack) error {
	const step, lead = 10 * time.Second, time.Second
	v, _, _, err := q.api.QueryRange(ctx, StoredIn(p.Names, p.First, p.Instances, step), promv1Range(p.From.Add(step), p.To.Add(step+lead), step))
	if err != nil {
		return fmt.Errorf("query range of what was stored when: %w", describe(err))
	}
	rb.Queries++
	m, ok := v.(model.Matrix)
	if !ok || len(m) == 0 {
		return nil
	}
	ackedBy := func(t time.Time) float64 {
		n := 0.0
		for _, a := range p.Acked {
			if !a.At.After(t) {
				n = a.Samples
			}
		}
		return n
	}
	type growth struct {
		gap  Gap
		at   time.Time
		more float64
	}
	var grew []growth
	stored, bound, ackedBefore := 0.0, 0.0, 0.0
	for _, point := range m[0].Values {
		end := point.Timestamp.Time()
		stored += float64(point.Value)
		rb.SamplesRead += float64(point.Value)
		acked := ackedBy(end.Add(-lead))
		if missing := acked - stored; missing > bound {
			if more := missing - bound; more > 0.01*(acked-ackedBefore) {
				grew = append(grew, growth{Gap{Where: "by " + end.Format("15:04:05"), Expected: acked, Stored: stored}, end, more})
			}
			bound = missing
		}
		ackedBefore = acked
	}
	slices.SortStableFunc(grew, func(a, b growth) int { return cmp.Compare(b.more, a.more) })
	grew = grew[:min(len(grew), 3)]
	slices.SortFunc(grew, func(a, b growth) int { return a.at.Compare(b.at) })
	rb.MissingByTime = nil
	for _, g := range grew {
		rb.MissingByTime = append(rb.MissingByTime, g.gap)
	}
	return nil
}

// worst keeps the three gaps that lost most.
func worst(gaps []Gap) []Gap {
	slices.SortFunc(gaps, func(a, b Gap) int {
		return cmp.Or(cmp.Compare(b.Expected-b.Stored, a.Expected-a.Stored), strings.Compare(a.Where, b.Where))
	})
	return gaps[:min(len(gaps), 3)]
}

// idRangePattern matches the InstanceIds of [first, first+n) exactly, their
// churned generations included: the fewest aligned decimal blocks that cover
// it, as alternatives.
func idRangePattern(first, n int64) string {
	var parts []string
	for end := first + n; first < end; {
		size := int64(1)
		for size < 1e10 && first%(size*10) == 0 && first+size*10 <= end {
			size *= 10
		}
		parts = append(parts, idBlock(first, size))
		first += size
	}
	if len(parts) == 1 {
		return parts[0] + generationSuffix
	}
	return "(" + strings.Join(parts, "|") + ")" + generationSuffix
}

// CheckNoOtherWriter refuses to start a run whose series another writer is
// writing: the read-back would count its samples as the run's. It asks which
// metrics hold the run's InstanceIds, then whether any got samples in the last
// 15 seconds, one metric at a time (count_over_time drops the names, which would
// make two metrics of an instance collide).
func (q *Querier) CheckNoOtherWriter(ctx context.Context, first, n int64) error {
	at := time.Now().Add(2 * time.Second)
	names, err := q.Vector(ctx, fmt.Sprintf("count by (__name__) (%s)", RunSelector(first, n)), at)
	if err != nil {
		return err
	}
	for _, name := range names {
		metric := string(name.Metric[model.MetricNameLabel])
		series, err := q.Scalar(ctx, fmt.Sprintf(`count(%s)`, countOverTime(metric, idRangePattern(first, n), 15*time.Second)), at)
		if err != nil {
			return err
		}
		if series > 0 {
			return fmt.Errorf("%.0f of the run's series (%s of I%010d to I%010d) got samples in the last 15 seconds: another writer is writing them, "+
				"or a run just ended; its samples would be counted as this run's. Wait a little, or write other instances (-instance-offset)", series, metric, first, first+n-1)
		}
	}
	return nil
}

// Summary is the read-back in a sentence.
func (rb *ReadBack) Summary() string {
	s := fmt.Sprintf("stored %s of %s samples acknowledged, %s of %s series written", FormatCount(rb.StoredSamples), FormatCount(rb.SentSamples),
		FormatCount(rb.SeriesFound), FormatCount(rb.SeriesExpected))
	if !rb.Exact {
		s = fmt.Sprintf("stored %s samples, at least the %s acknowledged and at most %s more (batches the backend rejected or did not answer count whole, "+
			"though some of their requests may be stored); found %s series, at most the %s handed to the pipeline",
			FormatCount(rb.StoredSamples), FormatCount(rb.SentSamples), FormatCount(rb.FailedSamples), FormatCount(rb.SeriesFound), FormatCount(rb.SeriesExpected))
	}
	if rb.Exact && rb.DroppedSamples > 0 {
		s = fmt.Sprintf("stored %s of %s samples acknowledged, %s series of at most %s (%s samples were dropped at the collector's full queue, never sent)",
			FormatCount(rb.StoredSamples), FormatCount(rb.SentSamples), FormatCount(rb.SeriesFound), FormatCount(rb.SeriesExpected), FormatCount(rb.DroppedSamples))
	}
	if rb.Freshness != nil {
		s += fmt.Sprintf("; queryable after %s p50, %s p99", seconds(rb.Freshness.P50), seconds(rb.Freshness.P99))
	}
	s += fmt.Sprintf("; the read-back read %s samples in %d queries", FormatCount(rb.SamplesRead), rb.Queries)
	if rb.Problem == "" {
		return s
	}
	var b strings.Builder
	b.WriteString(s + ". FAILED: " + rb.Problem)
	for _, g := range append(rb.MissingByInstances, rb.MissingByTime...) {
		fmt.Fprintf(&b, "; %s: %s of %s stored", g.Where, FormatCount(g.Stored), FormatCount(g.Expected))
	}
	return b.String()
}

// RunSelector selects the run's series: every metric of its instances, their
// churned generations included.
func RunSelector(first, n int64) string {
	return fmt.Sprintf(`{InstanceId=~%q}`, idRangePattern(first, n))
}

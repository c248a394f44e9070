// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// stagedScrape is a scrape of one instance generation, or the staleness markers
// that end its series, waiting in a payload.
type stagedScrape struct {
	atMs    int64  // the scrape's time: every sample's timestamp
	startMs int64  // the generation's start: the counters' and histograms' start
	index   int64  // global index of the instance's slot
	number  int64  // which scrape of its generation, from 1; 0 for staleness markers
	hash    uint64 // scrapeHash of the scrape
	gen     int32
}

func (s *stagedScrape) stale() bool { return s.number == 0 }

var staleFlags = pmetric.DefaultDataPointFlags.WithNoRecordedValue(true)

// scrapePayload gathers scrapes until the worker hands them to the pipeline, then
// turns them into one pmetric.Metrics: one resource without attributes, each
// metric once with a point per scrape, each point with InstanceId and the target
// labels as attributes, as a Prometheus server's remote write carries them.
type scrapePayload struct {
	metrics     []scrapeMetric
	labelNames  []string
	labelLength int
	bounds      []float64 // of the classic histogram

	scrapes          []stagedScrape
	samples, markers int
	series           int // samples of one scrape

	// Scratch space, kept from one payload to the next.
	text   []byte
	attrs  []pcommon.Map // per scrape: InstanceId and the target labels, to copy to its points
	counts []uint64
}

func newScrapePayload(sc *ScrapeConfig) *scrapePayload {
	return &scrapePayload{
		metrics:     scrapeMetrics(sc),
		labelNames:  labelNames(sc.Labels),
		labelLength: sc.LabelLength,
		bounds:      histogramBounds(sc.HistogramBuckets),
		series:      sc.seriesPerInstance(),
	}
}

// add stages a scrape, or its staleness markers when s.stale().
func (p *scrapePayload) add(s stagedScrape) {
	p.scrapes = append(p.scrapes, s)
	if s.stale() {
		p.markers += p.series
	} else {
		p.samples += p.series
	}
}

// staged returns the samples and markers staged.
func (p *scrapePayload) staged() int { return p.samples + p.markers }

// oldestMs is the time of the first scrape staged; 0 when none is.
func (p *scrapePayload) oldestMs() int64 {
	if len(p.scrapes) == 0 {
		return 0
	}
	return p.scrapes[0].atMs
}

// take builds the pmetric.Metrics of the staged scrapes, hands it over with its
// samples and staleness markers, and empties the payload. Each metric's points are
// appended in a row, which keeps its slice hot in the cache.
func (p *scrapePayload) take() (md pmetric.Metrics, samples, markers int) {
	md = pmetric.NewMetrics()
	metrics := newScopeMetrics(md.ResourceMetrics().AppendEmpty())
	metrics.EnsureCapacity(len(p.metrics))
	p.buildAttributes()
	for d := range p.metrics {
		m := &p.metrics[d]
		metric := metrics.AppendEmpty()
		metric.SetName(m.name)
		metric.SetDescription(m.description)
		switch m.kind {
		case kindGauge:
			p.appendGauge(metric.SetEmptyGauge().DataPoints(), d)
		case kindCounter:
			sum := metric.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			p.appendCounter(sum.DataPoints(), d, m.number)
		case kindHistogram:
			h := metric.SetEmptyHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			p.appendHistogram(h.DataPoints(), d)
		case kindNativeHistogram:
			h := metric.SetEmptyExponentialHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			p.appendNativeHistogram(h.DataPoints(), d)
		}
	}
	samples, markers = p.samples, p.markers
	for i := range p.scrapes {
		setAttributes(p.attrs[i], "", 0, 0) // let the values' text go with the payload
	}
	p.scrapes, p.samples, p.markers = p.scrapes[:0], 0, 0
	return md, samples, markers
}

// buildAttributes sets the attributes of each scrape once, to be copied to its
// points: copying does not look up every key as adding does, the values' text is
// made once per scrape, in one allocation, and the maps are reused from one
// payload to the next.
func (p *scrapePayload) buildAttributes() {
	for len(p.attrs) < len(p.scrapes) {
		attrs := pcommon.NewMap()
		attrs.EnsureCapacity(1 + len(p.labelNames))
		attrs.PutStr(instanceIDKey, "")
		for _, name := range p.labelNames {
			attrs.PutStr(name, "")
		}
		p.attrs = append(p.attrs, attrs)
	}
	for i := range p.scrapes {
		s := &p.scrapes[i]
		p.text = generationID(p.text[:0], s.index, s.gen)
		idLength := len(p.text)
		p.text = appendLabelValues(p.text, s.index, s.gen, len(p.labelNames), p.labelLength)
		setAttributes(p.attrs[i], string(p.text), idLength, p.labelLength)
	}
}

// setAttributes sets the values of attrs, InstanceId and the target labels in
// order, from text: the InstanceId in its first idLength bytes, then labelLength
// bytes per label.
func setAttributes(attrs pcommon.Map, text string, idLength, labelLength int) {
	from := 0
	for j, v := range attrs.All() {
		to := from + labelLength
		if j == instanceIDKey {
			to = idLength
		}
		v.SetStr(text[from:to])
		from = to
	}
}

func (p *scrapePayload) appendGauge(points pmetric.NumberDataPointSlice, d int) {
	points.EnsureCapacity(len(p.scrapes))
	for i := range p.scrapes {
		s := &p.scrapes[i]
		dp := points.AppendEmpty()
		p.attrs[i].CopyTo(dp.Attributes())
		dp.SetTimestamp(millisToTimestamp(s.atMs))
		if s.stale() {
			dp.SetFlags(staleFlags)
			continue
		}
		dp.SetDoubleValue(uniformFloat64(seriesHash(s.hash, d)))
	}
}

func (p *scrapePayload) appendCounter(points pmetric.NumberDataPointSlice, d, number int) {
	points.EnsureCapacity(len(p.scrapes))
	for i := range p.scrapes {
		s := &p.scrapes[i]
		dp := points.AppendEmpty()
		p.attrs[i].CopyTo(dp.Attributes())
		dp.SetStartTimestamp(millisToTimestamp(s.startMs))
		dp.SetTimestamp(millisToTimestamp(s.atMs))
		if s.stale() {
			dp.SetFlags(staleFlags)
			continue
		}
		dp.SetDoubleValue(counterValue(number, s.number, seriesHash(s.hash, d)))
	}
}

// appendHistogram appends classic histogram points: each bucket's own count grows
// by 3 to 5 per scrape (4 on average), so the cumulative counts grow along le and over time. A
// stale point keeps the bounds, a sum and a count for every bucket, so that the
// exporter ends every one of its series.
func (p *scrapePayload) appendHistogram(points pmetric.HistogramDataPointSlice, d int) {
	points.EnsureCapacity(len(p.scrapes))
	buckets := len(p.bounds) + 1
	for i := range p.scrapes {
		s := &p.scrapes[i]
		dp := points.AppendEmpty()
		p.attrs[i].CopyTo(dp.Attributes())
		dp.SetStartTimestamp(millisToTimestamp(s.startMs))
		dp.SetTimestamp(millisToTimestamp(s.atMs))
		dp.ExplicitBounds().FromRaw(p.bounds)
		p.counts = p.counts[:0]
		if s.stale() {
			dp.SetFlags(staleFlags)
			for range buckets {
				p.counts = append(p.counts, 0)
			}
			dp.BucketCounts().FromRaw(p.counts)
			dp.SetSum(0)
			continue
		}
		var h uint64
		var count uint64
		sum := 0.0
		for b := range buckets {
			if b%64 == 0 {
				h = seriesHash(s.hash, d+b/64*len(p.metrics))
			}
			n := bucketCount(s.number, h, b)
			p.counts = append(p.counts, n)
			count += n
			// An observation of a bucket is taken at its bound; the +Inf bucket's at twice the last.
			sum += float64(n) * p.bounds[min(b, len(p.bounds)-1)] * float64(1+b/len(p.bounds))
		}
		dp.BucketCounts().FromRaw(p.counts)
		dp.SetCount(count)
		dp.SetSum(sum)
	}
}

// appendNativeHistogram appends exponential histogram points at scale 0: eight
// positive buckets (1, 2], (2, 4], ... whose counts grow by 3 to 5 per scrape.
func (p *scrapePayload) appendNativeHistogram(points pmetric.ExponentialHistogramDataPointSlice, d int) {
	points.EnsureCapacity(len(p.scrapes))
	for i := range p.scrapes {
		s := &p.scrapes[i]
		dp := points.AppendEmpty()
		p.attrs[i].CopyTo(dp.Attributes())
		dp.SetStartTimestamp(millisToTimestamp(s.startMs))
		dp.SetTimestamp(millisToTimestamp(s.atMs))
		if s.stale() {
			dp.SetFlags(staleFlags)
			continue
		}
		h := seriesHash(s.hash, d)
		p.counts = p.counts[:0]
		var count uint64
		sum := 0.0
		for b := range nativeBuckets {
			n := bucketCount(s.number, h, b)
			p.counts = append(p.counts, n)
			count += n
			sum += float64(n) * float64(uint64(3)<<b) / 2 // the middle of (2^b, 2^(b+1)]
		}
		dp.SetScale(0)
		dp.Positive().SetOffset(0)
		dp.Positive().BucketCounts().FromRaw(p.counts)
		dp.SetCount(count)
		dp.SetSum(sum)
	}
}

// millisToTimestamp converts Unix milliseconds to a pdata timestamp.
func millisToTimestamp(millis int64) pcommon.Timestamp {
	return pcommon.Timestamp(millis * 1_000_000)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one scrape of a Prometheus text endpoint,
// such as the collector's telemetry or Prometheus's own /metrics, by name.
type Metrics map[string]*dto.MetricFamily

// Scrape reads the metrics at url.
func Scrape(ctx context.Context, url string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	families, err := ParseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return families, nil
}

// ParseMetrics parses the Prometheus text format.
func ParseMetrics(r io.Reader) (Metrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}

// Sum adds up the named counter, gauge or untyped metric over the series whose
// labels include all of match. A counter is found with or without its _total
// suffix. An absent metric sums to 0: counters appear when first incremented.
func (m Metrics) Sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, metric := range m.series(name, match) {
		total += metric.GetCounter().GetValue() + metric.GetGauge().GetValue() + metric.GetUntyped().GetValue()
	}
	return total
}

// By sums the named metric over the series matching match, by the value of label.
func (m Metrics) By(name, label string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, metric := range m.series(name, match) {
		for _, l := range metric.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += metric.GetCounter().GetValue() + metric.GetGauge().GetValue() + metric.GetUntyped().GetValue()
			}
		}
	}
	return out
}

// CountBy counts the observations of the named histogram by the value of the
// first of labels that a series has.
func (m Metrics) CountBy(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, metric := range m.series(name, nil) {
		for _, want := range labels {
			if i := slices.IndexFunc(metric.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == want }); i >= 0 {
				out[metric.GetLabel()[i].GetValue()] += float64(metric.GetHistogram().GetSampleCount())
				break
			}
		}
	}
	return out
}

// Has reports whether the named metric was exposed.
func (m Metrics) Has(name string) bool { return m.family(name) != nil }

// Histogram merges the buckets of the named histogram over the series matching match.
func (m Metrics) Histogram(name string, match map[string]string) Histogram {
	var h Histogram
	for _, metric := range m.series(name, match) {
		hist := metric.GetHistogram()
		if hist == nil {
			continue
		}
		h.Count += float64(hist.GetSampleCount())
		h.Sum += hist.GetSampleSum()
		for _, b := range hist.GetBucket() {
			i, found := slices.BinarySearch(h.Bounds, b.GetUpperBound())
			if !found {
				h.Bounds = slices.Insert(h.Bounds, i, b.GetUpperBound())
				h.Counts = slices.Insert(h.Counts, i, 0)
			}
			h.Counts[i] += float64(b.GetCumulativeCount())
		}
	}
	return h
}

func (m Metrics) family(name string) *dto.MetricFamily {
	for _, n := range []string{name, strings.TrimSuffix(name, "_total"), name + "_total"} {
		if f, ok := m[n]; ok {
			return f
		}
	}
	return nil
}

func (m Metrics) series(name string, match map[string]string) []*dto.Metric {
	f := m.family(name)
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, metric := range f.GetMetric() {
		found := 0
		for _, l := range metric.GetLabel() {
			if want, ok := match[l.GetName()]; ok && want == l.GetValue() {
				found++
			}
		}
		if found == len(match) {
			out = append(out, metric)
		}
	}
	return out
}

// Histogram is a cumulative histogram: Counts[i] observations at most Bounds[i].
type Histogram struct {
	Bounds, Counts []float64
	Count, Sum     float64
}

// Minus returns the observations of h that are not in the earlier h0, bucket by bucket.
func (h Histogram) Minus(h0 Histogram) Histogram {
	out := Histogram{Bounds: slices.Clone(h.Bounds), Counts: slices.Clone(h.Counts), Count: h.Count - h0.Count, Sum: h.Sum - h0.Sum}
	for i, b := range h0.Bounds {
		if j, ok := slices.BinarySearch(out.Bounds, b); ok {
			out.Counts[j] -= h0.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile does: by
// linear interpolation within the bucket that holds it. It is NaN without
// observations, and the largest finite bound when it falls in the +Inf bucket.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count <= 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	lower, below := 0.0, 0.0
	for i, bound := range h.Bounds {
		if h.Counts[i] >= rank {
			if math.IsInf(bound, 1) {
				return lower
			}
			if h.Counts[i] == below {
				return bound
			}
			return lower + (bound-lower)*(rank-below)/(h.Counts[i]-below)
		}
		lower, below = bound, h.Counts[i]
	}
	return lower
}

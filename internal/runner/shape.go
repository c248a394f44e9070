// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Shape is the shape of the load the receiver makes: the seed's (two gauges per
// instance, many samples per series and payload, stages in samples/s), or a
// scrape of active series at an interval, with churn, labels and histograms
// (stages in active series). The receiver's README describes both.
type Shape struct {
	Scrape           bool          `json:"scrape"`
	Interval         time.Duration `json:"interval_ns,omitempty"`
	Churn            time.Duration `json:"churn_ns,omitempty"`
	Gauges           int           `json:"gauges,omitempty"`
	Counters         int           `json:"counters,omitempty"`
	HistogramBuckets int           `json:"histogram_buckets,omitempty"`
	NativeHistogram  bool          `json:"native_histogram,omitempty"`
	Labels           int           `json:"labels,omitempty"`
	LabelLength      int           `json:"label_length,omitempty"`
}

// ShapeFlags adds the flags of the load's shape to fs, and returns a function
// that makes the Shape of their values once fs is parsed.
func ShapeFlags(fs *flag.FlagSet) func() (Shape, error) {
	var s Shape
	name := fs.String("shape", "seed", "seed (CPU and Memory per instance, -stages in samples/s) or scrape (active series scraped every -interval, -stages in active series)")
	fs.DurationVar(&s.Interval, "interval", 30*time.Second, "scrape shape: each series gets one sample per interval")
	fs.DurationVar(&s.Churn, "churn", 0, "scrape shape: an instance's lifetime, e.g. 10m, after which a fresh InstanceId replaces it (new series); 0: none")
	fs.IntVar(&s.Gauges, "gauges", 0, "scrape shape: gauges per instance beyond CPU and Memory")
	fs.IntVar(&s.Counters, "counters", 0, "scrape shape: counters per instance")
	fs.IntVar(&s.HistogramBuckets, "histogram-buckets", 0, "scrape shape: a classic histogram of B finite buckets per instance (B + 3 series); 0: none")
	fs.BoolVar(&s.NativeHistogram, "native-histogram", false, "scrape shape: a native histogram per instance")
	labels := fs.String("labels", "", "scrape shape: N:LEN, N extra target labels per series with values of LEN characters")
	return func() (Shape, error) {
		var errs []error
		switch *name {
		case "seed":
		case "scrape":
			s.Scrape = true
		default:
			errs = append(errs, fmt.Errorf("-shape %q: seed or scrape", *name))
		}
		if *labels != "" {
			n, length, ok := strings.Cut(*labels, ":")
			var err1, err2 error
			s.Labels, err1 = strconv.Atoi(n)
			s.LabelLength, err2 = strconv.Atoi(length)
			if !ok || err1 != nil || err2 != nil || s.Labels < 0 || s.LabelLength < 1 {
				errs = append(errs, fmt.Errorf("-labels %q: N:LEN, e.g. 10:32", *labels))
			}
		}
		if !s.Scrape {
			if s.Churn != 0 || s.Gauges != 0 || s.Counters != 0 || s.HistogramBuckets != 0 || s.NativeHistogram || s.Labels != 0 {
				errs = append(errs, errors.New("-churn, -gauges, -counters, -histogram-buckets, -native-histogram and -labels need -shape scrape"))
			}
			s.Interval = 0
		}
		return s, errors.Join(errs...)
	}
}

// SeriesPerInstance is how many series an instance has.
func (s Shape) SeriesPerInstance() int {
	n := 2 + s.Gauges + s.Counters
	if s.HistogramBuckets > 0 {
		n += s.HistogramBuckets + 3
	}
	if s.NativeHistogram {
		n++
	}
	return n
}

// PointsPerInstance is how many data points an instance's scrape is: one per
// metric, a classic histogram's B + 3 samples in one.
func (s Shape) PointsPerInstance() int {
	n := 2 + s.Gauges + s.Counters
	if s.HistogramBuckets > 0 {
		n++
	}
	if s.NativeHistogram {
		n++
	}
	return n
}

// SamplesPerPoint converts the exporter's data points into samples.
func (s Shape) SamplesPerPoint() float64 {
	if !s.Scrape {
		return 1
	}
	return float64(s.SeriesPerInstance()) / float64(s.PointsPerInstance())
}

// Unit is what the stages count: samples/s, or active series.
func (s Shape) Unit() string {
	if s.Scrape {
		return "active series"
	}
	return "samples/s"
}

// Rate is the samples per second a stage value asks for.
func (s Shape) Rate(v float64) float64 {
	if s.Scrape {
		return v / s.Interval.Seconds()
	}
	return v
}

// Instances is the instance slots the stages need at most, a multiple of gen.
func (s Shape) Instances(stages []Stage, gen int) int {
	most := 0.0
	for _, st := range stages {
		most = max(most, st.From, st.To)
	}
	n := int(math.Ceil(most / float64(s.SeriesPerInstance())))
	gen = max(gen, 1)
	return max(gen, (n+gen-1)/gen*gen)
}

// ReceiverConfig is the receiver's configuration of the shape and the stages,
// as a yaml: overlay, the stages followed by nothing.
func (s Shape) ReceiverConfig(stages []Stage) string {
	key := "rate"
	var shape string
	if s.Scrape {
		key = "active_series"
		shape = fmt.Sprintf("shape: scrape, scrape: {interval: %s, churn: %s, gauges: %d, counters: %d, histogram_buckets: %d, native_histogram: %t, labels: %d, label_length: %d}, ",
			s.Interval, s.Churn, s.Gauges, s.Counters, s.HistogramBuckets, s.NativeHistogram, s.Labels, max(s.LabelLength, 1))
	}
	items := make([]string, len(stages))
	for i, st := range stages {
		items[i] = fmt.Sprintf("{duration: %s, %s: %s", st.Duration, key, formatRate(st.From))
		if st.To != st.From {
			items[i] += ", ramp_to: " + formatRate(st.To)
		}
		items[i] += "}"
	}
	return "yaml:receivers::dummymetrics: {" + shape + "stages: [" + strings.Join(items, ", ") + "], after_stages: stop}"
}

// StoredNames are the names under which the backend stores the metrics the
// receiver's start line lists ("name:kind"), by Prometheus's conventions: a
// counter gets _total, a classic histogram its _bucket, _sum and _count series.
// The seed shape's line lists none: CPU and Memory.
func StoredNames(metrics []string) []string {
	if len(metrics) == 0 {
		return []string{"CPU", "Memory"}
	}
	var out []string
	for _, m := range metrics {
		name, kind, _ := strings.Cut(m, ":")
		switch kind {
		case "counter":
			out = append(out, name+"_total")
		case "histogram":
			out = append(out, name+"_bucket", name+"_sum", name+"_count")
		default:
			out = append(out, name)
		}
	}
	return out
}

// CheckStages refuses stages of active series the instances cannot hold.
func (s Shape) CheckStages(stages []Stage, instances int) error {
	limit := float64(instances * s.SeriesPerInstance())
	var errs []error
	for i, st := range stages {
		if m := max(st.From, st.To); m > limit {
			errs = append(errs, fmt.Errorf("-stages: stage %d (%s) asks for %s active series, more than the %d instances of %d series hold; raise -instances to at least %d",
				i+1, st, formatRate(m), instances, s.SeriesPerInstance(), int(math.Ceil(m/float64(s.SeriesPerInstance())))))
		}
	}
	return errors.Join(errs...)
}

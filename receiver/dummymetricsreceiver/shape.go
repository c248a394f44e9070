// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"fmt"
	"math"
	"time"
)

// Shape is the kind of load the receiver generates.
type Shape string

const (
	// ShapeSeed is the original sample's load: random emissions of a few samples of
	// CPU and Memory, paced by pause, rate or stages in samples per second.
	ShapeSeed Shape = "seed"
	// ShapeScrape is what a Prometheus server scraping a fleet sends: every series of
	// every active instance gets one sample per interval, with churn, target labels
	// and histograms, and stages give active series.
	ShapeScrape Shape = "scrape"
)

// validate accepts seed and scrape; empty is the default, seed.
func (s Shape) validate() error {
	switch s {
	case "", ShapeSeed, ShapeScrape:
		return nil
	}
	return fmt.Errorf("shape (%q) must be %q or %q", string(s), ShapeSeed, ShapeScrape)
}

// String names the shape, the default one for empty.
func (s Shape) String() string {
	if s == "" {
		return string(ShapeSeed)
	}
	return string(s)
}

// Bounds of the scrape block.
const (
	defaultScrapeInterval = 30 * time.Second
	minScrapeInterval     = time.Second
	maxScrapeInterval     = time.Hour
	defaultLabelLength    = 16
	maxLabelLength        = 1024
	maxLabels             = 30
	maxHistogramBuckets   = 200

	// maxSeriesPerInstance keeps an instance's scrape, which is never split, a small
	// part of a payload of maxPayloadSamples.
	maxSeriesPerInstance = 1000
)

// ScrapeConfig shapes the series of the scrape shape. Each instance has CPU and
// Memory and the further series asked for here.
type ScrapeConfig struct {
	// Interval is the scrape interval: every series gets one sample per interval.
	Interval time.Duration `mapstructure:"interval"`
	// Gauges are further gauges per instance, dummy_gauge_1 and on.
	Gauges int `mapstructure:"gauges"`
	// Counters are cumulative counters per instance, dummy_counter_1 and on.
	Counters int `mapstructure:"counters"`
	// HistogramBuckets is the number of finite bounds of dummy_histogram, a classic
	// histogram; 0 leaves it out.
	HistogramBuckets int `mapstructure:"histogram_buckets"`
	// NativeHistogram adds dummy_native_histogram, an exponential histogram that the
	// Prometheus remote-write exporter sends as a native histogram.
	NativeHistogram bool `mapstructure:"native_histogram"`
	// Churn is an instance's lifetime: every slot's instance is replaced by a new
	// one, with new series, every Churn. 0 keeps the instances for ever.
	Churn time.Duration `mapstructure:"churn"`
	// Labels is the number of target labels on every series besides InstanceId.
	Labels int `mapstructure:"labels"`
	// LabelLength is the length of each target label's value.
	LabelLength int `mapstructure:"label_length"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultScrapeConfig is the scrape block's defaults.
func defaultScrapeConfig() ScrapeConfig {
	return ScrapeConfig{Interval: defaultScrapeInterval, LabelLength: defaultLabelLength}
}

// seriesPerInstance is the number of Prometheus series of one instance: a classic
// histogram of B bounds is B+1 bucket series, _sum and _count.
func (s *ScrapeConfig) seriesPerInstance() int {
	n := metricCount + max(0, s.Gauges) + max(0, s.Counters)
	if s.HistogramBuckets > 0 {
		n += s.HistogramBuckets + 3
	}
	if s.NativeHistogram {
		n++
	}
	return n
}

// validate checks the scrape block, each problem naming its key and value.
func (s *ScrapeConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Interval < minScrapeInterval || s.Interval > maxScrapeInterval {
		add("scrape.interval (%s) must be between %s and %s", s.Interval, minScrapeInterval, maxScrapeInterval)
	} else if s.Interval%time.Millisecond != 0 {
		add("scrape.interval (%s) must be a whole number of milliseconds, the resolution of timestamps", s.Interval)
	}
	// Each alone first, so that their sum below cannot overflow.
	if s.Gauges < 0 || s.Gauges > maxSeriesPerInstance {
		add("scrape.gauges (%d) must be between 0 and %d", s.Gauges, maxSeriesPerInstance)
	}
	if s.Counters < 0 || s.Counters > maxSeriesPerInstance {
		add("scrape.counters (%d) must be between 0 and %d", s.Counters, maxSeriesPerInstance)
	}
	if s.HistogramBuckets < 0 || s.HistogramBuckets > maxHistogramBuckets {
		add("scrape.histogram_buckets (%d) must be between 0 (no histogram) and %d", s.HistogramBuckets, maxHistogramBuckets)
	}
	countsValid := s.Gauges >= 0 && s.Gauges <= maxSeriesPerInstance && s.Counters >= 0 && s.Counters <= maxSeriesPerInstance
	if n := s.seriesPerInstance(); countsValid && n > maxSeriesPerInstance {
		add("scrape: an instance has %d series (CPU and Memory, gauges (%d), counters (%d), histogram_buckets (%d) + 3 when set, native_histogram (%v)), more than %d",
			n, s.Gauges, s.Counters, s.HistogramBuckets, s.NativeHistogram, maxSeriesPerInstance)
	}
	if s.Churn < 0 || (s.Churn > 0 && s.Churn < s.Interval) {
		add("scrape.churn (%s) must be 0s (no churn) or at least scrape.interval (%s)", s.Churn, s.Interval)
	} else if s.Churn%time.Millisecond != 0 {
		add("scrape.churn (%s) must be a whole number of milliseconds", s.Churn)
	}
	if s.Labels < 0 || s.Labels > maxLabels {
		add("scrape.labels (%d) must be between 0 and %d", s.Labels, maxLabels)
	}
	if s.LabelLength < 1 || s.LabelLength > maxLabelLength {
		add("scrape.label_length (%d) must be between 1 and %d", s.LabelLength, maxLabelLength)
	}
	return errs
}

// validateShape checks the keys that belong to one shape only.
func (cfg *Config) validateShape() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := cfg.Shape.validate(); err != nil {
		return []error{err}
	}
	if cfg.Shape != ShapeScrape {
		for i, st := range cfg.Stages {
			if st.ActiveSeries != 0 {
				add("stages[%d].active_series (%v) is set, but shape is %q: active_series belongs to shape: scrape; this shape's stages give a rate", i, st.ActiveSeries, cfg.Shape.String())
			}
		}
		return errs
	}

	errs = append(errs, cfg.Scrape.validate()...)
	if cfg.decoded.pauseSet {
		add("pause (%s) is set, but shape is \"scrape\": the scrape interval paces it; leave pause out or empty", cfg.Pause)
	}
	if cfg.decoded.rateSet || cfg.Rate != 0 {
		add("rate (%v) is set, but shape is \"scrape\": stages give active series and the interval paces them; leave rate out or empty", cfg.Rate)
	}
	if cfg.InstanceIDLocation == InstanceIDOnResource {
		add("instance_id_location (%q) is not supported with shape \"scrape\": InstanceId and the target labels go on every data point", cfg.InstanceIDLocation)
	}
	for i, st := range cfg.Stages {
		key := fmt.Sprintf("stages[%d]", i)
		if st.Rate != 0 {
			add("%s.rate (%v) is set, but shape is \"scrape\": a stage gives active_series", key, st.Rate)
		}
		errs = append(errs, cfg.checkActiveSeries(key+".active_series", st.ActiveSeries))
		if st.RampTo != nil {
			errs = append(errs, cfg.checkActiveSeries(key+".ramp_to", *st.RampTo))
		}
	}
	return errs
}

// checkActiveSeries returns why the receiver cannot keep active series of key
// active, or nil.
func (cfg *Config) checkActiveSeries(key string, series float64) error {
	switch {
	case math.IsNaN(series) || math.IsInf(series, 0) || series < 0:
		return fmt.Errorf("%s (%v) must be a non-negative number of active series", key, series)
	case cfg.Instances >= 1 && series > cfg.maxActiveSeries():
		return fmt.Errorf("%s (%v) exceeds %v, the series of instances (%d) × %d series per instance",
			key, series, cfg.maxActiveSeries(), cfg.Instances, cfg.Scrape.seriesPerInstance())
	}
	return nil
}

// maxActiveSeries is the series of all the instance slots.
func (cfg *Config) maxActiveSeries() float64 {
	return float64(cfg.Instances) * float64(cfg.Scrape.seriesPerInstance())
}

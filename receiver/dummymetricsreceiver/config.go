// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

const (
	// maxInstanceIndex is the largest index an InstanceId can hold: "I" and ten digits.
	maxInstanceIndex = 9_999_999_999

	// maxInstances bounds the state a receiver keeps: about 60 bytes per instance
	// (its InstanceId and the last timestamp of its two series). Larger fleets are
	// spread over several receivers or replicas with instance_offset and replica_index.
	maxInstances = 10_000_000

	// maxSamplesPerEmission follows from the timestamp rule: the samples of one
	// emission take consecutive milliseconds of their series, and a series may run
	// at most one second ahead of the wall clock.
	maxSamplesPerEmission = int(maxAheadOfWallClock / time.Millisecond)

	// maxAheadOfWallClock is how far a series' newest timestamp may run ahead of now.
	maxAheadOfWallClock = time.Second

	// maxParallelism bounds the goroutines and shards of one receiver: far more
	// workers than cores only add scheduling and smaller payloads.
	maxParallelism = 1024

	// minRate is the lowest rate that is not 0 (off): a lower one would take the
	// workers minutes per emission, a mistake rather than a load.
	minRate = 1.0

	// defaultPause is the original's GeneratorPauseBetweenTimeSeriesMs.
	defaultPause = 100 * time.Millisecond
)

// The places InstanceId can take in the emitted data.
const (
	InstanceIDOnResource  = "resource"
	InstanceIDOnDataPoint = "data_point"
)

var _ confmap.Validator = (*Config)(nil)

// Config defines the configuration of the dummymetrics receiver. Its keys mirror
// the data generator parameters of the original Flink sample.
type Config struct {
	// Shape is the kind of load: seed, the original sample's, or scrape, what a
	// Prometheus server scraping a fleet sends.
	Shape Shape `mapstructure:"shape"`

	// Scrape shapes the series of shape scrape; it is refused with shape seed.
	Scrape ScrapeConfig `mapstructure:"scrape"`

	// Instances is the number of dummy source instances (GeneratorNumberOfDummySources).
	// Each instance has two series, CPU and Memory. In the scrape shape it is the
	// number of instance slots, the most instances active at once.
	Instances int `mapstructure:"instances"`

	// Parallelism is the number of generator workers (the generator parallelism).
	// Instances must be a multiple of it: each worker owns Instances/Parallelism of them.
	Parallelism int `mapstructure:"parallelism"`

	// MinSamplesPerSeries and MaxSamplesPerSeries bound the number of samples of one
	// emission (GeneratorMin/MaxNrOfSamplesPerTimeSeries). The scrape shape ignores
	// them: it takes one sample per series and interval.
	MinSamplesPerSeries int `mapstructure:"min_samples_per_series"`
	MaxSamplesPerSeries int `mapstructure:"max_samples_per_series"`

	// Pause is the time each worker sleeps after an emission (GeneratorPauseBetweenTimeSeriesMs).
	// Zero runs as fast as the pipeline accepts. Ignored when Rate is set. An empty
	// value keeps the default.
	Pause time.Duration `mapstructure:"pause"`

	// InstanceOffset is the index of the first instance, so that several replicas
	// can own disjoint ranges of instances.
	InstanceOffset int64 `mapstructure:"instance_offset"`

	// ReplicaIndex is which replica this receiver is in a scale-out of identical
	// replicas: its first instance is InstanceOffset + ReplicaIndex × Instances.
	ReplicaIndex ReplicaIndex `mapstructure:"replica_index"`

	// Rate is the target number of samples per second of the whole receiver,
	// shared evenly by the workers. Zero (or an empty value) leaves the pacing to Pause.
	Rate float64 `mapstructure:"rate"`

	// Stages replace Pause and Rate with a load test's steps: the rate of the whole
	// receiver over time. Rate R is one stage held forever.
	Stages []Stage `mapstructure:"stages"`

	// AfterStages is what follows the last stage: hold its final rate, or stop.
	AfterStages AfterStages `mapstructure:"after_stages"`

	// AlignStart, when not 0, starts the schedule at the next multiple of it on the
	// wall clock, so that replicas started apart run their stages together.
	AlignStart time.Duration `mapstructure:"align_start"`

	// Seed seeds the random choices and values: a seed reproduces every worker's
	// sequence of emissions (instance, metric, number of samples) and the values of
	// each emission's samples, whatever the pacing and payload boundaries; the
	// timestamps follow the clock. Zero picks a random seed.
	Seed uint64 `mapstructure:"seed"`

	// InstanceIDLocation is where InstanceId goes: on every data point
	// (InstanceIDOnDataPoint, the default, which every exporter turns into a label
	// as it is), or on the resource of each instance (InstanceIDOnResource, the
	// leanest to generate, for exporters told to turn it into a label).
	InstanceIDLocation string `mapstructure:"instance_id_location"`

	decoded decoded // what Unmarshal saw in the raw values

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks that the generator can honour the configuration; every problem found
// is reported, each naming the field and its value.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for _, problem := range cfg.decoded.problems {
		errs = append(errs, errors.New(problem))
	}

	if cfg.Instances < 1 {
		add("instances (%d) must be at least 1", cfg.Instances)
	} else if cfg.Instances > maxInstances {
		add("instances (%d) must be at most %d per receiver; spread more over several receivers with instance_offset", cfg.Instances, maxInstances)
	}
	if cfg.Parallelism < 1 {
		add("parallelism (%d) must be at least 1", cfg.Parallelism)
	} else if cfg.Parallelism > maxParallelism {
		add("parallelism (%d) must be at most %d workers", cfg.Parallelism, maxParallelism)
	}
	if cfg.Instances >= 1 && cfg.Parallelism >= 1 && cfg.Instances%cfg.Parallelism != 0 {
		add("instances (%d) must be a multiple of parallelism (%d)", cfg.Instances, cfg.Parallelism)
	}
	if cfg.Shape != ShapeScrape { // which ignores them
		errs = append(errs, cfg.validateEmissions()...)
	}
	if cfg.Pause < 0 {
		add("pause (%s) must not be negative", cfg.Pause)
	}
	if cfg.InstanceOffset < 0 {
		add("instance_offset (%d) must not be negative", cfg.InstanceOffset)
	}
	if cfg.ReplicaIndex < 0 {
		add("replica_index (%d) must not be negative", cfg.ReplicaIndex)
	}
	if last := cfg.lastIndex(); cfg.InstanceOffset >= 0 && cfg.ReplicaIndex >= 0 && cfg.Instances >= 1 && last.Cmp(big.NewInt(maxInstanceIndex)) > 0 {
		const tooLong = "which needs more than 10 digits (InstanceId is I + 10 digits, up to I9999999999)"
		if cfg.ReplicaIndex == 0 {
			add("instance_offset (%d) with instances (%d) reaches index %s, "+tooLong, cfg.InstanceOffset, cfg.Instances, last)
		} else {
			add("instance_offset (%d) + replica_index (%d) × instances (%d) reaches index %s, "+tooLong,
				cfg.InstanceOffset, cfg.ReplicaIndex, cfg.Instances, last)
		}
	}
	if cfg.InstanceIDLocation != InstanceIDOnResource && cfg.InstanceIDLocation != InstanceIDOnDataPoint {
		add("instance_id_location (%q) must be %q or %q", cfg.InstanceIDLocation, InstanceIDOnResource, InstanceIDOnDataPoint)
	}
	if cfg.Shape != ShapeScrape { // which refuses any rate
		errs = append(errs, cfg.checkRate("rate", cfg.Rate))
	}
	errs = append(errs, cfg.validateStages()...)
	errs = append(errs, cfg.validateShape()...)
	return errors.Join(errs...)
}

// validateEmissions checks the number of samples of one emission of the seed shape.
func (cfg *Config) validateEmissions() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.MinSamplesPerSeries < 1 {
		add("min_samples_per_series (%d) must be at least 1", cfg.MinSamplesPerSeries)
	}
	if cfg.MaxSamplesPerSeries < cfg.MinSamplesPerSeries {
		add("max_samples_per_series (%d) must not be less than min_samples_per_series (%d)", cfg.MaxSamplesPerSeries, cfg.MinSamplesPerSeries)
	}
	if cfg.MaxSamplesPerSeries > maxSamplesPerEmission {
		add("max_samples_per_series (%d) must be at most %d: the samples of one emission take one millisecond each and may run at most %s ahead of the wall clock",
			cfg.MaxSamplesPerSeries, maxSamplesPerEmission, maxAheadOfWallClock)
	}
	return errs
}

// validateStages checks the stages and the keys that go with them.
func (cfg *Config) validateStages() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(cfg.Stages) > 0 && cfg.Shape != ShapeScrape { // which refuses pause and rate anyway
		// Defaults filled in for an unset or empty pause or rate do not count.
		if cfg.decoded.pauseSet {
			add("stages and pause (%s) are both set: stages replace pause and rate; leave pause out", cfg.Pause)
		}
		if cfg.decoded.rateSet || cfg.Rate != 0 {
			add("stages and rate (%v) are both set: stages replace pause and rate; leave rate out", cfg.Rate)
		}
	}
	for i, st := range cfg.Stages {
		key := fmt.Sprintf("stages[%d]", i)
		if st.Duration <= 0 {
			add("%s.duration (%s) must be positive", key, st.Duration)
		}
		if cfg.Shape == ShapeScrape {
			continue // validateShape checks the active series
		}
		errs = append(errs, cfg.checkRate(key+".rate", st.Rate))
		if st.RampTo != nil {
			errs = append(errs, cfg.checkRate(key+".ramp_to", *st.RampTo))
		}
	}
	errs = append(errs, cfg.AfterStages.validate())
	if cfg.AlignStart < 0 || cfg.AlignStart > maxAlignStart {
		add("align_start (%s) must be between 0s (start at once) and %s", cfg.AlignStart, maxAlignStart)
	}
	return errs
}

// checkRate returns why the receiver cannot honour a rate of key, or nil.
func (cfg *Config) checkRate(key string, rate float64) error {
	switch {
	case math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0:
		return fmt.Errorf("%s (%v) must be a non-negative number of samples per second", key, rate)
	case rate > 0 && rate < minRate:
		return fmt.Errorf("%s (%v) must be 0 (off) or at least %v sample/s", key, rate, minRate)
	case cfg.Instances >= 1 && rate > cfg.maxRate():
		return fmt.Errorf("%s (%v) exceeds %v samples/s, the most that instances (%d) can take: 2 series per instance, one sample per millisecond per series",
			key, rate, cfg.maxRate(), cfg.Instances)
	}
	return nil
}

// firstIndex is the global index of the receiver's first instance; it fits in an
// int64 once Validate accepts the configuration.
func (cfg *Config) firstIndex() int64 {
	return cfg.InstanceOffset + int64(cfg.ReplicaIndex)*int64(cfg.Instances)
}

// lastIndex is the global index of the receiver's last instance, computed exactly
// so that Validate can name it whatever the values.
func (cfg *Config) lastIndex() *big.Int {
	last := big.NewInt(int64(cfg.ReplicaIndex))
	last.Mul(last, big.NewInt(int64(cfg.Instances)))
	last.Add(last, big.NewInt(cfg.InstanceOffset))
	return last.Add(last, big.NewInt(int64(cfg.Instances)-1))
}

// maxRate is the ceiling set by the timestamp rule: one sample per millisecond per series.
func (cfg *Config) maxRate() float64 {
	return 2 * float64(cfg.Instances) * float64(time.Second/time.Millisecond)
}

// pacing describes in words how the workers are paced.
func (cfg *Config) pacing() string {
	switch {
	case len(cfg.Stages) > 0:
		var length time.Duration
		for _, st := range cfg.Stages {
			length += st.Duration
		}
		after := fmt.Sprintf("then hold %v samples/s", cfg.Stages[len(cfg.Stages)-1].finalRate())
		if cfg.Shape == ShapeScrape {
			after = fmt.Sprintf("then hold %v active series", cfg.Stages[len(cfg.Stages)-1].finalActiveSeries())
		}
		if cfg.AfterStages == AfterStagesStop {
			after = "then stop"
		}
		return fmt.Sprintf("%d stages over %s, %s", len(cfg.Stages), length, after)
	case cfg.Shape == ShapeScrape:
		return fmt.Sprintf("every instance scraped every %s", cfg.Scrape.Interval)
	case cfg.Rate > 0:
		return fmt.Sprintf("%v samples/s in all", cfg.Rate)
	case cfg.Pause > 0:
		return fmt.Sprintf("each worker pauses %s between emissions", cfg.Pause)
	default:
		return "as fast as the pipeline accepts"
	}
}

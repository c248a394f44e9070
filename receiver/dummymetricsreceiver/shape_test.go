// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// scrapeDefaults is the default configuration in the scrape shape.
func scrapeDefaults() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Shape = ShapeScrape
	return cfg
}

func TestLoadScrapeConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	load := func(name string) (*Config, error) {
		cfg := NewFactory().CreateDefaultConfig()
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		if err := sub.Unmarshal(cfg); err != nil {
			return nil, err
		}
		return cfg.(*Config), confmap.Validate(cfg)
	}

	cfg, err := load("scrape")
	require.NoError(t, err)
	assert.Equal(t, ShapeScrape, cfg.Shape)
	assert.Equal(t, ScrapeConfig{
		Interval: 15 * time.Second, Gauges: 3, Counters: 2, HistogramBuckets: 10, NativeHistogram: true,
		Churn: 10 * time.Minute, Labels: 5, LabelLength: 24,
	}, cfg.Scrape)
	assert.Equal(t, 2+3+2+13+1, cfg.Scrape.seriesPerInstance())
	assert.Equal(t, []Stage{
		{Duration: time.Minute, ActiveSeries: 1000, RampTo: new(20000.0)},
		{Duration: 5 * time.Minute, ActiveSeries: 20000},
	}, cfg.Stages)

	_, err = load("scrape_in_seed")
	assert.EqualError(t, err, `scrape (churn, interval) is set, but shape is "seed": the scrape block belongs to shape: scrape`)
	_, err = load("scrape_with_a_stage_rate")
	assert.EqualError(t, err, `stages[0].rate (0) is set, but shape is "scrape"`)
}

func TestEmptyPauseAndRateAreAcceptedInTheScrapeShape(t *testing.T) {
	// The shipped configuration sets them so, and the samples per series too.
	const config = "shape: scrape\npause: ${env:GENERATOR_PAUSE:-}\nrate: ${env:GENERATOR_RATE:-}\nmin_samples_per_series: 2\nmax_samples_per_series: 10"
	cfg, err := resolve(t, config, nil)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())

	cfg, err = resolve(t, config, map[string]string{"GENERATOR_PAUSE": "0s", "GENERATOR_RATE": "5000"})
	require.NoError(t, err)
	err = cfg.Validate()
	assert.ErrorContains(t, err, `pause (0s) is set, but shape is "scrape"`)
	assert.ErrorContains(t, err, `rate (5000) is set, but shape is "scrape"`)

	cfg, err = resolve(t, "shape: scrape\nscrape:\n  interval: 15\n  churn: 600", nil)
	require.NoError(t, err)
	err = cfg.Validate()
	assert.ErrorContains(t, err, "scrape.interval (15) has no unit: write 15s")
	assert.ErrorContains(t, err, "scrape.churn (600) has no unit: write 600s")
}

func TestValidateTheScrapeShape(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		errs   []string // each must appear; none means valid
	}{
		{name: "defaults", modify: func(*Config) {}},
		{name: "unknown shape", modify: func(c *Config) { c.Shape = "pull" },
			errs: []string{`shape ("pull") must be "seed" or "scrape"`}},
		{name: "empty shape is seed", modify: func(c *Config) { c.Shape = "" }},
		{name: "a second", modify: func(c *Config) { c.Scrape.Interval = time.Second }},
		{name: "an hour", modify: func(c *Config) { c.Scrape.Interval = time.Hour }},
		{name: "interval too short", modify: func(c *Config) { c.Scrape.Interval = 999 * time.Millisecond },
			errs: []string{"scrape.interval (999ms) must be between 1s and 1h0m0s"}},
		{name: "interval too long", modify: func(c *Config) { c.Scrape.Interval = time.Hour + time.Second },
			errs: []string{"scrape.interval (1h0m1s) must be between 1s and 1h0m0s"}},
		{name: "interval below a millisecond", modify: func(c *Config) { c.Scrape.Interval = time.Second + time.Microsecond },
			errs: []string{"scrape.interval (1.000001s) must be a whole number of milliseconds"}},
		{name: "negative gauges", modify: func(c *Config) { c.Scrape.Gauges = -1 },
			errs: []string{"scrape.gauges (-1) must be between 0 and 1000"}},
		{name: "gauges whose sum with counters overflows", modify: func(c *Config) { c.Scrape.Gauges, c.Scrape.Counters = math.MaxInt, 1 },
			errs: []string{"scrape.gauges (9223372036854775807) must be between 0 and 1000"}},
		{name: "negative counters", modify: func(c *Config) { c.Scrape.Counters = -2 },
			errs: []string{"scrape.counters (-2) must be between 0 and 1000"}},
		{name: "negative buckets", modify: func(c *Config) { c.Scrape.HistogramBuckets = -1 },
			errs: []string{"scrape.histogram_buckets (-1) must be between 0 (no histogram) and 200"}},
		{name: "most buckets", modify: func(c *Config) { c.Scrape.HistogramBuckets = 200 }},
		{name: "too many buckets", modify: func(c *Config) { c.Scrape.HistogramBuckets = 201 },
			errs: []string{"scrape.histogram_buckets (201) must be between 0 (no histogram) and 200"}},
		{name: "most series per instance", modify: func(c *Config) {
			c.Scrape.Gauges, c.Scrape.Counters, c.Scrape.HistogramBuckets, c.Scrape.NativeHistogram = 400, 391, 200, true
		}},
		{name: "too many series per instance", modify: func(c *Config) { c.Scrape.Gauges, c.Scrape.Counters = 500, 499 },
			errs: []string{"scrape: an instance has 1001 series (CPU and Memory, gauges (500), counters (499), histogram_buckets (0) + 3 when set, native_histogram (false)), more than 1000"}},
		{name: "churn", modify: func(c *Config) { c.Scrape.Churn = 10 * time.Minute }},
		{name: "churn of one interval", modify: func(c *Config) { c.Scrape.Churn = c.Scrape.Interval }},
		{name: "churn shorter than the interval", modify: func(c *Config) { c.Scrape.Churn = 10 * time.Second },
			errs: []string{"scrape.churn (10s) must be 0s (no churn) or at least scrape.interval (30s)"}},
		{name: "negative churn", modify: func(c *Config) { c.Scrape.Churn = -time.Minute },
			errs: []string{"scrape.churn (-1m0s) must be 0s (no churn) or at least scrape.interval (30s)"}},
		{name: "churn below a millisecond", modify: func(c *Config) { c.Scrape.Churn = time.Minute + time.Microsecond },
			errs: []string{"scrape.churn (1m0.000001s) must be a whole number of milliseconds"}},
		{name: "most labels", modify: func(c *Config) { c.Scrape.Labels = 30 }},
		{name: "too many labels", modify: func(c *Config) { c.Scrape.Labels = 31 },
			errs: []string{"scrape.labels (31) must be between 0 and 30"}},
		{name: "negative labels", modify: func(c *Config) { c.Scrape.Labels = -1 },
			errs: []string{"scrape.labels (-1) must be between 0 and 30"}},
		{name: "empty label values", modify: func(c *Config) { c.Scrape.LabelLength = 0 },
			errs: []string{"scrape.label_length (0) must be between 1 and 1024"}},
		{name: "too long label values", modify: func(c *Config) { c.Scrape.LabelLength = 1025 },
			errs: []string{"scrape.label_length (1025) must be between 1 and 1024"}},
		{name: "pause set", modify: func(c *Config) { c.decoded.pauseSet = true },
			errs: []string{`pause (100ms) is set, but shape is "scrape": the scrape interval paces it; leave pause out or empty`}},
		{name: "rate set", modify: func(c *Config) { c.Rate = 100 },
			errs: []string{`rate (100) is set, but shape is "scrape"`}},
		{name: "samples per series are ignored", modify: func(c *Config) { c.MinSamplesPerSeries, c.MaxSamplesPerSeries = 0, 5000 }},
		{name: "InstanceId on the resource", modify: func(c *Config) { c.InstanceIDLocation = InstanceIDOnResource },
			errs: []string{`instance_id_location ("resource") is not supported with shape "scrape"`}},
		{name: "active series stages", modify: func(c *Config) {
			// 60 instances × 2 series.
			c.Stages = []Stage{{Duration: time.Minute, ActiveSeries: 0, RampTo: new(120.0)}, {Duration: time.Minute, ActiveSeries: 120, RampTo: new(1.0)}}
		}},
		{name: "stage problems", modify: func(c *Config) {
			c.Stages = []Stage{
				{Duration: time.Minute, ActiveSeries: 121},
				{Duration: time.Minute, ActiveSeries: -1, RampTo: new(math.NaN())},
				{Duration: time.Minute, Rate: 1000, ActiveSeries: 10, RampTo: new(500.0)},
			}
		}, errs: []string{
			"stages[0].active_series (121) exceeds 120, the series of instances (60) × 2 series per instance",
			"stages[1].active_series (-1) must be a non-negative number of active series",
			"stages[1].ramp_to (NaN) must be a non-negative number of active series",
			`stages[2].rate (1000) is set, but shape is "scrape": a stage gives active_series`,
			"stages[2].ramp_to (500) exceeds 120",
		}},
		{name: "after_stages and align_start as in the seed shape", modify: func(c *Config) {
			c.Stages, c.AfterStages, c.AlignStart = []Stage{{Duration: time.Minute, ActiveSeries: 10}}, AfterStagesStop, time.Minute
		}},
		{name: "active series in the seed shape", modify: func(c *Config) {
			c.Shape, c.Stages = ShapeSeed, []Stage{{Duration: time.Minute, Rate: 10, ActiveSeries: 100}}
		}, errs: []string{`stages[0].active_series (100) is set, but shape is "seed": active_series belongs to shape: scrape`}},
		{name: "every problem at once", modify: func(c *Config) {
			c.Instances, c.Parallelism, c.Scrape.Interval, c.Scrape.Labels, c.Scrape.LabelLength = 10, 3, 0, 99, 0
		}, errs: []string{
			"instances (10) must be a multiple of parallelism (3)",
			"scrape.interval (0s) must be between 1s and 1h0m0s",
			"scrape.labels (99) must be between 0 and 30",
			"scrape.label_length (0) must be between 1 and 1024",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := scrapeDefaults()
			tt.modify(cfg)
			err := cfg.Validate()
			if len(tt.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

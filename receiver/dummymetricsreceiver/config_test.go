// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
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

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id          component.ID
		expected    *Config
		errContains string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: createDefaultConfig().(*Config),
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			expected: &Config{
				Instances:           12,
				Parallelism:         3,
				MinSamplesPerSeries: 1,
				MaxSamplesPerSeries: 4,
				Pause:               0,
				InstanceOffset:      24,
				Rate:                5000,
				Seed:                42,
				InstanceIDLocation:  InstanceIDOnResource,
			},
		},
		{
			id:          component.NewIDWithName(metadata.Type, "invalid"),
			errContains: "instances (10) must be a multiple of parallelism (3)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if tt.errContains != "" {
				require.ErrorContains(t, err, tt.errContains)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultsAreTheOriginalSample(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, 60, cfg.Instances, "GeneratorNumberOfDummySources")
	assert.Equal(t, 2, cfg.Parallelism, "parallelism of the local run")
	assert.Equal(t, 2, cfg.MinSamplesPerSeries, "GeneratorMinNrOfSamplesPerTimeSeries")
	assert.Equal(t, 10, cfg.MaxSamplesPerSeries, "GeneratorMaxNrOfSamplesPerTimeSeries")
	assert.Equal(t, 100*time.Millisecond, cfg.Pause, "GeneratorPauseBetweenTimeSeriesMs")
	assert.Equal(t, InstanceIDOnDataPoint, cfg.InstanceIDLocation, "works with every exporter as it is")
	assert.NoError(t, cfg.Validate())
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		errs   []string // each must appear; none means valid
	}{
		{name: "defaults", modify: func(*Config) {}},
		{name: "instances not a multiple of parallelism", modify: func(c *Config) { c.Instances, c.Parallelism = 10, 3 },
			errs: []string{"instances (10) must be a multiple of parallelism (3)"}},
		{name: "more workers than instances", modify: func(c *Config) { c.Instances, c.Parallelism = 2, 4 },
			errs: []string{"instances (2) must be a multiple of parallelism (4)"}},
		{name: "zero instances", modify: func(c *Config) { c.Instances = 0 },
			errs: []string{"instances (0) must be at least 1"}},
		{name: "negative instances", modify: func(c *Config) { c.Instances = -5 },
			errs: []string{"instances (-5) must be at least 1"}},
		{name: "too many instances for one receiver", modify: func(c *Config) { c.Instances = maxInstances + 2 },
			errs: []string{"instances (10000002) must be at most 10000000"}},
		{name: "zero parallelism", modify: func(c *Config) { c.Parallelism = 0 },
			errs: []string{"parallelism (0) must be at least 1"}},
		{name: "zero min samples", modify: func(c *Config) { c.MinSamplesPerSeries = 0 },
			errs: []string{"min_samples_per_series (0) must be at least 1"}},
		{name: "max below min", modify: func(c *Config) { c.MinSamplesPerSeries, c.MaxSamplesPerSeries = 5, 3 },
			errs: []string{"max_samples_per_series (3) must not be less than min_samples_per_series (5)"}},
		{name: "min equals max", modify: func(c *Config) { c.MinSamplesPerSeries, c.MaxSamplesPerSeries = 4, 4 }},
		{name: "more samples than milliseconds in the lead", modify: func(c *Config) { c.MaxSamplesPerSeries = 1001 },
			errs: []string{"max_samples_per_series (1001) must be at most 1000"}},
		{name: "negative pause", modify: func(c *Config) { c.Pause = -time.Millisecond },
			errs: []string{"pause (-1ms) must not be negative"}},
		{name: "zero pause", modify: func(c *Config) { c.Pause = 0 }},
		{name: "negative rate", modify: func(c *Config) { c.Rate = -1 },
			errs: []string{"rate (-1) must be a non-negative number"}},
		{name: "rate above one sample per millisecond per series", modify: func(c *Config) { c.Rate = 120_001 },
			errs: []string{"rate (120001) exceeds 120000 samples/s"}},
		{name: "rate at the ceiling", modify: func(c *Config) { c.Rate = 120_000 }},
		{name: "instance_id on the resource", modify: func(c *Config) { c.InstanceIDLocation = InstanceIDOnResource }},
		{name: "unknown instance_id_location", modify: func(c *Config) { c.InstanceIDLocation = "scope" },
			errs: []string{`instance_id_location ("scope") must be "resource" or "data_point"`}},
		{name: "negative offset", modify: func(c *Config) { c.InstanceOffset = -1 },
			errs: []string{"instance_offset (-1) must not be negative"}},
		{name: "last index needs 11 digits", modify: func(c *Config) { c.InstanceOffset = 9_999_999_950 },
			errs: []string{"instance_offset (9999999950) with instances (60) reaches index 10000000009, which needs more than 10 digits"}},
		{name: "last index is the largest 10-digit one", modify: func(c *Config) { c.InstanceOffset = 9_999_999_940 }},
		{name: "every problem at once", modify: func(c *Config) {
			c.Instances, c.Parallelism, c.MinSamplesPerSeries, c.MaxSamplesPerSeries, c.Pause = 10, 3, 0, -1, -time.Second
		}, errs: []string{
			"instances (10) must be a multiple of parallelism (3)",
			"min_samples_per_series (0) must be at least 1",
			"max_samples_per_series (-1) must not be less than min_samples_per_series (0)",
			"pause (-1s) must not be negative",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
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

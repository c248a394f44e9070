// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
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
				Shape:               ShapeSeed,
				Scrape:              defaultScrapeConfig(),
				Instances:           12,
				Parallelism:         3,
				MinSamplesPerSeries: 1,
				MaxSamplesPerSeries: 4,
				Pause:               0,
				InstanceOffset:      24,
				Rate:                5000,
				Seed:                42,
				InstanceIDLocation:  InstanceIDOnResource,
				AfterStages:         AfterStagesHold,
				decoded:             decoded{pauseSet: true, rateSet: true},
			},
		},
		{
			id:          component.NewIDWithName(metadata.Type, "invalid"),
			errContains: "instances (10) must be a multiple of parallelism (3)",
		},
		{
			id:       component.NewIDWithName(metadata.Type, "replica_int"),
			expected: withReplicaIndex(2),
		},
		{
			id:       component.NewIDWithName(metadata.Type, "replica_pod_name"),
			expected: withReplicaIndex(2),
		},
		{
			id:       component.NewIDWithName(metadata.Type, "replica_numeric_string"),
			expected: withReplicaIndex(3),
		},
		{
			id: component.NewIDWithName(metadata.Type, "stages"),
			expected: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Instances = 1000
				cfg.Stages = []Stage{
					{Duration: 30 * time.Second, Rate: 10000},
					{Duration: time.Minute, Rate: 10000, RampTo: new(40000.0)},
					{Duration: 10 * time.Second, Rate: 0},
				}
				cfg.AfterStages = AfterStagesStop
				cfg.AlignStart = time.Minute
				return cfg
			}(),
		},
		{
			id:          component.NewIDWithName(metadata.Type, "stages_with_rate"),
			errContains: "stages and rate (5000) are both set: stages replace pause and rate; leave rate out",
		},
		{
			id:          component.NewIDWithName(metadata.Type, "replica_without_ordinal"),
			errContains: `replica_index ("otelcol-dummymetrics") is neither an integer of at least 0 nor a name that ends in -N`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.errContains != "" {
				require.ErrorContains(t, err, tt.errContains)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

// testProvider serves, under its scheme, the configuration "config:" and, as the
// collector's env provider does, the variables "env:NAME" and "env:NAME:-default"
// from a map, so that tests decode values as the collector expands them.
type testProvider struct {
	scheme string
	config string
	env    map[string]string
}

func (p testProvider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if uri == "config:" {
		return confmap.NewRetrievedFromYAML([]byte(p.config))
	}
	name, fallback, _ := strings.Cut(strings.TrimPrefix(uri, "env:"), ":-")
	value, ok := p.env[name]
	if !ok {
		value = fallback
	}
	return confmap.NewRetrievedFromYAML([]byte(value))
}

func (p testProvider) Scheme() string               { return p.scheme }
func (testProvider) Shutdown(context.Context) error { return nil }

// resolve decodes the receiver configuration text, with ${env:...} expanded from env,
// onto the defaults, as the collector does.
func resolve(t *testing.T, config string, env map[string]string) (*Config, error) {
	t.Helper()
	factory := func(scheme string) confmap.ProviderFactory {
		return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider {
			return testProvider{scheme: scheme, config: config, env: env}
		})
	}
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"config:"},
		ProviderFactories: []confmap.ProviderFactory{factory("config"), factory("env")},
		DefaultScheme:     "env",
	})
	require.NoError(t, err)
	conf, err := resolver.Resolve(context.Background())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	if err := conf.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func TestReplicaIndexFromTheEnvironment(t *testing.T) {
	for env, want := range map[string]ReplicaIndex{
		"2":                      2, // a pod index from the downward API
		"otelcol-dummymetrics-3": 3, // a pod name
		"":                       0,
	} {
		cfg, err := resolve(t, "replica_index: ${env:REPLICA}", map[string]string{"REPLICA": env})
		require.NoError(t, err, "REPLICA=%q", env)
		assert.Equal(t, want, cfg.ReplicaIndex, "REPLICA=%q", env)
	}
	cfg, err := resolve(t, "replica_index: ${env:REPLICA:-0}", nil)
	require.NoError(t, err)
	assert.Zero(t, cfg.ReplicaIndex, "unset")
}

func TestDurationsNeedAUnit(t *testing.T) {
	for _, tt := range []struct {
		config string
		env    map[string]string
		want   string // the problem Validate reports; "" for none
		pause  time.Duration
	}{
		{config: "pause: 100", want: "pause (100) has no unit: write 100ms (the original's GeneratorPauseBetweenTimeSeriesMs was in milliseconds); a bare number would be nanoseconds"},
		{config: "pause: 2.5", want: "pause (2.5) has no unit: write 2.5ms"},
		{config: "pause: ${env:GENERATOR_PAUSE}", env: map[string]string{"GENERATOR_PAUSE": "250"}, want: "pause (250) has no unit: write 250ms"},
		{config: "pause: 0", pause: 0},
		{config: "pause: ${env:GENERATOR_PAUSE}", env: map[string]string{"GENERATOR_PAUSE": "0"}, pause: 0},
		{config: "pause: 250ms", pause: 250 * time.Millisecond},
		{config: "pause: ${env:GENERATOR_PAUSE}", env: map[string]string{"GENERATOR_PAUSE": "1s"}, pause: time.Second},
		{config: "stages: [{duration: 30s, rate: 100}, {duration: 30, rate: 100}]", want: "stages[1].duration (30) has no unit: write 30s; a bare number would be nanoseconds"},
		{config: "stages: [{duration: 0, rate: 100}]", want: "stages[0].duration (0s) must be positive"},
		{config: "align_start: 60", want: "align_start (60) has no unit: write 60s; a bare number would be nanoseconds"},
		{config: "align_start: 0", pause: defaultPause},
	} {
		t.Run(tt.config+fmt.Sprint(tt.env), func(t *testing.T) {
			cfg, err := resolve(t, tt.config, tt.env)
			require.NoError(t, err)
			if tt.want != "" {
				assert.ErrorContains(t, cfg.Validate(), tt.want)
				return
			}
			require.NoError(t, cfg.Validate())
			assert.Equal(t, tt.pause, cfg.Pause)
		})
	}
}

func TestEmptyValuesKeepTheDefaults(t *testing.T) {
	// What the shipped configuration does: leave pause and rate to the defaults
	// unless the variables are set.
	const config = "pause: ${env:GENERATOR_PAUSE:-}\nrate: ${env:GENERATOR_RATE:-}"
	cfg, err := resolve(t, config, nil)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, defaultPause, cfg.Pause, "not 0, which would run at full speed")
	assert.Zero(t, cfg.Rate)
	assert.False(t, cfg.decoded.pauseSet)
	assert.False(t, cfg.decoded.rateSet)

	cfg, err = resolve(t, config, map[string]string{"GENERATOR_PAUSE": "", "GENERATOR_RATE": ""})
	require.NoError(t, err)
	assert.Equal(t, defaultPause, cfg.Pause, "set but empty")
	assert.False(t, cfg.decoded.pauseSet)

	cfg, err = resolve(t, config, map[string]string{"GENERATOR_PAUSE": "0s", "GENERATOR_RATE": "5000"})
	require.NoError(t, err)
	assert.Zero(t, cfg.Pause)
	assert.Equal(t, 5000.0, cfg.Rate)
	assert.True(t, cfg.decoded.pauseSet)
	assert.True(t, cfg.decoded.rateSet)

	cfg, err = resolve(t, "pause:\nrate:", nil)
	require.NoError(t, err)
	assert.Equal(t, defaultPause, cfg.Pause, "null")
	assert.False(t, cfg.decoded.pauseSet)
}

func TestProblemsOfTheRawValuesAreReportedWithTheOthers(t *testing.T) {
	cfg, err := resolve(t, "instances: 10\nparallelism: 3\npause: 100\nreplica_index: otelcol", nil)
	require.NoError(t, err, "decoding goes on, so that Validate names every problem at once")
	err = cfg.Validate()
	assert.ErrorContains(t, err, "instances (10) must be a multiple of parallelism (3)")
	assert.ErrorContains(t, err, "pause (100) has no unit")
	assert.ErrorContains(t, err, `replica_index ("otelcol") is neither an integer of at least 0`)
}

func withReplicaIndex(index ReplicaIndex) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ReplicaIndex = index
	return cfg
}

func TestReplicaIndexFromText(t *testing.T) {
	tests := []struct {
		text    string
		want    ReplicaIndex
		wantErr string
	}{
		{text: "0", want: 0},
		{text: "3", want: 3},
		{text: " 4 ", want: 4},
		{text: "-1", want: -1}, // a number: Validate refuses it as negative
		{text: "otelcol-dummymetrics-2", want: 2},
		{text: "otelcol-dummymetrics-17", want: 17},
		{text: "web-007", want: 7},
		{text: "", want: 5}, // unset: the index stays as it was
		{text: "otelcol-dummymetrics", wantErr: `"otelcol-dummymetrics" is neither an integer of at least 0 nor a name that ends in -N`},
		{text: "otelcol-", wantErr: "is neither an integer of at least 0"},
		{text: "pod-2a", wantErr: "is neither an integer of at least 0"},
		{text: "pod-+2", wantErr: "is neither an integer of at least 0"},
		{text: "1.5", wantErr: "is neither an integer of at least 0"},
		{text: "pod-99999999999999999999", wantErr: `"pod-99999999999999999999" ends in an ordinal too large`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := ReplicaIndex(5)
			err := r.UnmarshalText([]byte(tt.text))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r)
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
		{name: "most workers", modify: func(c *Config) { c.Instances, c.Parallelism = 2048, 1024 }},
		{name: "too many workers", modify: func(c *Config) { c.Instances, c.Parallelism = 2050, 1025 },
			errs: []string{"parallelism (1025) must be at most 1024 workers"}},
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
		{name: "rate below one sample per second", modify: func(c *Config) { c.Rate = 0.5 },
			errs: []string{"rate (0.5) must be 0 (off) or at least 1 sample/s"}},
		{name: "one sample per second", modify: func(c *Config) { c.Rate = 1 }},
		{name: "rate with the most instances", modify: func(c *Config) { c.Instances, c.Rate = maxInstances, 2e10 }},
		{name: "rate above the most instances", modify: func(c *Config) { c.Instances, c.Rate = maxInstances, 2e10+1 },
			errs: []string{"rate (2.0000000001e+10) exceeds 2e+10 samples/s"}},
		{name: "rate with instances beyond the limit", modify: func(c *Config) { c.Instances, c.Rate = math.MaxInt, 1e12 },
			errs: []string{"instances (9223372036854775807) must be at most 10000000"}},
		{name: "not a number", modify: func(c *Config) { c.Rate = math.NaN() },
			errs: []string{"rate (NaN) must be a non-negative number"}},
		{name: "stages", modify: func(c *Config) {
			c.Stages = []Stage{{Duration: time.Minute, Rate: 0}, {Duration: time.Minute, Rate: 1, RampTo: new(120_000.0)}, {Duration: time.Hour, Rate: 120_000, RampTo: new(0.0)}}
		}},
		{name: "stage problems", modify: func(c *Config) {
			c.Stages = []Stage{
				{Duration: 0, Rate: 0.5},
				{Duration: -time.Second, Rate: 120_001, RampTo: new(-1.0)},
				{Duration: time.Second, Rate: 10, RampTo: new(math.Inf(1))},
			}
		}, errs: []string{
			"stages[0].duration (0s) must be positive",
			"stages[0].rate (0.5) must be 0 (off) or at least 1 sample/s",
			"stages[1].duration (-1s) must be positive",
			"stages[1].rate (120001) exceeds 120000 samples/s",
			"stages[1].ramp_to (-1) must be a non-negative number of samples per second",
			"stages[2].ramp_to (+Inf) must be a non-negative number of samples per second",
		}},
		{name: "stages with a rate", modify: func(c *Config) { c.Stages, c.Rate = []Stage{{Duration: time.Minute, Rate: 10}}, 100 },
			errs: []string{"stages and rate (100) are both set"}},
		{name: "stages with a pause left at its default", modify: func(c *Config) { c.Stages = []Stage{{Duration: time.Minute, Rate: 10}} }},
		{name: "stages with a pause set", modify: func(c *Config) {
			c.Stages, c.decoded.pauseSet = []Stage{{Duration: time.Minute, Rate: 10}}, true
		}, errs: []string{"stages and pause (100ms) are both set: stages replace pause and rate; leave pause out"}},
		{name: "stop after the stages", modify: func(c *Config) { c.AfterStages = AfterStagesStop }},
		{name: "unknown after_stages", modify: func(c *Config) { c.AfterStages = "repeat" },
			errs: []string{`after_stages ("repeat") must be "hold" or "stop"`}},
		{name: "align to a minute", modify: func(c *Config) { c.AlignStart = time.Minute }},
		{name: "align to a day", modify: func(c *Config) { c.AlignStart = 24 * time.Hour }},
		{name: "align to more than a day", modify: func(c *Config) { c.AlignStart = 25 * time.Hour },
			errs: []string{"align_start (25h0m0s) must be between 0s (start at once) and 24h0m0s"}},
		{name: "negative alignment", modify: func(c *Config) { c.AlignStart = -time.Second },
			errs: []string{"align_start (-1s) must be between 0s"}},
		{name: "instance_id on the resource", modify: func(c *Config) { c.InstanceIDLocation = InstanceIDOnResource }},
		{name: "unknown instance_id_location", modify: func(c *Config) { c.InstanceIDLocation = "scope" },
			errs: []string{`instance_id_location ("scope") must be "resource" or "data_point"`}},
		{name: "negative offset", modify: func(c *Config) { c.InstanceOffset = -1 },
			errs: []string{"instance_offset (-1) must not be negative"}},
		{name: "last index needs 11 digits", modify: func(c *Config) { c.InstanceOffset = 9_999_999_950 },
			errs: []string{"instance_offset (9999999950) with instances (60) reaches index 10000000009, which needs more than 10 digits"}},
		{name: "last index is the largest 10-digit one", modify: func(c *Config) { c.InstanceOffset = 9_999_999_940 }},
		{name: "offset near the int64 limit", modify: func(c *Config) { c.InstanceOffset = math.MaxInt64 },
			errs: []string{"instance_offset (9223372036854775807) with instances (60) reaches index 9223372036854775866, which needs more than 10 digits"}},
		{name: "replica index", modify: func(c *Config) { c.ReplicaIndex = 3 }},
		{name: "negative replica index", modify: func(c *Config) { c.ReplicaIndex = -1 },
			errs: []string{"replica_index (-1) must not be negative"}},
		{name: "last replica within 10 digits", modify: func(c *Config) { c.InstanceOffset, c.ReplicaIndex = 40, 166_666_665 }},
		{name: "replica index beyond 10 digits", modify: func(c *Config) { c.InstanceOffset, c.ReplicaIndex = 40, 166_666_666 },
			errs: []string{"instance_offset (40) + replica_index (166666666) × instances (60) reaches index 10000000059, which needs more than 10 digits"}},
		{name: "replica index near the int64 limit", modify: func(c *Config) { c.InstanceOffset, c.ReplicaIndex = math.MaxInt64, math.MaxInt64 },
			errs: []string{"instance_offset (9223372036854775807) + replica_index (9223372036854775807) × instances (60) reaches index 562625694248141324286"}},
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

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// runLogged starts a receiver of cfg on the wall clock, lets it run until
// enough says so, stops it, and returns its start and shutdown log lines' fields.
func runLogged(t *testing.T, cfg *Config, tel *componenttest.Telemetry, enough func(*consumertest.MetricsSink) bool) (started, stopped map[string]any) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return enough(sink) }, 10*time.Second, time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))
	start := logs.FilterMessage("Generating dummy CPU and Memory metrics").All()
	stop := logs.FilterMessage("Stopped generating dummy metrics").All()
	require.Len(t, start, 1)
	require.Len(t, stop, 1)
	return start[0].ContextMap(), stop[0].ContextMap()
}

func TestTheLogLinesOfTheScrapeShape(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism = 20, 2
	cfg.Scrape = ScrapeConfig{Interval: time.Second, Gauges: 1, Counters: 2, HistogramBuckets: 3, NativeHistogram: true, LabelLength: 16}
	cfg.Stages = []Stage{{Duration: time.Hour, ActiveSeries: 10 * 12}}
	started, stopped := runLogged(t, cfg, tel, func(sink *consumertest.MetricsSink) bool { return sink.DataPointCount() > 0 })

	assert.Equal(t, "scrape", started["shape"])
	assert.Equal(t, time.Second, started["interval"])
	assert.Equal(t, int64(12), started["series_per_instance"])
	assert.Equal(t, int64(20*12), started["series"], "the most: every slot active")
	assert.Equal(t, []any{"CPU:gauge", "Memory:gauge", "dummy_gauge_1:gauge", "dummy_counter_1:counter", "dummy_counter_2:counter",
		"dummy_histogram:histogram", "dummy_native_histogram:native_histogram"}, started["metrics"])

	assert.Equal(t, int64(0), stopped["stage_at_stop"])
	assert.Equal(t, int64(0), stopped["stale_markers"])
	accepted := stopped["accepted_samples"].(int64)
	assert.Positive(t, accepted)
	assert.Zero(t, accepted%12, "whole scrapes")
	byBlock := stopped["accepted_by_block"].(map[string]any)
	var sum int64
	for _, n := range byBlock {
		sum += n.(int64)
	}
	assert.Equal(t, accepted, sum)
	m, err := tel.GetMetric("otelcol_receiver_dummymetrics_accepted_samples")
	require.NoError(t, err)
	telemetry := map[string]any{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		block, _ := dp.Attributes.Value("instances")
		telemetry[block.AsString()] = dp.Value
	}
	for block, n := range byBlock {
		if n.(int64) > 0 {
			assert.Equal(t, n, telemetry[block], "the same blocks as the telemetry: %s", block)
		}
	}
	assert.Len(t, byBlock, 10, "5 blocks of 2 slots in each of the two shards")
	assert.Contains(t, byBlock, "I0000000018-I0000000019")
	assert.Equal(t, "I0000000000", started["first_instance"])
}

func TestTheStageAtStop(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	anyTime := func(*consumertest.MetricsSink) bool { return true }

	cfg := scrapeDefaults()
	cfg.Stages, cfg.AlignStart = []Stage{{Duration: time.Hour, ActiveSeries: 10}}, 24*time.Hour
	started, stopped := runLogged(t, cfg, tel, anyTime)
	assert.Equal(t, int64(-1), stopped["stage_at_stop"], "before align_start")
	assert.Equal(t, "scrape", started["shape"])

	cfg = scrapeDefaults()
	cfg.Stages, cfg.AfterStages = []Stage{{Duration: time.Millisecond, ActiveSeries: 10}, {Duration: time.Millisecond, ActiveSeries: 10}}, AfterStagesStop
	_, stopped = runLogged(t, cfg, tel, func(*consumertest.MetricsSink) bool { time.Sleep(10 * time.Millisecond); return true })
	assert.Equal(t, int64(2), stopped["stage_at_stop"], "after the last of two stages")

	seed := createDefaultConfig().(*Config)
	seed.Pause = time.Hour
	started, stopped = runLogged(t, seed, tel, anyTime)
	assert.Equal(t, int64(0), stopped["stage_at_stop"], "pause has one stage, for ever")
	assert.Equal(t, "seed", started["shape"])
	assert.NotContains(t, started, "interval")
	assert.Contains(t, stopped, "stale_markers")
	assert.Contains(t, stopped, "accepted_by_block")
}

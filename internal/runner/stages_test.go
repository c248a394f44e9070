// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStages(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Stage
	}{
		{"30s:10000,60s:10000-40000", []Stage{{Duration: 30 * time.Second, From: 1e4, To: 1e4}, {Duration: time.Minute, From: 1e4, To: 4e4}}},
		{" 1m:1_000_000 , 10s: 1.5M - 500k ,", []Stage{{Duration: time.Minute, From: 1e6, To: 1e6}, {Duration: 10 * time.Second, From: 1.5e6, To: 5e5}}},
		{"5s:0,5s:0-10k,1s:1,1s:0.5k", []Stage{{Duration: 5 * time.Second, From: 0, To: 0}, {Duration: 5 * time.Second, From: 0, To: 1e4}, {Duration: time.Second, From: 1, To: 1}, {Duration: time.Second, From: 500, To: 500}}},
	} {
		got, err := ParseStages(tc.text)
		require.NoError(t, err, tc.text)
		assert.Equal(t, tc.want, got, tc.text)
	}

	for _, tc := range []struct{ text, want string }{
		{"30s", `"30s" is not DURATION:RATE`},
		{"soon:10", `"soon:10" is not DURATION:RATE`},
		{"-5s:10", `"-5s:10" is not DURATION:RATE`},
		{"0s:10", `"0s:10" is not DURATION:RATE`},
		{"30s:-5", `"30s:-5": rates must be 0 (idle) or at least 1 sample/s`},
		{"30s:0.5", `"30s:0.5": rates must be`},
		{"30s:10-0.2", `"30s:10-0.2": rates must be`},
		{"30s:ten", `"30s:ten": rates must be`},
		{"30s:", `"30s:": rates must be`},
		{"30s:Inf", `"30s:Inf": rates must be`},
		{"30s:NaN", `"30s:NaN": rates must be`},
		{"", "-stages: no stage"},
		{" , ,", "-stages: no stage"},
	} {
		_, err := ParseStages(tc.text)
		require.Error(t, err, tc.text)
		assert.Contains(t, err.Error(), tc.want, tc.text)
	}

	// Every bad item is named, and the good ones are still parsed.
	got, err := ParseStages("10s:1k,bad,20s:x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"bad"`)
	assert.Contains(t, err.Error(), `"20s:x"`)
	assert.Equal(t, []Stage{{Duration: 10 * time.Second, From: 1e3, To: 1e3}}, got)
}

func TestCheckStages(t *testing.T) {
	stages := []Stage{{Duration: time.Second, From: 1e4, To: 1e4}, {Duration: time.Second, From: 5e3, To: 2e4}}
	require.NoError(t, CheckStages(stages[:1], 5)) // exactly 2 × 5 × 1000 samples/s
	err := CheckStages(stages, 5)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stage 2 (1s ramping 5000/s to 20000/s) asks for 20000 samples/s, more than the 5 instances carry (10000")
	assert.Contains(t, err.Error(), "raise -instances to at least 10")
	assert.NotContains(t, err.Error(), "stage 1 (")
	// The instances suggested are the fewest that carry the stage.
	require.NoError(t, CheckStages(stages, 10))
	require.Error(t, CheckStages(stages, 9))
	assert.Contains(t, CheckStages([]Stage{{Duration: time.Second, From: 2001, To: 2001}}, 1).Error(), "at least 2")
}

func TestStagesConfigAndTarget(t *testing.T) {
	stages := []Stage{{Duration: 30 * time.Second, From: 1e4, To: 1e4}, {Duration: time.Minute, From: 1e4, To: 4e4}, {Duration: 90 * time.Second, From: 2.5e6, To: 0}}
	assert.Equal(t, "yaml:receivers::dummymetrics: {stages: [{duration: 30s, rate: 10000}, {duration: 1m0s, rate: 10000, ramp_to: 40000}, "+
		"{duration: 1m30s, rate: 2500000, ramp_to: 0}], after_stages: stop}", Shape{}.ReceiverConfig(stages))
	assert.InDelta(t, 1e4, stages[0].Target(), 0)
	assert.InDelta(t, 2.5e4, stages[1].Target(), 0)
	assert.InDelta(t, 1.25e6, stages[2].Target(), 0)
	assert.Equal(t, "1m0s ramping 10000/s to 40000/s", stages[1].String())
}

func TestScrapeShape(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	shape := ShapeFlags(fs)
	require.NoError(t, fs.Parse([]string{"-shape", "scrape", "-interval", "15s", "-churn", "10m", "-counters", "3", "-histogram-buckets", "10", "-native-histogram", "-labels", "5:32"}))
	s, err := shape()
	require.NoError(t, err)
	assert.Equal(t, 2+3+13+1, s.SeriesPerInstance())
	assert.Equal(t, 2+3+1+1, s.PointsPerInstance())
	assert.InDelta(t, 19.0/7, s.SamplesPerPoint(), 1e-9)
	stages := []Stage{{Duration: 5 * time.Minute, From: 1e6, To: 1e6, Interval: s.Interval}, {Duration: 10 * time.Minute, From: 1e6, To: 5e6, Interval: s.Interval}}
	assert.InDelta(t, 1e6/15, stages[0].Target(), 1e-9, "samples/s: the active series over the interval")
	assert.InDelta(t, 3e6, stages[1].TargetSeries(), 0)
	assert.Equal(t, "10m0s ramping 1000000 active series to 5000000 active series", stages[1].String())
	assert.Equal(t, 263158, s.Instances(stages, 2), "⌈5 million / 19⌉, rounded up to a multiple of the workers")
	require.NoError(t, s.CheckStages(stages, 263158))
	require.ErrorContains(t, s.CheckStages(stages, 1000), "raise -instances to at least 263158")
	assert.Equal(t, "yaml:receivers::dummymetrics: {shape: scrape, scrape: {interval: 15s, churn: 10m0s, gauges: 0, counters: 3, histogram_buckets: 10, "+
		"native_histogram: true, labels: 5, label_length: 32}, stages: [{duration: 5m0s, active_series: 1000000}, {duration: 10m0s, active_series: 1000000, ramp_to: 5000000}], after_stages: stop}",
		s.ReceiverConfig(stages))

	for args, want := range map[string]string{
		"-shape=round":         `-shape "round": seed or scrape`,
		"-labels=5":            `-labels "5": N:LEN`,
		"-histogram-buckets=3": "need -shape scrape",
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		shape := ShapeFlags(fs)
		require.NoError(t, fs.Parse([]string{args}))
		_, err := shape()
		assert.ErrorContains(t, err, want, args)
	}
}

func TestStoredNames(t *testing.T) {
	assert.Equal(t, []string{"CPU", "Memory"}, StoredNames(nil))
	assert.Equal(t, []string{"CPU", "dummy_counter_1_total", "dummy_histogram_bucket", "dummy_histogram_sum", "dummy_histogram_count", "dummy_native_histogram"},
		StoredNames([]string{"CPU:gauge", "dummy_counter_1:counter", "dummy_histogram:histogram", "dummy_native_histogram:native_histogram"}))
}

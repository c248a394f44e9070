// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// TestLoadTestScrapeShape runs the scrape shape against a real Prometheus with
// churn, counters, a classic histogram and target labels: the read-back is exact,
// and series by series every sample is one interval after the one before, every
// counter only grows, and the churned generations are new series.
func TestLoadTestScrapeShape(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	code, out, v := loadTest(t, nil, "-url", prom.WriteURL, "-shape", "scrape", "-interval", "1s", "-churn", "4s",
		"-counters", "2", "-histogram-buckets", "3", "-labels", "3:12", "-stages", "10s:600")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	require.Len(t, v.Stages, 1)
	s := v.Stages[0]
	assert.True(t, s.Passed, s.Reason)
	assert.InDelta(t, 600, s.TargetActiveSeries, 0)
	assert.InDelta(t, 600, s.ActiveSeries, 30, "60 instances of 10 series, taken by the backend")
	assert.InDelta(t, 600, s.TargetSamplesPerSecond, 0, "600 series at 1 s")
	assert.InDelta(t, 600, s.SentSamplesPerSecond, 30)
	assert.Greater(t, s.SeriesCreatedPerSecond, 100.0, "churn: 600 series every 4 s, and the first ones")
	assert.InDelta(t, 600, v.SustainedActiveSeries, 30)
	require.NotNil(t, v.ReadBack)
	assert.True(t, v.ReadBack.Exact)
	assert.Positive(t, v.ReadBack.StoredSamples)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "every acknowledged sample, staleness markers left out")
	assert.Equal(t, v.ReadBack.SeriesExpected, v.ReadBack.SeriesFound)
	assert.Greater(t, v.ReadBack.SeriesFound, 600.0, "churned generations are series of their own")

	all := storedSeries(t, prom, `{InstanceId=~"I.*"}`)
	names, churned := map[string]int{}, 0
	for _, series := range all {
		names[string(series.Metric[model.MetricNameLabel])]++
		if strings.Contains(string(series.Metric["InstanceId"]), "-") {
			churned++
		}
		for _, label := range []string{"namespace", "pod", "node"} {
			assert.Len(t, string(series.Metric[model.LabelName(label)]), 12, "%s of %v", label, series.Metric)
		}
		for i := 1; i < len(series.Values); i++ {
			assert.Equal(t, model.Time(1000), series.Values[i].Timestamp-series.Values[i-1].Timestamp, "%v: one sample per interval", series.Metric)
			if strings.HasSuffix(string(series.Metric[model.MetricNameLabel]), "_total") {
				assert.Greater(t, series.Values[i].Value, series.Values[i-1].Value, "%v: a counter grows", series.Metric)
			}
		}
	}
	assert.Positive(t, churned)
	for _, name := range []string{"CPU", "Memory", "dummy_counter_1_total", "dummy_counter_2_total", "dummy_histogram_sum", "dummy_histogram_count"} {
		assert.Positive(t, names[name], name)
	}
	assert.Equal(t, 4*names["dummy_histogram_count"], names["dummy_histogram_bucket"], "B + 1 buckets, +Inf included")
}

// TestLoadTestActiveSeriesRamp ramps active series into a backend that holds 500
// series: the verdict names the series limit at the stage that crossed it.
func TestLoadTestActiveSeriesRamp(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.LimitIngestion(backend.QuotaOptions{Series: 500}, backend.Forward(prom.URL)))
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-shape", "scrape", "-interval", "1s", "-stages", "6s:200,10s:200-2000,6s:2000")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	require.Len(t, v.Stages, 2, "the load stops at the stage that failed")
	assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
	assert.Equal(t, 2, v.Limit.Stage)
	assert.Contains(t, v.Limit.Reason, "400 series limit exceeded (per user)")
	assert.InDelta(t, 200, v.SustainedActiveSeries, 10)
	require.NotNil(t, v.ReadBack)
	assert.Empty(t, v.ReadBack.Problem, "rejected is not missing")
}

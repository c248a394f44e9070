// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// TestLoadTestFleetFindsTheIngestionRateLimit runs two collectors against the
// quota of TestLoadTestFindsTheIngestionRateLimit with the same total stages:
// one verdict finds the same limit, each collector carries half, and the
// read-back covers both ranges.
func TestLoadTestFleetFindsTheIngestionRateLimit(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	quota := backend.LimitIngestion(backend.QuotaOptions{SamplesPerSecond: 20000}, backend.Forward(prom.URL))
	srv := standIn(t, quota)
	lt := runLoadTest(t, nil, "-url", srv.WriteURL, "-collectors", "2", "-instances", "2000", "-stages", "8s:5000,8s:15000,8s:40000")
	v := lt.verdict
	require.NotNil(t, v, lt.out)
	assert.Equal(t, 0, lt.code)
	assert.Equal(t, 2, v.Collectors)
	require.Len(t, v.Stages, 3)
	assert.True(t, v.Stages[1].Passed, v.Stages[1].Reason)
	assert.InDelta(t, 15000, v.SustainedSamplesPerSecond, 1500, "the last stage below the quota")
	assert.Equal(t, 3, v.Limit.Stage)
	assert.Contains(t, v.Limit.Reason, "429 ingestion rate limit exceeded")
	for _, s := range v.Stages[:2] {
		require.Len(t, s.Collectors, 2)
		for _, c := range s.Collectors {
			assert.InDelta(t, s.TargetSamplesPerSecond/2, c.SentSamplesPerSecond, s.TargetSamplesPerSecond*0.05, "%s carries half of stage %s", c.Name, s.Stage)
		}
	}
	require.NotNil(t, v.ReadBack)
	assert.Empty(t, v.ReadBack.Problem)
	assert.LessOrEqual(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples)
	assert.LessOrEqual(t, v.ReadBack.StoredSamples, v.ReadBack.SentSamples+v.ReadBack.FailedSamples)
	assert.Greater(t, v.ReadBack.SeriesFound, 7900.0, "both ranges: 2 × 2,000 instances, 2 series each (a short run leaves a few unwritten)")
	assert.LessOrEqual(t, v.ReadBack.SeriesFound, v.ReadBack.SeriesExpected)
}

// TestLoadTestFleetNamesTheStarvedCollector delays only the writes of the second
// collector's instances: the fleet falls short, and the verdict names that
// collector and why, not the backend.
func TestLoadTestFleetNamesTheStarvedCollector(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	second := func(s backend.Series) bool { return strings.Contains(s.Labels, "InstanceId=I0000001") }
	srv := standIn(t, backend.SlowWhere(second, 500*time.Millisecond, backend.Forward(prom.URL)))
	lt := runLoadTest(t, nil, "-url", srv.WriteURL, "-collectors", "2", "-gen", "1", "-instances", "1000", "-stages", "10s:20000")
	v := lt.verdict
	require.NotNil(t, v, lt.out)
	assert.Equal(t, 0, lt.code)
	require.Len(t, v.Stages, 1)
	s := v.Stages[0]
	assert.False(t, s.Passed)
	assert.Regexp(t, `^1 of 2 collectors fell behind while the backend answered in time .*: collector 2 fell behind by [\d,]+ samples \(sending was latency-bound`, s.Reason)
	require.Len(t, s.Collectors, 2)
	assert.Empty(t, s.Collectors[0].CollectorLimit, "collector 1 kept up")
	assert.Equal(t, runner.LimitSending, s.Collectors[1].CollectorLimit)
	require.NotNil(t, v.ReadBack)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "read back exactly over both ranges")
}

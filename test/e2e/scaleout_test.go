// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// TestScaleOut runs three collectors as three replicas of a scale-out deployment
// do: the same configuration and N, each with its own GENERATOR_INSTANCE_OFFSET
// (0, N, 2N), all writing to one Prometheus. Prometheus must hold exactly the
// 2 × 3N series of instances 0 .. 3N-1, each collector's range disjoint from the
// others', with nothing rejected, and every sample each collector emitted stored.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	const (
		replicas = 3
		n        = 20 // instances per replica
	)
	prom := startPrometheus(t, runner.PrometheusOptions{})

	cols := make([]*runner.Collector, replicas)
	for k := range replicas {
		cols[k] = startCollector(t, map[string]string{
			"PROMETHEUS_WRITE_URL":      prom.WriteURL,
			"GENERATOR_INSTANCES":       strconv.Itoa(n),
			"GENERATOR_PARALLELISM":     "2",
			"GENERATOR_INSTANCE_OFFSET": strconv.Itoa(k * n),
			"GENERATOR_PAUSE":           "10ms",
		})
	}
	time.Sleep(10 * time.Second)

	emitted := make([]int64, replicas)
	for k, col := range cols {
		code, err := col.Stop(60 * time.Second)
		require.NoError(t, err, "collector %d", k)
		require.Zero(t, code, "collector %d: a SIGTERM ends the collector cleanly", k)
		log := col.Log()
		assert.Empty(t, problems(log), "collector %d", k)
		report := receiverReport(t, log)
		assert.Zero(t, report.Refused, "collector %d", k)
		emitted[k] = report.Emitted
		assert.Positive(t, emitted[k], "collector %d", k)
	}

	series := storedSeries(t, prom, `{__name__=~".+"}`)
	stored := make([]int64, replicas)
	ids := map[string]int{}
	names := map[string]int{}
	for _, s := range series {
		require.Len(t, s.Metric, 2, "only __name__ and InstanceId: %v", s.Metric)
		id := string(s.Metric["InstanceId"])
		ids[id]++
		names[string(s.Metric["__name__"])]++
		var index int
		_, err := fmt.Sscanf(id, "I%010d", &index)
		require.NoError(t, err, "InstanceId %q", id)
		require.Less(t, index, replicas*n, "InstanceId %s is beyond the %d instances of %d replicas", id, replicas*n, replicas)
		stored[index/n] += int64(len(s.Values))
	}

	// Exactly the series of 3N instances, each InstanceId with its CPU and Memory.
	assert.Len(t, series, 2*replicas*n)
	assert.Equal(t, map[string]int{"CPU": replicas * n, "Memory": replicas * n}, names)
	want := map[string]int{}
	for i := range replicas * n {
		want[fmt.Sprintf("I%010d", i)] = 2
	}
	if !assert.Equal(t, want, ids, "InstanceIds I0000000000 .. I%010d, each with two series", replicas*n-1) {
		got := make([]string, 0, len(ids))
		for id := range ids {
			got = append(got, id)
		}
		sort.Strings(got)
		t.Logf("stored InstanceIds: %v", got)
	}

	// Each collector's samples, to the sample, in its own range of instances.
	var total int64
	for k := range replicas {
		t.Logf("collector %d (instances %d..%d): emitted %d samples, Prometheus stored %d", k, k*n, (k+1)*n-1, emitted[k], stored[k])
		assert.Equal(t, emitted[k], stored[k], "collector %d: samples emitted and stored for instances [%d, %d)", k, k*n, (k+1)*n)
		total += emitted[k]
	}

	promMetrics := scrapePrometheus(t, prom)
	assert.Equal(t, float64(total), promMetrics.Sum("prometheus_tsdb_head_samples_appended_total", nil),
		"Prometheus appended exactly the samples the three collectors emitted")
	assert.Equal(t, float64(2*replicas*n), promMetrics.Sum("prometheus_tsdb_head_series", nil))
	for _, counter := range []string{
		"prometheus_tsdb_out_of_order_samples_total",
		"prometheus_tsdb_out_of_bound_samples_total",
		"prometheus_tsdb_too_old_samples_total",
	} {
		assert.Zero(t, promMetrics.Sum(counter, nil), counter)
	}
	for _, code := range []string{"400", "409", "413", "429", "500", "503"} {
		assert.Zero(t, promMetrics.Sum("prometheus_http_requests_total", map[string]string{"handler": "/api/v1/write", "code": code}), "HTTP %s", code)
	}
}

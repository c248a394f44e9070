// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/procstat"
	"github.com/ampload/otelcol-dummymetrics/internal/scrape"
)

func result(gen, sink int, mode Mode, stored float64, cpu time.Duration) Result {
	return Result{
		Point:  Point{GenParallelism: gen, SinkParallelism: sink, Instances: 50000, Mode: mode},
		Window: 10 * time.Second, Stored: stored, Emitted: stored, CollectorCPU: cpu, PromCPU: cpu / 2,
		RSSStart: 60 << 20, RSSEnd: 61 << 20, RSSPeak: 70 << 20,
	}
}

func TestRenderTable(t *testing.T) {
	ok := result(2, 4, Ordered, 4_500_000, 5*time.Second)
	ok.EnqueueFailed, ok.Refused, ok.SendFailed = 100, 20, 3
	ok.Rejected = 7
	failed := Result{Point: Point{GenParallelism: 1, SinkParallelism: 8, Instances: 60, Pace: Pace{Rate: 1000}, Mode: Unordered}, Err: "prometheus exited | badly"}

	var b strings.Builder
	require.NoError(t, RenderTable(&b, []Result{ok, failed}))
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	columns := func(line string) int { return strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1 }
	for _, l := range lines {
		assert.Equal(t, len(tableHeader), columns(l), "every row has every column: %s", l)
	}
	row := strings.Split(lines[2], " | ")
	cell := func(name string) string {
		for i, h := range tableHeader {
			if h == name {
				return strings.Trim(row[i], "| ")
			}
		}
		t.Fatalf("no column %q", name)
		return ""
	}
	assert.Equal(t, "450k", cell("stored/s"))
	assert.Equal(t, "123", cell("dropped"), "refused + failed + dropped at the queue")
	assert.Equal(t, "7", cell("rejected (OOO…)"))
	assert.Equal(t, "1.11", cell("collector µs/sample"), "5 s of CPU for 4.5M samples")
	assert.Equal(t, "0.50", cell("collector cores"))
	assert.Equal(t, "60→61, 70", cell("collector RSS MiB (start→end, peak)"))
	assert.Equal(t, "0.56", cell("Prometheus µs/sample"))
	assert.Contains(t, lines[3], `error: prometheus exited \| badly`)
	assert.Contains(t, lines[3], "| rate=1000 | unordered |")
}

func TestHumanCount(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {999, "999"}, {1234, "1.23k"}, {12345, "12.3k"}, {456789, "457k"}, {1_234_567, "1.23M"}, {math.NaN(), "–"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, humanCount(tt.in), "%v", tt.in)
	}
}

func TestResultRatesWithoutData(t *testing.T) {
	var r Result
	assert.Zero(t, r.StoredPerSecond())
	assert.True(t, math.IsNaN(r.CollectorMicrosPerSample()), "no sample stored: no cost per sample")
	assert.Zero(t, cores(time.Second, 0))
}

func TestChartSeries(t *testing.T) {
	results := []Result{
		result(2, 4, Ordered, 3e6, time.Second),
		result(2, 1, Ordered, 1e6, time.Second),
		result(1, 1, Ordered, 1e6, time.Second),
		result(2, 1, Unordered, 1e6, time.Second),
		{Point: Point{GenParallelism: 2, SinkParallelism: 2, Instances: 50000, Mode: Ordered}, Err: "failed"},
	}
	lines := chartSeries(results)
	require.Len(t, lines, 3)
	assert.Equal(t, "gen=2 ordered", lines[0].label)
	require.Len(t, lines[0].points, 2, "the failed point is left out")
	assert.Equal(t, 1, lines[0].points[0].Point.SinkParallelism, "sorted by sink parallelism")
	assert.Equal(t, "gen=1 ordered", lines[1].label)
	assert.Equal(t, "gen=2 unordered", lines[2].label)

	// When the instances or the pace differ between points, the labels say so.
	other := result(2, 1, Ordered, 1e6, time.Second)
	other.Point.Instances, other.Point.Pace = 60, Pace{Rate: 5}
	lines = chartSeries([]Result{results[0], other})
	require.Len(t, lines, 2)
	assert.Equal(t, "gen=2 ordered instances=50000 pause=0", lines[0].label)
	assert.Equal(t, "gen=2 ordered instances=60 rate=5", lines[1].label)

	// Runs merged with -replot stay apart by their tags.
	tagged := result(2, 4, Ordered, 3e6, time.Second)
	tagged.Point.Tag = "queue off"
	lines = chartSeries([]Result{results[0], tagged})
	require.Len(t, lines, 2)
	assert.Equal(t, "gen=2 ordered (queue off)", lines[1].label)
	var b strings.Builder
	require.NoError(t, RenderTable(&b, []Result{tagged}))
	assert.Contains(t, b.String(), "| ordered, queue off |")
}

func TestWriteChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.svg")
	results := []Result{result(2, 1, Ordered, 1e6, time.Second), result(2, 2, Ordered, 2e6, time.Second), result(2, 1, Unordered, 1e6, time.Second)}
	require.NoError(t, WriteChart(path, "test chart", results))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	svg := string(b)
	assert.True(t, strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || strings.Contains(svg, "<svg"), "an SVG document")
	assert.Contains(t, svg, "test chart")
	assert.Contains(t, svg, "gen=2 unordered")
	assert.Contains(t, svg, "collector CPU µs per stored sample")
	assert.Less(t, len(b), 200_000, "small enough to commit")

	png := filepath.Join(t.TempDir(), "chart.png")
	require.NoError(t, WriteChart(png, "test chart", results))
	b, err = os.ReadFile(png)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "\x89PNG"), "a PNG image")

	require.ErrorContains(t, WriteChart(path, "none", []Result{{Err: "x"}}), "no measured point")
	require.ErrorContains(t, WriteChart(filepath.Join(t.TempDir(), "chart.gif"), "x", results), "must end in .svg or .png")
}

func TestDiff(t *testing.T) {
	parse := func(text string) scrape.Metrics {
		parser := expfmt.NewTextParser(model.UTF8Validation)
		m, err := parser.TextToMetricFamilies(strings.NewReader(text))
		require.NoError(t, err)
		return m
	}
	t0 := time.Unix(1000, 0)
	a := snapshot{
		at: t0,
		prom: parse(`prometheus_tsdb_head_samples_appended_total{type="float"} 1000
prometheus_tsdb_out_of_order_samples_total{type="float"} 1
prometheus_http_requests_total{handler="/api/v1/write",code="204"} 10
prometheus_http_requests_total{handler="/api/v1/write",code="400"} 1
`),
		collector: parse(`otelcol_receiver_accepted_metric_points_total{receiver="dummymetrics"} 2000
otelcol_exporter_sent_metric_points_total{exporter="prometheus_remote_write"} 1000
`),
		colCPU: time.Second, promCPU: 2 * time.Second, selfCPU: 0,
		machine: procstat.MachineCPU{Busy: 10 * time.Second},
		colMem:  procstat.Memory{RSS: 50 << 20, Peak: 60 << 20},
	}
	b := snapshot{
		at: t0.Add(10 * time.Second),
		prom: parse(`prometheus_tsdb_head_samples_appended_total{type="float"} 5001000
prometheus_tsdb_head_out_of_order_samples_appended_total{type="float"} 300
prometheus_tsdb_out_of_order_samples_total{type="float"} 5
prometheus_tsdb_too_old_samples_total{type="float"} 2
prometheus_http_requests_total{handler="/api/v1/write",code="204"} 500
prometheus_http_requests_total{handler="/api/v1/write",code="400"} 3
`),
		collector: parse(`otelcol_receiver_accepted_metric_points_total{receiver="dummymetrics"} 5002000
otelcol_receiver_refused_metric_points_total{receiver="dummymetrics"} 40
otelcol_exporter_sent_metric_points_total{exporter="prometheus_remote_write"} 5001000
otelcol_exporter_enqueue_failed_metric_points_total{exporter="prometheus_remote_write"} 16384
`),
		colCPU: 6 * time.Second, promCPU: 9 * time.Second, selfCPU: 100 * time.Millisecond,
		machine: procstat.MachineCPU{Busy: 23 * time.Second},
		colMem:  procstat.Memory{RSS: 55 << 20, Peak: 70 << 20},
	}
	r := diff(Point{SinkParallelism: 2}, a, b)
	assert.Equal(t, 10*time.Second, r.Window)
	assert.InDelta(t, 5e6, r.Stored, 0)
	assert.InDelta(t, 500_000, r.StoredPerSecond(), 0)
	assert.InDelta(t, 300, r.OOOAccepted, 0)
	assert.InDelta(t, 6, r.Rejected, 0, "4 more out of order and 2 too old")
	assert.InDelta(t, 2, r.WriteErrors, 0)
	assert.InDelta(t, 5e6+40, r.Emitted, 0, "accepted + refused")
	assert.InDelta(t, 16384+40, r.Dropped(), 0)
	assert.Equal(t, 5*time.Second, r.CollectorCPU)
	assert.InDelta(t, 1.0, r.CollectorMicrosPerSample(), 1e-9)
	assert.Equal(t, 7*time.Second, r.PromCPU)
	assert.Equal(t, 900*time.Millisecond, r.OtherCPU, "13 s busy - 5 - 7 - 0.1")
	assert.Equal(t, int64(50<<20), r.RSSStart)
	assert.Equal(t, int64(70<<20), r.RSSPeak)
}

func TestReplot(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	write := func(dir string, rs []Result) {
		b, err := json.Marshal(rs)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644))
	}
	write(dirA, []Result{result(2, 1, Ordered, 1e6, time.Second)})
	write(dirB, []Result{result(2, 2, Unordered, 2e6, time.Second)})
	var out strings.Builder
	require.NoError(t, replot([]string{dirA, dirB}, "", &out))
	assert.Equal(t, 2+2, strings.Count(out.String(), "\n|")+1, "header, separator and both runs' rows")
	assert.Contains(t, out.String(), "| unordered |")
	for _, name := range []string{"chart.svg", "chart.png"} {
		_, err := os.Stat(filepath.Join(dirA, name))
		assert.NoError(t, err, name)
	}
	require.Error(t, replot([]string{t.TempDir()}, "", &out), "no results.json")
}

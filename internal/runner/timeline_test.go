// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// telemetry is the collector's telemetry with the given counters, the target
// rate, and the requests answered 200 (within 0.1 s) and 429 (within 1 s).
func telemetry(t *testing.T, accepted, refused, sent, failed, dropped, target, ok, throttled float64) Metrics {
	return parseMetrics(t, fmt.Sprintf(`# TYPE otelcol_receiver_accepted_metric_points_total counter
otelcol_receiver_accepted_metric_points_total %[1]v
# TYPE otelcol_receiver_refused_metric_points_total counter
otelcol_receiver_refused_metric_points_total %[2]v
# TYPE otelcol_exporter_sent_metric_points_total counter
otelcol_exporter_sent_metric_points_total %[3]v
# TYPE otelcol_exporter_send_failed_metric_points_total counter
otelcol_exporter_send_failed_metric_points_total %[4]v
# TYPE otelcol_exporter_enqueue_failed_metric_points_total counter
otelcol_exporter_enqueue_failed_metric_points_total %[5]v
# TYPE otelcol_receiver_dummymetrics_target_rate gauge
otelcol_receiver_dummymetrics_target_rate %[6]v
# TYPE http_client_request_duration histogram
http_client_request_duration_bucket{http_response_status_code="200",le="0.1"} %[7]v
http_client_request_duration_bucket{http_response_status_code="200",le="1"} %[7]v
http_client_request_duration_bucket{http_response_status_code="200",le="+Inf"} %[7]v
http_client_request_duration_sum{http_response_status_code="200"} 0
http_client_request_duration_count{http_response_status_code="200"} %[7]v
http_client_request_duration_bucket{http_response_status_code="429",le="0.1"} 0
http_client_request_duration_bucket{http_response_status_code="429",le="1"} %[8]v
http_client_request_duration_bucket{http_response_status_code="429",le="+Inf"} %[8]v
http_client_request_duration_sum{http_response_status_code="429"} 0
http_client_request_duration_count{http_response_status_code="429"} %[8]v
`, accepted, refused, sent, failed, dropped, target, ok, throttled))
}

func snapshots(t *testing.T, start time.Time) []Snapshot {
	return []Snapshot{
		{At: start, Collector: telemetry(t, 0, 0, 0, 0, 0, 1000, 0, 0)},
		{At: start.Add(time.Second), Collector: telemetry(t, 1000, 0, 900, 100, 0, 1000, 9, 1),
			CollectorUsage: Usage{CPU: 500 * time.Millisecond, RSS: 100 << 20}},
		{At: start.Add(2 * time.Second), Collector: telemetry(t, 3000, 10, 2800, 100, 50, 2000, 27, 1),
			CollectorUsage: Usage{CPU: 1500 * time.Millisecond, RSS: 120 << 20}},
	}
}

func TestTimeline(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	snaps := snapshots(t, start)
	moments := timeline(snaps, start, time.Second)
	require.Len(t, moments, 2)
	m := moments[0]
	assert.Equal(t, []float64{1, 1000, 1000, 900, 100, 0.5, 100}, []float64{m.Seconds, m.Target, m.Emitted, m.Sent, m.Lost, m.Cores, m.RSSMiB})
	assert.Equal(t, map[string]float64{"200": 9, "429": 1}, m.Responses)
	assert.InDelta(t, 0.1+0.9*(0.99*10-9), m.Latency.P99, 1e-9, "the 99th request is one of the 429s")
	m = moments[1]
	assert.Equal(t, []float64{2, 2000, 2010, 1900, 60, 1, 120}, []float64{m.Seconds, m.Target, m.Emitted, m.Sent, m.Lost, m.Cores, m.RSSMiB})
	assert.Equal(t, map[string]float64{"200": 18}, m.Responses, "no 429 in the second second")
	assert.InDelta(t, 0.099, m.Latency.P99, 1e-9)

	// Over a longer span, the second moment spans both seconds.
	m = timeline(snaps, start, 2*time.Second)[1]
	assert.Equal(t, []float64{1505, 1400, 80}, []float64{m.Emitted, m.Sent, m.Lost})
	assert.Equal(t, map[string]float64{"200": 13.5, "429": 0.5}, m.Responses)

	assert.Empty(t, timeline(snaps[:1], start, time.Second))
}

func TestTimelineCharts(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	moments := timeline(snapshots(t, start), start, time.Second)
	charts := TimelineCharts(moments)
	require.Len(t, charts, 3)
	labels := func(c Chart) []string {
		var out []string
		for _, l := range c.Lines {
			out = append(out, l.Label)
		}
		return out
	}
	rates := charts[0]
	assert.Equal(t, []string{"target", "acknowledged", "emitted", "lost"}, labels(rates))
	assert.True(t, rates.Lines[0].Dashed)
	assert.False(t, rates.Lines[1].Dashed)
	assert.Equal(t, Line{Label: "acknowledged", X: []float64{1, 2}, Y: []float64{900, 1900}}, rates.Lines[1])
	assert.Equal(t, []float64{100, 60}, rates.Lines[3].Y)
	assert.Equal(t, []string{"p50", "p90", "p99"}, labels(charts[1]))
	assert.InDelta(t, moments[0].Latency.P99*1e3, charts[1].Lines[2].Y[0], 1e-9, "in ms")
	assert.Equal(t, []string{"200", "429"}, labels(charts[2]), "one line per status")
	assert.Equal(t, []float64{1, 0}, charts[2].Lines[1].Y)

	moments[1].Stored = 1800
	rates = TimelineCharts(moments)[0]
	assert.Equal(t, []string{"target", "acknowledged", "emitted", "lost", "stored (read back)"}, labels(rates))
	assert.Equal(t, []float64{0, 1800}, rates.Lines[4].Y)
	assert.Empty(t, TimelineCharts(nil)[2].Lines)
}

func TestRender(t *testing.T) {
	chart := Chart{Title: "rates", XLabel: "s", YLabel: "samples/s", XTicks: []float64{1, 2, 4}, Lines: []Line{
		{Label: "kept", X: []float64{1, 2, 3, 4}, Y: []float64{1, math.NaN(), math.Inf(1), 4}, Points: true},
		{Label: "allnan", X: []float64{1, 2}, Y: []float64{math.NaN(), math.NaN()}, Dashed: true},
	}}
	svg, err := Render("svg", chart, Chart{Title: "empty"})
	require.NoError(t, err, "NaN and infinite points are skipped")
	assert.Contains(t, string(svg), "<svg")
	assert.Contains(t, string(svg), ">kept<")
	assert.NotContains(t, string(svg), "allnan", "a line without a point has no legend")

	png, err := Render("png", chart)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")))

	_, err = Render("jpg", chart)
	require.ErrorContains(t, err, `chart format "jpg": svg or png`)

	path := filepath.Join(t.TempDir(), "chart.PNG")
	require.NoError(t, WriteChart(path, chart))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG")))
	require.Error(t, WriteChart(filepath.Join(t.TempDir(), "chart.gif"), chart))
}

// timeline is the points a Recorder makes of snaps.
func timeline(snaps []Snapshot, start time.Time, span time.Duration) []Moment {
	r := NewRecorder(start, span, 1000)
	for _, s := range snaps {
		r.Add(s)
	}
	return r.Moments()
}

// TestRecorderKeepsFewPoints: a long run's points are halved past the maximum,
// the newest kept, and only the snapshots a point's span reaches are held.
func TestRecorderKeepsFewPoints(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := NewRecorder(start, 2*time.Second, 10)
	for i := range 100 {
		r.Add(Snapshot{At: start.Add(time.Duration(i) * time.Second), Collector: telemetry(t, float64(1000*i), 0, float64(900*i), 0, 0, 1000, float64(i), 0)})
		assert.LessOrEqual(t, len(r.recent), 4, "snapshot %d: only those the next span reaches", i)
	}
	moments := r.Moments()
	assert.LessOrEqual(t, len(moments), 10)
	assert.GreaterOrEqual(t, len(moments), 5)
	assert.InDelta(t, 99, moments[len(moments)-1].Seconds, 1e-9, "the newest point kept")
	for i := 1; i < len(moments); i++ {
		assert.Greater(t, moments[i].Seconds, moments[i-1].Seconds)
	}
	acked := r.Acked()
	assert.InDelta(t, 900*99, acked[len(acked)-1].Samples, 0)
}

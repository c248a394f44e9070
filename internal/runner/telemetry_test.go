// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exposition = `# TYPE otelcol_exporter_sent_metric_points_total counter
otelcol_exporter_sent_metric_points_total{exporter="prw"} 100
otelcol_exporter_sent_metric_points_total{exporter="other"} 50
# TYPE otelcol_receiver_accepted_metric_points counter
otelcol_receiver_accepted_metric_points 7
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{exporter="prw"} 3
# TYPE build_info untyped
build_info{version="1"} 2
# TYPE http_client_request_duration histogram
http_client_request_duration_bucket{http_response_status_code="200",le="0.1"} 5
http_client_request_duration_bucket{http_response_status_code="200",le="0.5"} 8
http_client_request_duration_bucket{http_response_status_code="200",le="+Inf"} 10
http_client_request_duration_sum{http_response_status_code="200"} 3
http_client_request_duration_count{http_response_status_code="200"} 10
http_client_request_duration_bucket{error_type="timeout",le="0.1"} 0
http_client_request_duration_bucket{error_type="timeout",le="0.5"} 0
http_client_request_duration_bucket{error_type="timeout",le="+Inf"} 2
http_client_request_duration_sum{error_type="timeout"} 10
http_client_request_duration_count{error_type="timeout"} 2
`

func TestScrapeAndSums(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			_, _ = w.Write([]byte(exposition))
		case "/garbage":
			_, _ = w.Write([]byte("no_value_here\n"))
		default:
			http.Error(w, "nope", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	m, err := Scrape(t.Context(), srv.URL+"/metrics")
	require.NoError(t, err)

	_, err = Scrape(t.Context(), srv.URL+"/down")
	require.ErrorContains(t, err, "503")
	_, err = Scrape(t.Context(), srv.URL+"/garbage")
	require.ErrorContains(t, err, "parsing "+srv.URL+"/garbage")

	for _, name := range []string{"otelcol_exporter_sent_metric_points", "otelcol_exporter_sent_metric_points_total"} {
		assert.InDelta(t, 150, m.Sum(name, nil), 0, name)
		assert.InDelta(t, 100, m.Sum(name, map[string]string{"exporter": "prw"}), 0, name)
		assert.Equal(t, map[string]float64{"prw": 100, "other": 50}, m.By(name, "exporter", nil), name)
		assert.True(t, m.Has(name), name)
	}
	for _, name := range []string{"otelcol_receiver_accepted_metric_points", "otelcol_receiver_accepted_metric_points_total"} {
		assert.InDelta(t, 7, m.Sum(name, nil), 0, name)
		assert.True(t, m.Has(name), name)
	}
	assert.InDelta(t, 0, m.Sum("otelcol_exporter_sent_metric_points", map[string]string{"exporter": "none"}), 0)
	assert.InDelta(t, 0, m.Sum("otelcol_exporter_sent_metric_points", map[string]string{"exporter": "prw", "pipeline": "x"}), 0)
	assert.InDelta(t, 3, m.Sum(MetricQueueSize, nil), 0)
	assert.InDelta(t, 2, m.Sum("build_info", nil), 0)
	assert.Equal(t, map[string]float64{"prw": 3}, m.By(MetricQueueSize, "exporter", nil))
	assert.InDelta(t, 0, m.Sum("absent_total", nil), 0)
	assert.False(t, m.Has("absent"))
	assert.Equal(t, map[string]float64{"200": 10, "timeout": 2}, m.CountBy(MetricRequests, "http_response_status_code", "error_type"))
}

func TestHistogram(t *testing.T) {
	m := parseMetrics(t, exposition)
	h := m.Histogram(MetricRequests, nil)
	assert.Equal(t, Histogram{Bounds: []float64{0.1, 0.5, math.Inf(1)}, Counts: []float64{5, 8, 12}, Count: 12, Sum: 13}, h)
	assert.InDelta(t, 10, m.Histogram(MetricRequests, map[string]string{"http_response_status_code": "200"}).Count, 0)

	// As histogram_quantile: interpolated within the bucket; the largest finite
	// bound in the +Inf bucket.
	for q, want := range map[float64]float64{0.25: 0.06, 0.5: 0.1 + 0.4/3, 5.0 / 12: 0.1, 0.99: 0.5} {
		assert.InDelta(t, want, h.Quantile(q), 1e-12, "q=%v", q)
	}
	assert.True(t, math.IsNaN(Histogram{}.Quantile(0.5)))
	assert.True(t, math.IsNaN(m.Histogram("absent", nil).Quantile(0.5)))
	assert.True(t, math.IsNaN(h.Minus(h).Quantile(0.99)))

	earlier := parseMetrics(t, `# TYPE http_client_request_duration histogram
http_client_request_duration_bucket{le="0.1"} 2
http_client_request_duration_bucket{le="0.5"} 3
http_client_request_duration_bucket{le="+Inf"} 4
http_client_request_duration_sum 1
http_client_request_duration_count 4
`).Histogram(MetricRequests, nil)
	d := h.Minus(earlier)
	assert.Equal(t, Histogram{Bounds: []float64{0.1, 0.5, math.Inf(1)}, Counts: []float64{3, 5, 8}, Count: 8, Sum: 12}, d)
	assert.InDelta(t, 0.1+0.4*(4-3)/2.0, d.Quantile(0.5), 1e-12)
	assert.Equal(t, []float64{5, 8, 12}, h.Counts, "Minus leaves its receiver alone")
}

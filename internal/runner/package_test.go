// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The package starts goroutines (the live page's server, the canary, the live
// read-back): every test must stop what it starts.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parseMetrics parses a text exposition as Scrape does.
func parseMetrics(t *testing.T, text string) Metrics {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)
	return families
}

// sample is one element of a fake query API's instant vector.
type sample struct {
	labels map[string]string
	value  float64
}

// vector is the data of a Prometheus instant-vector answer.
func vector(samples ...sample) map[string]any {
	result := []map[string]any{}
	for _, s := range samples {
		labels := s.labels
		if labels == nil {
			labels = map[string]string{}
		}
		result = append(result, map[string]any{"metric": labels, "value": []any{1.7e9, strconv.FormatFloat(s.value, 'f', -1, 64)}})
	}
	return map[string]any{"resultType": "vector", "result": result}
}

// queryAPI answers /api/v1/query and /api/v1/query_range as Prometheus does,
// with the data that answer gives for the request's PromQL; a nil answer is 404.
func queryAPI(answer func(r *http.Request, promql string) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var data map[string]any
		if err := r.ParseForm(); err == nil && (r.URL.Path == "/api/v1/query" || r.URL.Path == "/api/v1/query_range") {
			data = answer(r, r.Form.Get("query"))
		}
		if data == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
	}
}

// fakeQueryAPI serves queryAPI(answer) until the test ends.
func fakeQueryAPI(t *testing.T, answer func(r *http.Request, promql string) map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(queryAPI(answer))
	t.Cleanup(srv.Close)
	return srv
}

// querier is a Querier of the fake query API at url.
func querier(t *testing.T, url string) *Querier {
	t.Helper()
	q, err := Backend{QueryURL: url}.NewQuerier()
	require.NoError(t, err)
	return q
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueriesAreRetried: a query answered 429 or 503 is asked again, the same
// POST body each time; a 403 is not, and its error names the status and the body.
func TestQueriesAreRetried(t *testing.T) {
	var calls atomic.Int64
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		_ = r.ParseForm()
		bodies = append(bodies, r.Form.Get("query"))
		switch {
		case r.Form.Get("query") == "forbidden":
			http.Error(w, "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: aps:QueryMetrics", http.StatusForbidden)
		case n == 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case n == 2:
			http.Error(w, "upstream", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7"]}]}}`))
		}
	}))
	defer srv.Close()
	q := querier(t, srv.URL)
	began := time.Now()
	v, err := q.Scalar(t.Context(), "up", time.Now())
	require.NoError(t, err)
	assert.InDelta(t, 7, v, 0)
	assert.Equal(t, int64(3), calls.Load(), "429, then 503, then the answer")
	assert.Equal(t, []string{"up", "up", "up"}, bodies, "the same query each time")
	assert.Less(t, time.Since(began), 5*time.Second)

	calls.Store(10)
	_, err = q.Scalar(t.Context(), "forbidden", time.Now())
	require.Error(t, err)
	assert.Equal(t, int64(12), calls.Load(), "a 403 is not asked again: the POST, and the client's own fallback to GET")
	assert.Contains(t, err.Error(), "403")
	assert.Contains(t, err.Error(), "is not authorized to perform: aps:QueryMetrics", "the body says why")
	assert.True(t, permanent(err))
}

// TestRetriesAreBounded: a backend that always answers 503 gets queryAttempts requests.
func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	client := &http.Client{Transport: retrying{next: http.DefaultTransport, maxAttempts: 3, firstWait: time.Millisecond}}
	resp, err := client.Get(srv.URL) //nolint:noctx // a test
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, int64(3), calls.Load())
}

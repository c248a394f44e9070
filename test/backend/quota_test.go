// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// send passes a remote-write request of ts to h directly, in the same instant as the
// previous one as far as a one-second quota can tell.
func send(t *testing.T, h http.Handler, ts ...prompb.TimeSeries) (status int, answer string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/write", bytes.NewReader(writeBody(t, ts...)))
	r.Header.Set("Content-Encoding", "snappy")
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.String()
}

func TestQuotaRate(t *testing.T) {
	next := newSeen()
	created := time.Now()
	q := LimitIngestion(QuotaOptions{SamplesPerSecond: 1000}, next)
	batch := manySeries(3, 100) // 300 samples

	for i := range 3 {
		status, answer := send(t, q, batch...)
		require.Equal(t, http.StatusNoContent, status, "request %d within the burst: %s", i, answer)
	}
	status, answer := send(t, q, batch...)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "ingestion rate limit (1000) exceeded while adding 300 samples and 0 metadata", answer)
	assert.Equal(t, 3, next.calls(), "a throttled request is not passed on")
	assert.Equal(t, int64(1), q.Throttled())

	// The 200 samples missing come in 200 ms; throttled requests use up nothing meanwhile.
	require.Eventually(t, func() bool {
		status, _ := send(t, q, batch...)
		return status == http.StatusNoContent
	}, 5*time.Second, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(created), 195*time.Millisecond, "1200 samples pass no sooner than 1000 + 200 ms' worth")
	assert.Equal(t, 4, next.calls())

	// A request over one second's quota never passes.
	status, answer = send(t, q, manySeries(11, 100)...)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Contains(t, answer, "while adding 1100 samples")
}

func TestQuotaSeries(t *testing.T) {
	next := newSeen()
	q := LimitIngestion(QuotaOptions{Series: 3}, next)
	const over = "per-user series limit of 3 exceeded"
	for _, step := range []struct {
		series []prompb.TimeSeries
		want   int
	}{
		{[]prompb.TimeSeries{series("a", 1), series("b", 1)}, http.StatusNoContent},
		{[]prompb.TimeSeries{series("c", 2), series("d", 2)}, http.StatusBadRequest},
		{[]prompb.TimeSeries{series("a", 2), series("b", 2), series("a", 3)}, http.StatusNoContent}, // known series
		{[]prompb.TimeSeries{series("c", 3), series("c", 4)}, http.StatusNoContent},                 // one new series, twice
		{[]prompb.TimeSeries{series("d", 3)}, http.StatusBadRequest},
	} {
		status, answer := send(t, q, step.series...)
		require.Equal(t, step.want, status, answer)
		if step.want == http.StatusBadRequest {
			assert.Contains(t, answer, over)
		}
	}
	assert.Equal(t, int64(2), q.OverSeries())
	assert.Zero(t, q.Throttled())
	assert.Equal(t, 3, next.calls())
}

func TestQuotaThrottledAddsNoSeries(t *testing.T) {
	next := newSeen()
	q := LimitIngestion(QuotaOptions{SamplesPerSecond: 10, Series: 1}, next)
	status, _ := send(t, q, manySeries(1, 20)...) // over the rate
	require.Equal(t, http.StatusTooManyRequests, status)
	status, answer := send(t, q, series("other", 1))
	assert.Equal(t, http.StatusNoContent, status, "the throttled series took no room: %s", answer)
}

func TestQuotaPassesQueriesRejectsGarbage(t *testing.T) {
	next := newSeen()
	q := LimitIngestion(QuotaOptions{SamplesPerSecond: 1, Series: 1}, next)
	rec := httptest.NewRecorder()
	q.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/query?query=up", http.NoBody))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	// A query POSTed as a form, as the Prometheus API client does, passes too.
	rec = httptest.NewRecorder()
	form := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/query", strings.NewReader("query=up"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.ServeHTTP(rec, form)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	rec = httptest.NewRecorder()
	garbage := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/write", bytes.NewReader([]byte("not snappy")))
	garbage.Header.Set("Content-Encoding", "snappy")
	q.ServeHTTP(rec, garbage)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, 2, next.calls())
}

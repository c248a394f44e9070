// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang/snappy"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func getRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, http.NoBody)
	require.NoError(t, err)
	return r
}

func TestDropSeries(t *testing.T) {
	next := newSeen()
	d := DropSeries(3, next)
	srv := serve(t, d)

	// s0 … s5 with 1 … 6 samples: s2 and s5 go, 3+6 samples.
	ts := manySeries(6, 0)
	for i := range ts {
		ts[i].Samples = manySeries(1, i+1)[0].Samples
	}
	status, _ := post(t, srv.WriteURL, writeBody(t, ts...))
	assert.Equal(t, http.StatusNoContent, status)
	require.Equal(t, 1, next.calls())
	got := next.write(0)
	require.NotNil(t, got, "the next handler gets a valid request")
	assert.Equal(t, []string{"__name__=s0,job=test", "__name__=s1,job=test", "__name__=s3,job=test", "__name__=s4,job=test"}, labelsOf(got))
	assert.Equal(t, 1+2+4+5, got.Samples)
	assert.Equal(t, int64(3+6), d.Dropped())

	// The count goes on across requests: the 7th and 8th entries stay, the 9th goes.
	status, _ = post(t, srv.WriteURL, writeBody(t, manySeries(3, 2)...))
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, []string{"__name__=s0,job=test", "__name__=s1,job=test"}, labelsOf(next.write(1)))
	assert.Equal(t, int64(3+6+2), d.Dropped())

	status, _ = do(t, getRequest(t, srv.URL+"/api/v1/query?query=up"))
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, "query=up", next.req(2).URL.RawQuery, "queries pass unchanged")
	assert.Equal(t, int64(11), d.Dropped())

	// Below 1, nothing is dropped.
	body := writeBody(t, manySeries(3, 1)...)
	rec := httptest.NewRecorder()
	DropSeries(0, next).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/write", bytes.NewReader(body)))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, body, next.write(3).Body)
}

func TestDelayVisible(t *testing.T) {
	const delay = 300 * time.Millisecond
	next := newSeen()
	srv := serve(t, DelayVisible(delay, next))
	body := writeBody(t, series("cpu", 1000))

	start := time.Now()
	status, _ := post(t, srv.WriteURL, body)
	acked := time.Since(start)
	assert.Equal(t, http.StatusNoContent, status)
	assert.Less(t, acked, delay, "acknowledged at once")
	assert.Zero(t, next.calls(), "not visible yet")
	select {
	case r := <-next.got:
		assert.GreaterOrEqual(t, time.Since(start), delay, "visible after the delay")
		assert.NoError(t, r.Context().Err(), "the write outlives the client's request")
		assert.Equal(t, body, next.write(0).Body)
	case <-time.After(10 * time.Second):
		t.Fatal("the write never became visible")
	}

	start = time.Now()
	status, _ = do(t, getRequest(t, srv.URL+"/api/v1/query?query=cpu"))
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, 2, next.calls(), "a query passes at once")
	assert.Less(t, time.Since(start), delay)
}

func TestSlow(t *testing.T) {
	const delay = 100 * time.Millisecond
	next := newSeen()
	srv := serve(t, Slow(delay, next))
	start := time.Now()
	status, _ := post(t, srv.WriteURL, writeBody(t, series("cpu", 1000)))
	assert.Equal(t, http.StatusNoContent, status)
	assert.GreaterOrEqual(t, time.Since(start), delay)
	assert.Equal(t, 1, next.calls())
}

func TestSink(t *testing.T) {
	sink := &Sink{}
	srv := serve(t, sink)
	raw := rawWrite(t, manySeries(4, 5)...)
	body := snappy.Encode(nil, raw)
	for range 2 {
		status, _ := post(t, srv.WriteURL, body)
		require.Equal(t, http.StatusNoContent, status)
	}
	assert.Equal(t, int64(2), sink.Requests())
	assert.Equal(t, int64(8), sink.Series())
	assert.Equal(t, int64(40), sink.Samples())
	assert.Equal(t, int64(2*len(body)), sink.Bytes())
	assert.Equal(t, int64(2*len(raw)), sink.RawBytes())

	// Remote write 2.0: its series are field 5, their labels references into symbols.
	v2 := &writev2.Request{Symbols: []string{"", "__name__", "CPU", "InstanceId", "I0000000001"}, Timeseries: []writev2.TimeSeries{
		{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}, {Value: 3, Timestamp: 3}}},
		{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}}},
	}}
	rawV2, err := v2.Marshal()
	require.NoError(t, err)
	r := writeRequest(t, srv.WriteURL, snappy.Encode(nil, rawV2))
	r.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	status, _ := do(t, r)
	require.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, int64(10), sink.Series())
	assert.Equal(t, int64(44), sink.Samples())

	plain := writeRequest(t, srv.WriteURL, body)
	plain.Header.Del("Content-Encoding")
	for name, r := range map[string]*http.Request{
		"not snappy encoded": plain,
		"not snappy":         writeRequest(t, srv.WriteURL, raw),
		"malformed":          writeRequest(t, srv.WriteURL, snappy.Encode(nil, raw[:len(raw)-3])),
		"empty":              writeRequest(t, srv.WriteURL, nil),
		"GET":                getRequest(t, srv.WriteURL),
	} {
		status, _ := do(t, r)
		assert.Equal(t, http.StatusBadRequest, status, name)
	}
	assert.Equal(t, int64(5), sink.Rejected())
	assert.Equal(t, int64(3), sink.Requests(), "rejected requests count nothing else")
	assert.Equal(t, int64(44), sink.Samples())
}

// TestRecordImplicitOK checks that a handler that writes nothing counts as the 200
// the client gets, not as no answer.
func TestRecordImplicitOK(t *testing.T) {
	rec := Record(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv := serve(t, rec)
	resp, err := client.Do(getRequest(t, srv.URL+"/-/ready"))
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, map[int]Counts{http.StatusOK: {Requests: 1}}, rec.Stats())
}

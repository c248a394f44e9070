// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package faultfront

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeBody is a remote-write 1.0 body with the given number of samples of one
// series, starting at timestamp start.
func writeBody(t *testing.T, start int64, samples int) []byte {
	t.Helper()
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "CPU"}, {Name: "InstanceId", Value: "I0000000001"}}}
	for i := range samples {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: start + int64(i), Value: 0.5})
	}
	req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}
	raw, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

// upstream is a stand-in Prometheus that accepts every write.
func upstream(t *testing.T) (*url.URL, *atomic.Int64) {
	t.Helper()
	var writes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writes.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u, &writes
}

func start(t *testing.T) (*Front, *atomic.Int64) {
	t.Helper()
	u, writes := upstream(t)
	f, err := Start(u)
	require.NoError(t, err)
	t.Cleanup(f.Close)
	return f, writes
}

// post sends body and returns the status, or 0 with the error when no answer came.
func post(t *testing.T, client *http.Client, f *Front, body []byte) (int, string, error) {
	t.Helper()
	resp, err := client.Post(f.WriteURL, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       Fault
		wantStatus  []int // of four requests in a row, NoAnswer when none
		wantBody    string
		wantWritten int64 // reaching the upstream
	}{
		{name: "no fault", wantStatus: []int{204, 204, 204, 204}, wantWritten: 4},
		{
			name:       "two requests answered 503",
			fault:      Fault{Status: http.StatusServiceUnavailable, Body: "overloaded", Requests: 2},
			wantStatus: []int{503, 503, 204, 204}, wantBody: "overloaded", wantWritten: 2,
		},
		{
			name:       "one request answered 400",
			fault:      Fault{Status: http.StatusBadRequest, Body: "out of order sample", Requests: 1},
			wantStatus: []int{400, 204, 204, 204}, wantBody: "out of order sample", wantWritten: 3,
		},
		{
			name:       "429 for an hour",
			fault:      Fault{Status: http.StatusTooManyRequests, For: time.Hour},
			wantStatus: []int{429, 429, 429, 429},
		},
		{
			name:       "a window already over",
			fault:      Fault{Status: http.StatusTooManyRequests, For: time.Nanosecond},
			wantStatus: []int{204, 204, 204, 204}, wantWritten: 4,
		},
		{
			name:       "connections reset",
			fault:      Fault{Reset: true, Requests: 3},
			wantStatus: []int{NoAnswer, NoAnswer, NoAnswer, 204}, wantWritten: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, writes := start(t)
			f.Inject(tt.fault)
			time.Sleep(time.Millisecond) // so that a nanosecond window is over
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			want := map[int]Counts{}
			for i, wantStatus := range tt.wantStatus {
				status, body, err := post(t, client, f, writeBody(t, int64(i*10), 3))
				require.Equal(t, wantStatus, status, "request %d: %v", i, err)
				if status == NoAnswer {
					require.Error(t, err)
				}
				if status >= 400 {
					assert.Equal(t, tt.wantBody, body)
				}
				c := want[wantStatus]
				c.Requests++
				c.Samples += 3
				want[wantStatus] = c
			}
			assert.Equal(t, want, f.Stats())
			assert.Equal(t, Counts{Requests: int64(len(tt.wantStatus)), Samples: 3 * int64(len(tt.wantStatus))}, f.Total())
			assert.Equal(t, tt.wantWritten, writes.Load())
			assert.Zero(t, f.Duplicates())
			assert.Empty(t, f.Retried(), "four different bodies")
		})
	}
}

func TestHangUntilTheClientGivesUp(t *testing.T) {
	f, writes := start(t)
	f.Inject(Fault{Hang: true, Requests: 1})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, _, err := post(t, client, f, writeBody(t, 0, 5))
	require.Error(t, err, "no answer comes")
	require.Eventually(t, func() bool { return f.Stats()[NoAnswer].Requests == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, int64(5), f.Stats()[NoAnswer].Samples)

	status, _, err := post(t, &http.Client{}, f, writeBody(t, 100, 5))
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status, "the fault answered one request")
	assert.Equal(t, int64(1), writes.Load())
}

func TestDownRefusesConnectionsUntilUp(t *testing.T) {
	f, writes := start(t)
	client := &http.Client{}
	status, _, err := post(t, client, f, writeBody(t, 0, 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)

	require.NoError(t, f.Down())
	// A new connection is refused. (The client's idle connection was closed too; a
	// request that still picks it up fails with EOF instead.)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, _, err = post(t, fresh, f, writeBody(t, 10, 1))
	require.ErrorContains(t, err, "connection refused")
	require.Error(t, f.Down(), "already down")

	require.NoError(t, f.Up())
	status, _, err = post(t, fresh, f, writeBody(t, 20, 1))
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, int64(2), writes.Load())
	assert.Equal(t, map[int]Counts{204: {Requests: 2, Samples: 2}}, f.Stats(), "a refused connection never reaches the front")
}

func TestRetriesAndDuplicates(t *testing.T) {
	f, _ := start(t)
	client := &http.Client{}
	body := writeBody(t, 0, 4)
	f.Inject(Fault{Status: http.StatusServiceUnavailable, Requests: 2})
	for range 3 {
		_, _, err := post(t, client, f, body)
		require.NoError(t, err)
	}
	assert.Zero(t, f.Duplicates(), "accepted once")
	retried := f.Retried()
	require.Len(t, retried, 1)
	require.Len(t, retried[0], 3)
	assert.Equal(t, []int{503, 503, 204}, []int{retried[0][0].Status, retried[0][1].Status, retried[0][2].Status})
	assert.Equal(t, 4, retried[0][2].Samples)

	_, _, err := post(t, client, f, body)
	require.NoError(t, err)
	assert.Equal(t, int64(4), f.Duplicates(), "the same four samples accepted twice")
}

func TestUndecodableBody(t *testing.T) {
	f, _ := start(t)
	status, _, err := post(t, &http.Client{}, f, []byte("not snappy"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status, "forwarded all the same")
	assert.Equal(t, int64(1), f.DecodeErrors())
	assert.Equal(t, map[int]Counts{204: {Requests: 1}}, f.Stats())
}

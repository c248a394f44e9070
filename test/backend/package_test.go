// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client opens a connection per request: no idle connection outlives a test, and
// none is reused after the server went down.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// series is a time series named name with a job label and one sample at each timestamp.
func series(name string, timestamps ...int64) prompb.TimeSeries {
	s := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "test"}}}
	for _, ts := range timestamps {
		s.Samples = append(s.Samples, prompb.Sample{Value: float64(ts) / 10, Timestamp: ts})
	}
	return s
}

// manySeries is n series named s0, s1, … with samples timestamps each.
func manySeries(n, samples int) []prompb.TimeSeries {
	out := make([]prompb.TimeSeries, n)
	for i := range out {
		out[i] = series("s" + strconv.Itoa(i))
		for j := range samples {
			out[i].Samples = append(out[i].Samples, prompb.Sample{Value: 1, Timestamp: int64(1000 * (j + 1))})
		}
	}
	return out
}

// rawWrite is the uncompressed remote-write 1.0 request of ts, with metadata,
// which the decoder must skip.
func rawWrite(t testing.TB, ts ...prompb.TimeSeries) []byte {
	t.Helper()
	wr := &prompb.WriteRequest{Timeseries: ts, Metadata: []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "cpu", Help: "CPU use", Unit: "percent"},
	}}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	return raw
}

// writeBody is the body a remote-write 1.0 client sends for ts.
func writeBody(t testing.TB, ts ...prompb.TimeSeries) []byte {
	return snappy.Encode(nil, rawWrite(t, ts...))
}

// writeRequest is a remote-write 1.0 request of body to url.
func writeRequest(t *testing.T, url string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	return r
}

// post sends body as a remote-write request to url and returns the answer.
func post(t *testing.T, url string, body []byte) (status int, answer string) {
	t.Helper()
	return do(t, writeRequest(t, url, body))
}

func do(t *testing.T, r *http.Request) (status int, answer string) {
	t.Helper()
	resp, err := client.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// serve serves h until the test ends.
func serve(t *testing.T, h http.Handler) *Server {
	t.Helper()
	srv, err := Serve(h)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// seen is a next handler that answers 204 and keeps what it got.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	// writes are the decoded bodies of the POST requests, nil when not remote-write.
	writes []*Request
	// got receives every request, for tests that wait for one.
	got chan *http.Request
}

func newSeen() *seen { return &seen{got: make(chan *http.Request, 16)} }

func (s *seen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := Decode(r)
	if err != nil {
		req = nil
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.writes = append(s.writes, req)
	s.mu.Unlock()
	select {
	case s.got <- r:
	default: // nobody waits for this many
	}
	w.WriteHeader(http.StatusNoContent)
}

// req is the i-th request; write its decoded body.
func (s *seen) req(i int) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[i]
}

func (s *seen) write(i int) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes[i]
}

func (s *seen) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// labelsOf are the label sets of a decoded request's series.
func labelsOf(req *Request) []string {
	var out []string
	for _, s := range req.Series {
		out = append(out, s.Labels)
	}
	return out
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// written is one remote-write 1.0 time series.
type written struct {
	labels    map[string]string
	value     float64 // of the last sample
	timestamp int64
	samples   int
}

// field is one field of a protobuf message: bytes, or a varint or fixed64 number.
type field struct {
	num   protowire.Number
	bytes []byte
	n     uint64
}

func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		f, v := field{num: num}, b[l:]
		switch typ {
		case protowire.BytesType:
			f.bytes, l = protowire.ConsumeBytes(v)
		case protowire.Fixed64Type:
			f.n, l = protowire.ConsumeFixed64(v)
		case protowire.VarintType:
			f.n, l = protowire.ConsumeVarint(v)
		default:
			l = -1
		}
		if l < 0 {
			return nil, fmt.Errorf("field %d of wire type %d: bad value", num, typ)
		}
		out, b = append(out, f), v[l:]
	}
	return out, nil
}

// decodeWriteRequest decodes a prometheus.WriteRequest: time series (1) of labels
// (1: name 1, value 2) and samples (2: value 1 as a double, timestamp 2).
func decodeWriteRequest(body []byte) ([]written, error) {
	var errs []error
	sub := func(b []byte) []field {
		fs, err := fields(b)
		errs = append(errs, err)
		return fs
	}
	var out []written
	for _, ts := range sub(body) {
		w := written{labels: map[string]string{}}
		for _, f := range sub(ts.bytes) {
			var name, value string
			for _, g := range sub(f.bytes) {
				switch {
				case f.num == 1 && g.num == 1:
					name = string(g.bytes)
				case f.num == 1 && g.num == 2:
					value = string(g.bytes)
				case f.num == 2 && g.num == 1:
					w.value = math.Float64frombits(g.n)
				case f.num == 2 && g.num == 2:
					w.timestamp = int64(g.n)
				}
			}
			if f.num == 1 {
				w.labels[name] = value
			} else {
				w.samples++
			}
		}
		out = append(out, w)
	}
	return out, errors.Join(errs...)
}

// fakeBackend takes remote writes and answers the canary's query with the last
// value written, after hiding it from the first `hide` queries after each write.
type fakeBackend struct {
	t      *testing.T
	hide   int
	status int // of writes; 0 is 204

	mu      sync.Mutex
	writes  []written
	headers http.Header
	unseen  int
	queries []string
}

func (b *fakeBackend) start() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/write", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(b.t, err)
		raw, err := snappy.Decode(nil, body)
		assert.NoError(b.t, err)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.headers = r.Header.Clone()
		if b.status != 0 {
			http.Error(w, "ingestion rate limit (1) exceeded", b.status)
			return
		}
		series, err := decodeWriteRequest(raw)
		assert.NoError(b.t, err)
		b.writes = append(b.writes, series...)
		b.unseen = b.hide
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/", queryAPI(func(_ *http.Request, promql string) map[string]any {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.queries = append(b.queries, promql)
		if b.unseen > 0 || len(b.writes) == 0 {
			b.unseen--
			return vector()
		}
		return vector(sample{labels: map[string]string{"run": "r1"}, value: b.writes[len(b.writes)-1].value})
	}))
	srv := httptest.NewServer(mux)
	b.t.Cleanup(srv.Close)
	return srv
}

func TestCanaryProbe(t *testing.T) {
	fake := &fakeBackend{t: t, hide: 2}
	srv := fake.start()
	b := Backend{WriteURL: srv.URL + "/api/v1/write", QueryURL: srv.URL, Headers: map[string]string{"X-Scope-OrgID": "lt"}}
	q, err := b.NewQuerier()
	require.NoError(t, err)
	c, err := b.NewCanary(q, "r1")
	require.NoError(t, err)
	assert.Equal(t, `dummymetrics_canary{run="r1"}`, c.Selector())

	before := time.Now()
	for range 2 {
		delay, err := c.Probe(t.Context(), time.Millisecond, 10*time.Second)
		require.NoError(t, err)
		assert.Positive(t, delay)
	}
	after := time.Now()

	fake.mu.Lock()
	defer fake.mu.Unlock()
	require.Len(t, fake.writes, 2)
	for i, w := range fake.writes {
		assert.Equal(t, map[string]string{"__name__": CanaryMetric, "run": "r1"}, w.labels)
		assert.Equal(t, 1, w.samples)
		assert.InDelta(t, float64(i+1), w.value, 0, "the value is the sequence number")
		assert.GreaterOrEqual(t, w.timestamp, before.UnixMilli())
		assert.LessOrEqual(t, w.timestamp, after.UnixMilli())
	}
	assert.Equal(t, "snappy", fake.headers.Get("Content-Encoding"))
	assert.Equal(t, "application/x-protobuf", fake.headers.Get("Content-Type"))
	assert.Equal(t, "0.1.0", fake.headers.Get("X-Prometheus-Remote-Write-Version"))
	assert.Equal(t, "lt", fake.headers.Get("X-Scope-OrgID"))
	assert.Len(t, fake.queries, 6, "three polls a probe: two that do not see it yet")
	assert.Equal(t, `max_over_time(dummymetrics_canary{run="r1"}[5m])`, fake.queries[0])
	assert.InDelta(t, 3*1+3*2, c.SamplesRead(), 0)

	assert.Len(t, c.Freshness(before, after.Add(time.Second)), 2)
	assert.Empty(t, c.Freshness(after.Add(time.Second), after.Add(time.Minute)))
	assert.Empty(t, c.Freshness(before.Add(-time.Minute), before))
}

func TestCanaryFailures(t *testing.T) {
	refusing := &fakeBackend{t: t, status: http.StatusTooManyRequests}
	srv := refusing.start()
	b := Backend{WriteURL: srv.URL + "/api/v1/write", QueryURL: srv.URL}
	c, err := b.NewCanary(querier(t, srv.URL), "r1")
	require.NoError(t, err)
	_, err = c.Probe(t.Context(), time.Millisecond, time.Second)
	require.ErrorContains(t, err, "canary write: 429 Too Many Requests: ingestion rate limit (1) exceeded")

	hiding := &fakeBackend{t: t, hide: math.MaxInt}
	srv = hiding.start()
	b = Backend{WriteURL: srv.URL + "/api/v1/write", QueryURL: srv.URL}
	c, err = b.NewCanary(querier(t, srv.URL), "r1")
	require.NoError(t, err)
	_, err = c.Probe(t.Context(), time.Millisecond, 50*time.Millisecond)
	require.ErrorContains(t, err, "canary sample 1 not queryable 50ms after the backend acknowledged it")
	assert.Empty(t, c.Freshness(time.Time{}, time.Now().Add(time.Hour)))

	// A query API that refuses the canary's queries is named at once, not as a
	// sample never seen.
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/write" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "missing aps:QueryMetrics", http.StatusForbidden)
	}))
	defer forbidden.Close()
	b = Backend{WriteURL: forbidden.URL + "/api/v1/write", QueryURL: forbidden.URL}
	c, err = b.NewCanary(querier(t, forbidden.URL), "r1")
	require.NoError(t, err)
	began := time.Now()
	_, err = c.Probe(t.Context(), time.Millisecond, time.Minute)
	require.ErrorContains(t, err, "403")
	require.ErrorContains(t, err, "missing aps:QueryMetrics")
	assert.Less(t, time.Since(began), 10*time.Second)
}

func TestCanaryRunsAreUnique(t *testing.T) {
	assert.NotEqual(t, CanaryRun("20261204-120000"), CanaryRun("20261204-120000"), "two runs started in the same second")
	assert.Regexp(t, `^20261204-120000-[0-9a-f]{8}$`, CanaryRun("20261204-120000"))
}

func TestCanaryRunStops(t *testing.T) {
	fake := &fakeBackend{t: t}
	srv := fake.start()
	b := Backend{WriteURL: srv.URL + "/api/v1/write", QueryURL: srv.URL}
	c, err := b.NewCanary(querier(t, srv.URL), "r1")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, time.Millisecond, time.Millisecond)
	}()
	require.Eventually(t, func() bool { return len(c.Freshness(time.Time{}, time.Now().Add(time.Hour))) >= 3 }, 10*time.Second, time.Millisecond)
	cancel()
	<-done
}

func TestPercentiles(t *testing.T) {
	assert.Nil(t, Percentiles(nil))
	var delays []time.Duration
	for i := 100; i >= 1; i-- {
		delays = append(delays, time.Duration(i)*time.Second)
	}
	assert.Equal(t, &Quantiles{P50: 50, P90: 90, P99: 99}, Percentiles(delays))
	assert.Equal(t, &Quantiles{P50: 0.25, P90: 0.25, P99: 0.25}, Percentiles([]time.Duration{250 * time.Millisecond}))
	assert.Equal(t, &Quantiles{P50: 2, P90: 3, P99: 3}, Percentiles([]time.Duration{3 * time.Second, time.Second, 2 * time.Second}))
}

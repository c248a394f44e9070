// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
)

// Forward passes requests on to upstream, the base URL of a real Prometheus; the
// request path is kept, so that one front serves both writes and queries.
func Forward(upstream string) http.Handler {
	u, err := url.Parse(upstream)
	if err != nil {
		panic(err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "backend: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
}

// Slow delays every request by delay before passing it on: a backend that answers slowly.
func Slow(delay time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}

// Dropper acknowledges every write but passes on only some of the series entries
// of each request: a backend that loses data without saying so. Other requests
// (queries) pass unchanged.
type Dropper struct {
	next    http.Handler
	every   int
	n       atomic.Int64
	dropped atomic.Int64
}

// DropSeries drops one series entry in every `every`; below 1, none.
func DropSeries(every int, next http.Handler) *Dropper { return &Dropper{next: next, every: every} }

func (d *Dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isWrite(r) || d.every < 1 {
		d.next.ServeHTTP(w, r)
		return
	}
	req, err := Decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	kept := req.Series[:0]
	for _, s := range req.Series {
		if d.n.Add(1)%int64(d.every) == 0 {
			d.dropped.Add(int64(s.Samples))
			continue
		}
		kept = append(kept, s)
	}
	body := encode(kept)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	d.next.ServeHTTP(w, r)
}

// Dropped is the number of samples dropped.
func (d *Dropper) Dropped() int64 { return d.dropped.Load() }

// DelayVisible acknowledges writes at once and passes them on only after delay: a
// backend whose data becomes queryable some time after it was acknowledged.
// Queries pass at once.
func DelayVisible(delay time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWrite(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		later := r.Clone(context.Background())
		time.AfterFunc(delay, func() {
			later.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(httptest.NewRecorder(), later)
		})
		w.WriteHeader(http.StatusNoContent)
	})
}

// Sink acknowledges remote-write 1.0 requests and counts their series entries and
// samples, without allocating per request in steady state: the pipeline benchmarks'
// backend. A request that is not remote-write 1.0 is answered 400 and counted.
type Sink struct {
	samples, series, requests, rejected, bytes, rawBytes atomic.Int64
	bufs                                                 sync.Pool
}

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isWrite(r) {
		s.rejected.Add(1)
		http.Error(w, "not a remote-write request", http.StatusBadRequest)
		return
	}
	buf, _ := s.bufs.Get().(*[2][]byte)
	if buf == nil {
		buf = new([2][]byte)
	}
	defer s.bufs.Put(buf)
	body := bytes.NewBuffer(buf[0][:0])
	_, err := body.ReadFrom(r.Body)
	buf[0] = body.Bytes()
	v2 := strings.Contains(r.Header.Get("Content-Type"), "io.prometheus.write.v2.Request")
	n := 0
	if err == nil {
		n, err = snappy.DecodedLen(buf[0])
	}
	if err == nil {
		if cap(buf[1]) < n {
			buf[1] = make([]byte, n)
		}
		buf[1], err = snappy.Decode(buf[1][:n], buf[0])
	}
	series, samples := 0, 0
	if err == nil {
		count := Count
		if v2 {
			count = CountV2
		}
		series, samples, err = count(buf[1])
	}
	if err != nil {
		s.rejected.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.requests.Add(1)
	s.series.Add(int64(series))
	s.samples.Add(int64(samples))
	s.bytes.Add(int64(len(buf[0])))
	s.rawBytes.Add(int64(n))
	if v2 { // what a 2.0 receiver must say it wrote
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(samples))
		w.Header().Set("X-Prometheus-Remote-Write-Histograms-Written", "0")
		w.Header().Set("X-Prometheus-Remote-Write-Exemplars-Written", "0")
	}
	w.WriteHeader(http.StatusNoContent)
}

// Samples, Series, Requests and Rejected count what the sink got so far; Bytes and
// RawBytes are the bodies' sizes, compressed and not.
func (s *Sink) Samples() int64  { return s.samples.Load() }
func (s *Sink) Series() int64   { return s.series.Load() }
func (s *Sink) Requests() int64 { return s.requests.Load() }
func (s *Sink) Rejected() int64 { return s.rejected.Load() }
func (s *Sink) Bytes() int64    { return s.bytes.Load() }
func (s *Sink) RawBytes() int64 { return s.rawBytes.Load() }

// SlowWhere delays by delay the writes that carry a series match accepts, and
// passes every other request on at once: one writer of several starved, as a
// collector in a far zone or behind a slow proxy would be.
func SlowWhere(match func(Series) bool, delay time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if req, err := Decode(r); isWrite(r) && err == nil && slices.ContainsFunc(req.Series, match) {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

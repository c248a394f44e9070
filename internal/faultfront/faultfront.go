// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package faultfront is a scriptable proxy in front of a real Prometheus for tests
// of failure handling: it answers some remote-write requests itself with an error
// status, holds them without an answer, resets their connection, or refuses
// connections altogether, and forwards the others. It decodes every request
// (snappy, then the remote-write 1.0 protobuf) and counts requests and samples by
// the status the client got, the attempts of every distinct body (to measure the
// client's retries), and the samples that were forwarded and accepted more than once.
package faultfront

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// NoAnswer is the status under which Stats counts the requests that got no HTTP
// answer: held until the client gave up, or reset.
const NoAnswer = 0

// Fault is how the front answers requests while it is in effect.
type Fault struct {
	// Status, when not 0, is the status of the answer, with Body; the request is not
	// forwarded.
	Status int
	Body   string
	// Hang holds each request without answering until the client gives up.
	Hang bool
	// Reset closes the connection of each request without an answer.
	Reset bool
	// Requests is how many requests the fault answers; 0 means no limit.
	Requests int
	// For is how long the fault lasts from Inject; 0 means no limit.
	For time.Duration
}

// Counts are requests and the samples they carried.
type Counts struct {
	Requests, Samples int64
}

// Attempt is one arrival of a request body.
type Attempt struct {
	At      time.Time
	Status  int
	Samples int
}

// Front is a running fault-injecting proxy on a loopback port.
type Front struct {
	// URL is the base URL, e.g. http://127.0.0.1:40123; WriteURL adds the
	// remote-write path.
	URL, WriteURL string

	addr  string
	proxy *httputil.ReverseProxy

	srvMu sync.Mutex
	srv   *http.Server

	mu         sync.Mutex
	fault      Fault
	faultLeft  int
	faultUntil time.Time
	stats      map[int]Counts
	attempts   map[[sha256.Size]byte][]Attempt
	accepted   map[string]struct{}
	duplicates int64

	decodeErrors atomic.Int64
	closed       chan struct{}
	closeOnce    sync.Once
}

// Start starts a front on a free loopback port that forwards to upstream, the base
// URL of a Prometheus (the request path is kept).
func Start(upstream *url.URL) (*Front, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Front{
		URL:      "http://" + l.Addr().String(),
		WriteURL: "http://" + l.Addr().String() + "/api/v1/write",
		addr:     l.Addr().String(),
		stats:    map[int]Counts{},
		attempts: map[[sha256.Size]byte][]Attempt{},
		accepted: map[string]struct{}{},
		closed:   make(chan struct{}),
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "faultfront: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	f.serve(l)
	return f, nil
}

func (f *Front) serve(l net.Listener) {
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	f.srvMu.Lock()
	f.srv = srv
	f.srvMu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Inject puts fault in effect, in place of the previous one.
func (f *Front) Inject(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
	f.faultLeft = fault.Requests
	f.faultUntil = time.Time{}
	if fault.For > 0 {
		f.faultUntil = time.Now().Add(fault.For)
	}
}

// Clear ends the fault in effect: requests are forwarded again.
func (f *Front) Clear() { f.Inject(Fault{}) }

// Down closes the listener and every connection: the backend is gone, and
// connections are refused until Up.
func (f *Front) Down() error {
	f.srvMu.Lock()
	srv := f.srv
	f.srv = nil
	f.srvMu.Unlock()
	if srv == nil {
		return errors.New("faultfront: already down")
	}
	return srv.Close()
}

// Up listens again, on the same address, after Down.
func (f *Front) Up() error {
	f.srvMu.Lock()
	up := f.srv != nil
	f.srvMu.Unlock()
	if up {
		return errors.New("faultfront: already up")
	}
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("faultfront: listening again on %s: %w", f.addr, err)
	}
	f.serve(l)
	return nil
}

// Close stops the front and releases the requests it holds.
func (f *Front) Close() {
	f.closeOnce.Do(func() { close(f.closed) })
	f.srvMu.Lock()
	srv := f.srv
	f.srv = nil
	f.srvMu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// current returns the fault that answers the request arriving now, and uses it up.
func (f *Front) current(now time.Time) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f.fault
	if fault == (Fault{}) {
		return fault
	}
	if !f.faultUntil.IsZero() && now.After(f.faultUntil) {
		f.fault = Fault{}
		return Fault{}
	}
	if fault.Requests > 0 {
		f.faultLeft--
		if f.faultLeft == 0 {
			f.fault = Fault{}
		}
	}
	return fault
}

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	samples, keys := f.decode(body)
	fault := f.current(arrived)
	status := NoAnswer
	defer func() { f.record(body, arrived, status, samples, keys) }()

	switch {
	case fault.Hang:
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		panic(http.ErrAbortHandler) // no answer; the server closes the connection quietly
	case fault.Reset:
		panic(http.ErrAbortHandler)
	case fault.Status != 0:
		status = fault.Status
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, fault.Body)
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		f.proxy.ServeHTTP(rec, r)
		status = rec.status
	}
}

// record counts a request. The deferred call also runs when the handler aborts.
func (f *Front) record(body []byte, at time.Time, status, samples int, keys []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.stats[status]
	c.Requests++
	c.Samples += int64(samples)
	f.stats[status] = c
	sum := sha256.Sum256(body)
	f.attempts[sum] = append(f.attempts[sum], Attempt{At: at, Status: status, Samples: samples})
	if status >= 200 && status < 300 {
		for _, k := range keys {
			if _, dup := f.accepted[k]; dup {
				f.duplicates++
				continue
			}
			f.accepted[k] = struct{}{}
		}
	}
}

// decode returns the number of samples of a remote-write 1.0 body and a key for
// each (series and timestamp).
func (f *Front) decode(body []byte) (int, []string) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		f.decodeErrors.Add(1)
		return 0, nil
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		f.decodeErrors.Add(1)
		return 0, nil
	}
	n := 0
	var keys []string
	var b strings.Builder
	for _, ts := range req.Timeseries {
		b.Reset()
		for _, l := range ts.Labels {
			b.WriteString(l.Name)
			b.WriteByte('=')
			b.WriteString(l.Value)
			b.WriteByte(',')
		}
		series := b.String()
		for _, s := range ts.Samples {
			keys = append(keys, series+"@"+strconv.FormatInt(s.Timestamp, 10))
		}
		n += len(ts.Samples) + len(ts.Histograms)
	}
	return n, keys
}

// Stats counts the requests and their samples by the status the client got
// (NoAnswer for none).
func (f *Front) Stats() map[int]Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.stats)
}

// Total adds up the requests and samples of every status.
func (f *Front) Total() Counts {
	var t Counts
	for _, c := range f.Stats() {
		t.Requests += c.Requests
		t.Samples += c.Samples
	}
	return t
}

// Duplicates is how many samples (series and timestamp) were forwarded and
// accepted by the upstream more than once.
func (f *Front) Duplicates() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.duplicates
}

// DecodeErrors is how many bodies were not snappy-compressed remote-write 1.0.
func (f *Front) DecodeErrors() int64 { return f.decodeErrors.Load() }

// Retried returns the attempts of every body that arrived more than once, in the
// order of their first attempt.
func (f *Front) Retried() [][]Attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]Attempt
	for _, a := range f.attempts {
		if len(a) > 1 {
			out = append(out, append([]Attempt(nil), a...))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].At.Before(out[j][0].At) })
	return out
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

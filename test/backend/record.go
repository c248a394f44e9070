// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"crypto/sha256"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// NoAnswer is the status under which a Recorder counts requests that got no HTTP
// answer: held until the client gave up, or reset.
const NoAnswer = 0

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

// Recorder counts the requests that pass through it and their samples by the
// status the client got, the attempts of every distinct non-empty body (the client's
// retries), and the samples accepted (2xx) more than once.
type Recorder struct {
	next       http.Handler
	mu         sync.Mutex
	stats      map[int]Counts
	attempts   map[[sha256.Size]byte][]Attempt
	accepted   map[string]struct{}
	duplicates int64
}

// Record wraps next.
func Record(next http.Handler) *Recorder {
	return &Recorder{next: next, stats: map[int]Counts{}, attempts: map[[sha256.Size]byte][]Attempt{}, accepted: map[string]struct{}{}}
}

func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	req, err := Decode(r)
	if req == nil {
		req = &Request{}
	}
	if err != nil {
		req.Series, req.Samples = nil, 0
	}
	sw := &statusWriter{ResponseWriter: w}
	returned := false
	// Deferred, so that it also counts a request whose handler aborts it.
	defer func() {
		status := sw.status
		if status == NoAnswer && returned && r.Context().Err() == nil {
			status = http.StatusOK // the server answers 200 for a handler that wrote nothing
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		c := rec.stats[status]
		c.Requests++
		c.Samples += int64(req.Samples)
		rec.stats[status] = c
		if len(req.Body) > 0 { // queries have no body to retry
			sum := sha256.Sum256(req.Body)
			rec.attempts[sum] = append(rec.attempts[sum], Attempt{At: arrived, Status: status, Samples: req.Samples})
		}
		if status >= 200 && status < 300 {
			for _, s := range req.Series {
				for _, ts := range s.Timestamps {
					key := s.Labels + "@" + strconv.FormatInt(ts, 10)
					if _, dup := rec.accepted[key]; dup {
						rec.duplicates++
					}
					rec.accepted[key] = struct{}{}
				}
			}
		}
	}()
	rec.next.ServeHTTP(sw, r)
	returned = true
}

// Stats counts the requests and their samples by the status the client got.
func (rec *Recorder) Stats() map[int]Counts {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.stats)
}

// Duplicates is how many samples (series and timestamp) were accepted more than once.
func (rec *Recorder) Duplicates() int64 {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.duplicates
}

// Retried returns the attempts of every body that arrived more than once, in the
// order of their first attempt.
func (rec *Recorder) Retried() [][]Attempt {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out [][]Attempt
	for _, a := range rec.attempts {
		if len(a) > 1 {
			out = append(out, slices.Clone(a))
		}
	}
	slices.SortFunc(out, func(a, b []Attempt) int { return a[0].At.Compare(b[0].At) })
	return out
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Ordered acknowledges remote-write 1.0 requests as a TSDB without an
// out-of-order window would accept them, and counts the samples that came out of
// order: at or before the newest timestamp of their series. It decodes every
// series and keeps its newest timestamp, so its CPU is a backend's, not a
// counter's: the instant backend of a scale-up measurement on one machine.
type Ordered struct {
	mu         sync.Mutex
	newest     map[string]int64
	samples    atomic.Int64
	outOfOrder atomic.Int64
}

// NewOrdered returns an empty Ordered.
func NewOrdered() *Ordered { return &Ordered{newest: map[string]int64{}} }

func (o *Ordered) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := Decode(r)
	if !isWrite(r) || err != nil {
		http.Error(w, "not a remote-write 1.0 request", http.StatusBadRequest)
		return
	}
	var late int64
	o.mu.Lock()
	for _, s := range req.Series {
		last, seen := o.newest[s.Labels]
		for _, ts := range s.Timestamps {
			if seen && ts <= last {
				late++
				continue
			}
			last, seen = ts, true
		}
		o.newest[s.Labels] = last
	}
	o.mu.Unlock()
	o.samples.Add(int64(req.Samples))
	o.outOfOrder.Add(late)
	w.WriteHeader(http.StatusNoContent)
}

// Samples counts the samples acknowledged; OutOfOrder those at or before their
// series' newest; Series the series seen.
func (o *Ordered) Samples() int64    { return o.samples.Load() }
func (o *Ordered) OutOfOrder() int64 { return o.outOfOrder.Load() }
func (o *Ordered) Series() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.newest)
}

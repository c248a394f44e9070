// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Quota enforces a managed backend's limits as AMP (Cortex) words and answers them:
// an ingestion rate in samples per second, as a token bucket holding one second's
// quota, answered 429 (retryable); and a limit of series, answered 400 (not
// retryable: Cortex's ingesters answer 400 to series limits since cortex#3833). A
// request over either is not passed on. The rate is counted first, as Cortex's
// distributor does before its ingesters: a request over the rate uses up no quota,
// one over the series limit has used its samples' rate but adds no series.
type Quota struct {
	next       http.Handler
	limiter    *rate.Limiter
	perSecond  int
	maxSeries  int
	seriesCode int
	mu         sync.Mutex
	series     map[string]struct{}
	throttled  atomic.Int64
	overSeries atomic.Int64
}

// QuotaOptions are the limits; 0 means none.
type QuotaOptions struct {
	SamplesPerSecond int
	Series           int
	// SeriesStatus answers a request over the series limit: 400 (Cortex, Mimir
	// and AMP since its capacity adjusts itself) unless set, 429 for gateways
	// that throttle instead.
	SeriesStatus int
}

// LimitIngestion wraps next.
func LimitIngestion(opts QuotaOptions, next http.Handler) *Quota {
	q := &Quota{next: next, perSecond: opts.SamplesPerSecond, maxSeries: opts.Series, seriesCode: opts.SeriesStatus, series: map[string]struct{}{}}
	if q.seriesCode == 0 {
		q.seriesCode = http.StatusBadRequest
	}
	if opts.SamplesPerSecond > 0 {
		q.limiter = rate.NewLimiter(rate.Limit(opts.SamplesPerSecond), opts.SamplesPerSecond)
	}
	return q
}

func (q *Quota) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isWrite(r) {
		q.next.ServeHTTP(w, r)
		return
	}
	req, err := Decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if q.limiter != nil && !q.limiter.AllowN(time.Now(), req.Samples) {
		q.throttled.Add(1)
		answer(w, http.StatusTooManyRequests, fmt.Sprintf("ingestion rate limit (%d) exceeded while adding %d samples and 0 metadata", q.perSecond, req.Samples))
		return
	}
	if q.maxSeries > 0 && !q.admitSeries(req.Series) {
		q.overSeries.Add(1)
		answer(w, q.seriesCode, fmt.Sprintf("per-user series limit of %d exceeded, Capacity from 2,000,000 to %d is automatically adjusted based on the last 30 min of usage", q.maxSeries, q.maxSeries))
		return
	}
	q.next.ServeHTTP(w, r)
}

// admitSeries records the request's new series unless they take the count over the limit.
func (q *Quota) admitSeries(series []Series) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	added := map[string]struct{}{} // a series may come in several entries
	for _, s := range series {
		if _, ok := q.series[s.Labels]; !ok {
			added[s.Labels] = struct{}{}
		}
	}
	if len(q.series)+len(added) > q.maxSeries {
		return false
	}
	maps.Copy(q.series, added)
	return true
}

// Throttled and OverSeries count the requests answered for each limit.
func (q *Quota) Throttled() int64  { return q.throttled.Load() }
func (q *Quota) OverSeries() int64 { return q.overSeries.Load() }

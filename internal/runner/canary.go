// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/golang/snappy"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// CanaryMetric is the series the runner writes beside the collector's, one per run
// (label run), to measure how soon a write can be queried and to know when
// everything written before can be.
const CanaryMetric = "dummymetrics_canary"

// Canary writes a series of its own to the backend, with its own remote-write
// client and the backend's authentication, and polls the query API until each
// sample is visible.
type Canary struct {
	backend Backend
	client  *http.Client
	querier *Querier
	run     string
	seq     int

	mu        sync.Mutex
	freshness []Fresh
	reads     float64
}

// Fresh is one canary sample: when the backend acknowledged it and how long it
// took to become queryable.
type Fresh struct {
	Acked time.Time
	Delay time.Duration
}

// NewCanary returns a canary of the run named run. Its writes are not retried:
// a probe writes another sample when one is not seen.
func (b Backend) NewCanary(q *Querier, run string) (*Canary, error) {
	client, err := b.writeClient()
	if err != nil {
		return nil, err
	}
	return &Canary{backend: b, client: client, querier: q, run: run}, nil
}

// Selector selects the canary's series.
func (c *Canary) Selector() string { return fmt.Sprintf("%s{run=%q}", CanaryMetric, c.run) }

// canaryResend is how long a probe waits for its sample before it writes another:
// a sample the backend lost then costs that long, not the probe's timeout.
const canaryResend = 5 * time.Second

// Probe writes the next canary sample and waits until a query sees it (or a later
// one), polling every poll; it records and returns the delay from the
// acknowledgement of the sample seen.
func (c *Canary) Probe(ctx context.Context, poll, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	first := c.seq + 1
	acked := map[int]time.Time{}
	var lastWrite time.Time
	var lastErr error // of the last query that failed, which a timeout names
	promql := fmt.Sprintf("max_over_time(%s[5m])", c.Selector())
	for {
		if time.Since(lastWrite) >= canaryResend {
			c.seq++
			if err := c.write(ctx, float64(c.seq), time.Now()); err != nil {
				return 0, err
			}
			lastWrite = time.Now()
			acked[c.seq] = lastWrite
		}
		v, err := c.querier.Scalar(ctx, promql, time.Now())
		if permanent(err) {
			return 0, fmt.Errorf("canary: %w", err)
		}
		if err != nil {
			lastErr = err
		} else {
			c.mu.Lock()
			c.reads += math.Min(float64(c.seq), 300) // what max_over_time read, at most one sample a second
			c.mu.Unlock()
			if at, ok := acked[int(v)]; ok && int(v) >= first {
				delay := time.Since(at)
				c.mu.Lock()
				c.freshness = append(c.freshness, Fresh{Acked: at, Delay: delay})
				c.mu.Unlock()
				return delay, nil
			}
		}
		select {
		case <-ctx.Done():
			which := fmt.Sprintf("canary sample %d", first)
			if c.seq > first {
				which = fmt.Sprintf("canary samples %d to %d (one every %s)", first, c.seq, canaryResend)
			}
			if lastErr != nil {
				return 0, fmt.Errorf("%s not queryable %s after the backend acknowledged it: %w; the last query failed: %w", which, timeout, ctx.Err(), lastErr)
			}
			return 0, fmt.Errorf("%s not queryable %s after the backend acknowledged it: %w", which, timeout, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Run probes every interval until ctx ends.
func (c *Canary) Run(ctx context.Context, interval, poll time.Duration) {
	for ctx.Err() == nil {
		began := time.Now()
		_, _ = c.Probe(ctx, poll, time.Minute)
		select {
		case <-ctx.Done():
		case <-time.After(interval - time.Since(began)):
		}
	}
}

// Freshness returns the delays of the samples acknowledged in [from, to).
func (c *Canary) Freshness(from, to time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, f := range c.freshness {
		if !f.Acked.Before(from) && f.Acked.Before(to) {
			out = append(out, f.Delay)
		}
	}
	return out
}

// SamplesRead is what the canary's polls read.
func (c *Canary) SamplesRead() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// write sends one sample of the canary series as a remote-write 1.0 request.
func (c *Canary) write(ctx context.Context, value float64, at time.Time) error {
	var sample, series, req []byte
	sample = protowire.AppendTag(sample, 1, protowire.Fixed64Type)
	sample = protowire.AppendFixed64(sample, math.Float64bits(value))
	sample = protowire.AppendTag(sample, 2, protowire.VarintType)
	sample = protowire.AppendVarint(sample, uint64(at.UnixMilli()))
	for _, l := range [][2]string{{"__name__", CanaryMetric}, {"run", c.run}} {
		var label []byte
		label = protowire.AppendTag(label, 1, protowire.BytesType)
		label = protowire.AppendString(label, l[0])
		label = protowire.AppendTag(label, 2, protowire.BytesType)
		label = protowire.AppendString(label, l[1])
		series = protowire.AppendTag(series, 1, protowire.BytesType)
		series = protowire.AppendBytes(series, label)
	}
	series = protowire.AppendTag(series, 2, protowire.BytesType)
	series = protowire.AppendBytes(series, sample)
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, series)

	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.backend.WriteURL, bytes.NewReader(snappy.Encode(nil, req)))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := c.client.Do(httpReq)
	if err != nil {
		return fmt.Errorf("canary write: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("canary write: %s: %s", resp.Status, body)
	}
	return nil
}

// Percentiles are the p50 and p99 of delays, in seconds (nil without any).
func Percentiles(delays []time.Duration) *Quantiles {
	if len(delays) == 0 {
		return nil
	}
	s := make([]float64, len(delays))
	for i, d := range delays {
		s[i] = d.Seconds()
	}
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)] }
	return &Quantiles{P50: at(0.5), P90: at(0.9), P99: at(0.99)}
}

// CanaryRun names a run's canary series uniquely, so that two runs started in
// the same second, or on two machines, never share one: name and 8 random hex digits.
func CanaryRun(name string) string { return fmt.Sprintf("%s-%08x", name, rand.Uint32()) }

// permanent tells a query error that asking again cannot mend: the backend
// refused the request itself (4xx other than 429, which the client retries), or
// the query.
func permanent(err error) bool {
	var apiErr *promv1.Error
	return errors.As(err, &apiErr) && (apiErr.Type == promv1.ErrClient || apiErr.Type == promv1.ErrBadData)
}

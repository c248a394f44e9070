// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"math"
	"time"
)

// Measurement is what one window of a run measured: a load-test stage or a bench
// point. Counts are samples unless named otherwise; rates are per second.
type Measurement struct {
	// Seconds is the window's length; StageSeconds the stage's, over which a load
	// test counts what the generator did (Plan.Measure). They are one window in the bench.
	Seconds      float64 `json:"seconds"`
	StageSeconds float64 `json:"stage_seconds"`

	// What the receiver's schedule asked for, and what it fell behind on (0 when
	// it is paced by a pause or not at all).
	Scheduled float64 `json:"scheduled_samples"`
	Shortfall float64 `json:"shortfall_samples"`
	// HeldBackSeconds is the time the generator workers waited for the pipeline
	// to take their payloads, summed over the workers.
	HeldBackSeconds float64 `json:"held_back_seconds"`
	// SeriesCreated are the series written for the first time.
	SeriesCreated float64 `json:"series_created,omitempty"`

	// From the collector's telemetry: emitted = accepted + refused; the exporter's
	// acknowledged (sent), failed and dropped-at-the-queue counts. The collector's
	// log splits the failed into rejected by the backend (it answered with an
	// error status) and unanswered (AddFailures); docs/counters.md has the words.
	Emitted float64 `json:"emitted_samples"`
	Refused float64 `json:"refused_samples"`
	Sent    float64 `json:"sent_samples"`
	// Acknowledged is Sent, or in a load test's stage what the stage emitted less
	// what its window lost or had rejected (Plan.Measure).
	Acknowledged  float64 `json:"acknowledged_samples"`
	SendFailed    float64 `json:"send_failed_samples"`
	Rejected      float64 `json:"rejected_samples"`
	Unanswered    float64 `json:"unanswered_samples"`
	EnqueueFailed float64 `json:"dropped_samples"`

	// The write requests: their latency, their answers by status, and their
	// compressed bytes; the batches the batch processor sent.
	Latency Quantiles `json:"latency_seconds"`
	// RequestSeconds is the time the requests took, summed.
	RequestSeconds float64            `json:"request_seconds"`
	Responses      map[string]float64 `json:"responses"`
	Bytes          float64            `json:"request_bytes"`
	Batches        float64            `json:"batches"`

	CollectorCPU float64 `json:"collector_cpu_seconds"`
	// OtherCPU is what the rest of the machine used, where the platform tells
	// (OtherCPUMeasured: Linux).
	OtherCPU         float64 `json:"other_cpu_seconds"`
	OtherCPUMeasured bool    `json:"other_cpu_measured"`
	PeakRSS          int64   `json:"collector_peak_rss_bytes"`

	// From the local Prometheus, when the run started one: samples appended, and
	// refused by its TSDB as out of order, too old or out of bounds; its CPU.
	Stored        float64 `json:"stored_samples,omitempty"`
	TSDBRefused   float64 `json:"tsdb_refused_samples,omitempty"`
	PrometheusCPU float64 `json:"prometheus_cpu_seconds,omitempty"`
}

// Quantiles are latency percentiles, in seconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// Measure computes what the window measured.
func Measure(w Window) Measurement {
	requests := w.Requests()
	m := Measurement{
		Seconds:         w.Duration().Seconds(),
		StageSeconds:    w.Duration().Seconds(),
		Scheduled:       w.Collector(MetricScheduled),
		Shortfall:       w.Collector(MetricShortfall),
		HeldBackSeconds: w.Collector(MetricHeldBack),
		Emitted:         w.Emitted(),
		Refused:         w.Collector(MetricRefused),
		Sent:            w.Collector(MetricSent),
		SendFailed:      w.Collector(MetricSendFailed),
		EnqueueFailed:   w.Collector(MetricEnqueueFailed),
		Latency:         Quantiles{P50: nanToZero(requests.Quantile(0.5)), P90: nanToZero(requests.Quantile(0.9)), P99: nanToZero(requests.Quantile(0.99))},
		Responses:       w.Responses(),
		RequestSeconds:  requests.Sum,
		Bytes:           w.To.Collector.Histogram(MetricRequestBytes, nil).Sum - w.From.Collector.Histogram(MetricRequestBytes, nil).Sum,
		Batches:         w.To.Collector.Histogram(MetricBatchSize, nil).Count - w.From.Collector.Histogram(MetricBatchSize, nil).Count,
		CollectorCPU:    w.CollectorCPU().Seconds(),
		PeakRSS:         w.To.CollectorUsage.PeakRSS,
	}
	m.Acknowledged = m.Sent
	if other, ok := w.OtherCPU(); ok {
		m.OtherCPU, m.OtherCPUMeasured = other.Seconds(), true
	}
	if w.To.Prometheus != nil {
		m.Stored = w.Prometheus("prometheus_tsdb_head_samples_appended_total")
		m.TSDBRefused = w.Prometheus("prometheus_tsdb_out_of_order_samples_total") +
			w.Prometheus("prometheus_tsdb_too_old_samples_total") + w.Prometheus("prometheus_tsdb_out_of_bound_samples_total")
		m.PrometheusCPU = w.PrometheusCPU().Seconds()
	}
	return m
}

// Lost is what the collector failed to deliver: refused by the pipeline,
// unanswered, or dropped at a full queue. What the backend rejected is not lost
// but refused by the backend, and counted apart; until AddFailures has split the
// failed batches, all of them count here. A failed batch is counted whole, so
// with several requests per batch this is an upper bound.
func (m Measurement) Lost() float64 { return m.Refused + m.SendFailed - m.Rejected + m.EnqueueFailed }

// AddFailures splits the window's failed batches by the collector's log: those
// the backend answered with an error status (rejected) and those it did not
// answer (unanswered), as the exporter reported them between from and to.
func (m *Measurement) AddFailures(log Log, from, to time.Time, samplesPerPoint float64) {
	m.Rejected, m.Unanswered = 0, 0
	for _, e := range log.GivenUp() {
		if e.Time.Before(from) || !e.Time.Before(to) || e.QueueFull() {
			continue // a full queue's batches are counted as dropped by the telemetry
		}
		if e.Answered() {
			m.Rejected += float64(e.Items()) * samplesPerPoint
		} else {
			m.Unanswered += float64(e.Items()) * samplesPerPoint
		}
	}
}

// Rate is n per second of the window.
func (m Measurement) Rate(n float64) float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return n / m.Seconds
}

// StageRate is n per second of the stage.
func (m Measurement) StageRate(n float64) float64 {
	if m.StageSeconds <= 0 {
		return 0
	}
	return n / m.StageSeconds
}

// MicrosPerSample is a CPU time per sample sent, in µs (NaN when none was sent).
func (m Measurement) MicrosPerSample(cpuSeconds float64) float64 {
	if m.Sent <= 0 {
		return math.NaN()
	}
	return cpuSeconds * 1e6 / m.Sent
}

// Requests is the number of write requests answered, whatever their status.
func (m Measurement) Requests() float64 {
	total := 0.0
	for _, n := range m.Responses {
		total += n
	}
	return total
}

func nanToZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

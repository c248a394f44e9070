// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Snapshot is every counter a run reads, at one moment: the collectors'
// telemetry and resource usage and, when the run started its own Prometheus,
// Prometheus's. With several collectors, Collector holds all their series, each
// labelled with its collector's index (Of picks one out), and CollectorUsage
// their sum.
type Snapshot struct {
	At              time.Time
	Collector       Metrics
	CollectorUsage  Usage
	Members         []Usage
	Prometheus      Metrics // nil against a remote backend
	PrometheusUsage Usage
	// MachineBusy is the CPU time every process of the machine used, and
	// RunnerCPU this process's own, to tell what the rest of the machine used;
	// MachineMeasured is false where the platform does not tell (not Linux).
	MachineBusy     time.Duration
	MachineMeasured bool
	RunnerCPU       time.Duration
}

// Of is collector i's share of the snapshot.
func (s Snapshot) Of(i int) Snapshot {
	out := s
	if s.Collector != nil {
		out.Collector = s.Collector.Only(i)
	}
	if i < len(s.Members) {
		out.CollectorUsage = s.Members[i]
	}
	out.Members = nil
	return out
}

// Snapshot reads the counters now, the collectors side by side. Each scrape is
// bounded, since a loaded machine can be slow to answer. Usage comes from the
// processes' own telemetry; each collector's peak resident memory is the
// largest of the run's snapshots.
func (r *Run) Snapshot(ctx context.Context) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s := Snapshot{At: time.Now(), RunnerCPU: selfCPU(), Members: make([]Usage, len(r.Members))}
	s.MachineBusy, s.MachineMeasured = machineBusy()
	scrapes := make([]Metrics, len(r.Members))
	errs := make([]error, len(r.Members))
	var wg sync.WaitGroup
	for i, m := range r.Members {
		wg.Go(func() {
			var err error
			if scrapes[i], err = m.Telemetry(ctx); err != nil {
				errs[i] = fmt.Errorf("%s's telemetry: %w", m.Name(), err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	r.mu.Lock()
	for i, m := range scrapes {
		u := telemetryUsage(m, metricCollectorCPU, metricCollectorRSS)
		r.peakRSS[i] = max(r.peakRSS[i], u.RSS)
		u.PeakRSS = r.peakRSS[i]
		s.Members[i] = u
		s.CollectorUsage.CPU += u.CPU
		s.CollectorUsage.RSS += u.RSS
		s.CollectorUsage.PeakRSS += u.PeakRSS
	}
	r.mu.Unlock()
	s.Collector = merge(scrapes)
	if r.Prometheus != nil {
		var err error
		if s.Prometheus, err = Scrape(ctx, r.Prometheus.URL+"/metrics"); err != nil {
			return s, fmt.Errorf("prometheus's telemetry: %w", err)
		}
		s.PrometheusUsage = telemetryUsage(s.Prometheus, metricPrometheusCPU, metricPrometheusRSS)
	}
	return s, nil
}

// The collector's counters, by the names its telemetry gives them.
const (
	MetricAccepted        = "otelcol_receiver_accepted_metric_points"
	MetricRefused         = "otelcol_receiver_refused_metric_points"
	MetricSent            = "otelcol_exporter_sent_metric_points"
	MetricSendFailed      = "otelcol_exporter_send_failed_metric_points"
	MetricEnqueueFailed   = "otelcol_exporter_enqueue_failed_metric_points"
	MetricQueueSize       = "otelcol_exporter_queue_size"
	MetricScheduled       = "otelcol_receiver_dummymetrics_scheduled_samples"
	MetricShortfall       = "otelcol_receiver_dummymetrics_shortfall_samples"
	MetricTargetRate      = "otelcol_receiver_dummymetrics_target_rate"
	MetricHeldBack        = "otelcol_receiver_dummymetrics_held_back_time"
	MetricSeriesWritten   = "otelcol_receiver_dummymetrics_series_written"
	MetricAcceptedByBlock = "otelcol_receiver_dummymetrics_accepted_samples"
	MetricRequests        = "http_client_request_duration"
	MetricRequestBytes    = "http_client_request_body_size"
	MetricBatchSize       = "otelcol_processor_batch_batch_send_size"
)

// Window is what happened between two snapshots.
type Window struct{ From, To Snapshot }

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.At.Sub(w.From.At) }

// Collector is the increase of a collector counter over the window.
func (w Window) Collector(name string) float64 {
	return w.To.Collector.Sum(name, nil) - w.From.Collector.Sum(name, nil)
}

// Prometheus is the increase of a counter of the local Prometheus over the window.
func (w Window) Prometheus(name string) float64 {
	return w.To.Prometheus.Sum(name, nil) - w.From.Prometheus.Sum(name, nil)
}

// Rate is a collector counter's increase per second.
func (w Window) Rate(name string) float64 { return perSecond(w.Collector(name), w.Duration()) }

// Emitted is what the receiver generated: accepted and refused by the pipeline.
func (w Window) Emitted() float64 { return w.Collector(MetricAccepted) + w.Collector(MetricRefused) }

// Lost is every sample the collector counted as not delivered: refused by the
// pipeline, failed after retries, or dropped at a full queue. A failed batch is
// counted whole, so this is an upper bound when only some of its requests failed.
func (w Window) Lost() float64 {
	return w.Collector(MetricRefused) + w.Collector(MetricSendFailed) + w.Collector(MetricEnqueueFailed)
}

// Requests is the histogram of the write requests' durations over the window.
func (w Window) Requests() Histogram {
	return w.To.Collector.Histogram(MetricRequests, nil).Minus(w.From.Collector.Histogram(MetricRequests, nil))
}

// Responses counts the write requests by HTTP status, and those that got no
// answer by their error type.
func (w Window) Responses() map[string]float64 {
	out := map[string]float64{}
	before := w.From.Collector.CountBy(MetricRequests, "http_response_status_code", "error_type")
	for code, n := range w.To.Collector.CountBy(MetricRequests, "http_response_status_code", "error_type") {
		if d := n - before[code]; d > 0 {
			out[code] = d
		}
	}
	return out
}

// Cores is how many cores a CPU time kept busy over the window.
func (w Window) Cores(cpu time.Duration) float64 { return perSecond(cpu.Seconds(), w.Duration()) }

// CollectorCPU is the collector's CPU time over the window.
func (w Window) CollectorCPU() time.Duration {
	return w.To.CollectorUsage.CPU - w.From.CollectorUsage.CPU
}

// PrometheusCPU is the local Prometheus's CPU time over the window.
func (w Window) PrometheusCPU() time.Duration {
	return w.To.PrometheusUsage.CPU - w.From.PrometheusUsage.CPU
}

// OtherCPU is what the rest of the machine used over the window: above a fifth of
// a core, the window ran under contention. It is false where the platform does
// not tell the machine's CPU.
func (w Window) OtherCPU() (time.Duration, bool) {
	if !w.From.MachineMeasured || !w.To.MachineMeasured {
		return 0, false
	}
	other := w.To.MachineBusy - w.From.MachineBusy - w.CollectorCPU() - w.PrometheusCPU() - (w.To.RunnerCPU - w.From.RunnerCPU)
	return max(other, 0), true
}

func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

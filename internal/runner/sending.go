// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"fmt"
	"math"
	"runtime"
)

// Sending is how a window kept the collector's sending path busy, and how much
// that path can carry at the latency measured. Without the exporter's queue a
// collector sends one batch at a time per batcher, and the requests of a batch
// SINK_PARALLELISM at a time: a batch of R requests takes ⌈R / sink⌉ rounds of
// one request's latency, however fast the backend ingests.
type Sending struct {
	Requests          float64 `json:"requests"`
	Batches           float64 `json:"batches"`
	MeanLatency       float64 `json:"mean_latency_seconds"`
	SamplesPerRequest float64 `json:"samples_per_request"`
	// RequestsPerBatch is what a full batch (SINK_BATCH_SIZE) is split into.
	RequestsPerBatch int `json:"requests_per_full_batch"`
	// InFlight is the requests that can be in flight: sink parallelism times the
	// batches sent at once.
	InFlight int `json:"requests_in_flight"`
	// SlotBusy is the share of the request slots' time spent in a request;
	// PathBusy the share of the window with at least one request in flight,
	// estimated as batches × rounds per batch × mean latency.
	SlotBusy float64 `json:"slot_busy"`
	PathBusy float64 `json:"path_busy"`
	// Ceiling is the samples per second the path can send at this latency;
	// WholeBatch with a sink parallelism that sends a whole batch at once.
	Ceiling    float64 `json:"ceiling_samples_per_second"`
	WholeBatch float64 `json:"whole_batch_ceiling_samples_per_second"`
}

// AnalyzeSending computes a window's Sending with the settings it ran with.
func AnalyzeSending(m Measurement, s Settings) Sending {
	batchers := s.Batchers() * max(s.Collectors, 1)
	out := Sending{Requests: m.Requests(), Batches: m.Batches, InFlight: max(s.Sink, 1) * batchers}
	if out.Requests == 0 || m.Seconds <= 0 {
		return out
	}
	out.MeanLatency = m.RequestSeconds / out.Requests
	out.SamplesPerRequest = (m.Sent + m.SendFailed) / out.Requests
	out.SlotBusy = m.RequestSeconds / (m.Seconds * float64(out.InFlight))
	if out.Batches > 0 {
		rounds := math.Ceil(out.Requests / out.Batches / float64(max(s.Sink, 1)))
		out.PathBusy = math.Min(1, out.Batches*rounds*out.MeanLatency/(m.Seconds*float64(batchers)))
	}
	if batch := float64(s.BatchSize) * s.perPoint(); out.SamplesPerRequest > 0 && out.MeanLatency > 0 && batch > 0 {
		out.RequestsPerBatch = int(math.Ceil(batch / out.SamplesPerRequest))
		out.Ceiling = ceiling(s, out.SamplesPerRequest, out.MeanLatency)
		out.WholeBatch = batch * float64(batchers) / out.MeanLatency
	}
	return out
}

// ceiling is the samples per second the sending path carries at this latency
// with requests of samplesPerRequest: each batcher's batch takes
// ⌈requests / sink⌉ rounds of one request's latency.
func ceiling(s Settings, samplesPerRequest, latency float64) float64 {
	batch := float64(s.BatchSize) * s.perPoint()
	rounds := math.Ceil(math.Ceil(batch/samplesPerRequest) / float64(max(s.Sink, 1)))
	return batch * float64(s.Batchers()*max(s.Collectors, 1)) / (rounds * latency)
}

// The parts of a collector that can hold it back when the backend answers in
// time and throttles nothing.
const (
	// LimitSending: requests were in flight nearly all the time; the rate is set
	// by the latency and the requests that may be in flight.
	LimitSending = "sending"
	// LimitExport: the requests idled while the generator waited on the pipeline,
	// so the export path's CPU (translation, one batch at a time) was the limit.
	LimitExport = "export"
	// LimitGenerator: the generator hardly waited on the pipeline.
	LimitGenerator = "generator"
	// LimitMachine: every core of the machine was busy, most of them with other
	// processes (a local Prometheus, another build): the collector got too little
	// CPU to keep up, which says nothing of the backend's capacity elsewhere.
	LimitMachine = "machine"
)

// pathBusyBound is the share of the time with a request in flight above which
// sending is latency-bound: batches leave one after the other, so the rest is
// the batch processor handing over and translating.
const pathBusyBound = 0.8

// CollectorLimit names what held a collector back in a window where the backend
// answered in time, and says what to grow, with numbers.
func CollectorLimit(m Measurement, s Settings) (string, string) {
	send := AnalyzeSending(m, s)
	// Held-back time is summed over every worker of every collector.
	waited := m.HeldBackSeconds / (math.Max(m.StageSeconds, 1e-9) * float64(max(s.Generator, 1)*max(s.Collectors, 1)))
	collector, prometheus, other := m.StageRate(m.CollectorCPU), m.StageRate(m.PrometheusCPU), m.StageRate(m.OtherCPU)
	cores := float64(runtime.NumCPU())
	switch {
	case m.OtherCPUMeasured && collector+prometheus+other >= 0.9*cores && prometheus+other > collector:
		return LimitMachine, fmt.Sprintf("the machine was the limit: its %.0f cores were busy, the collector %.1f of them, the local Prometheus %.1f, other processes %.1f; "+
			"run the backend, or the other work, elsewhere", cores, collector, prometheus, other)
	case send.PathBusy >= pathBusyBound && send.Ceiling > 0:
		who := "one collector sends"
		if s.Collectors > 1 {
			who = fmt.Sprintf("the %d collectors send", s.Collectors)
		}
		advice := fmt.Sprintf("sending was latency-bound: at %s per request and %d in flight, %s at most about %s samples/s",
			seconds(send.MeanLatency), send.InFlight, who, FormatCount(roundTo3(send.Ceiling)))
		if bytes, ceiling := largerRequests(send, s); ceiling > send.Ceiling {
			return LimitSending, advice + fmt.Sprintf("; its requests carried only %s samples each: -env %s=%d (%s samples a request, as Prometheus sends them) raises that to about %s at the same latency",
				FormatCount(math.Round(send.SamplesPerRequest)), envRequestBytes, bytes, FormatCount(prometheusSamplesPerSend), FormatCount(roundTo3(ceiling)))
		}
		if send.RequestsPerBatch > s.Sink {
			return LimitSending, advice + fmt.Sprintf("; -sink %d (a whole batch at once) raises that to about %s", send.RequestsPerBatch, FormatCount(roundTo3(send.WholeBatch)))
		}
		return LimitSending, advice + "; more generator workers (-gen, a batcher each) or collectors send more batches at once"
	case waited >= 0.5:
		return LimitExport, fmt.Sprintf("the export path was the limit: requests in flight only %.0f %% of the time while the generator waited on it %.0f %%; %s",
			100*send.PathBusy, 100*waited, exportAdvice(m, s))
	default:
		return LimitGenerator, fmt.Sprintf("the generator was the limit: it waited on the pipeline only %.0f %% of the time; add generator parallelism (-gen) or collectors", 100*waited)
	}
}

// exportAdvice: each generator worker has a batcher of its own, so more workers
// translate more batches at once while the collector has cores to spare;
// beyond, collectors.
func exportAdvice(m Measurement, s Settings) string {
	cores := m.StageRate(m.CollectorCPU)
	if cores < 0.8*float64(runtime.NumCPU()) && s.Generator < runtime.NumCPU() {
		return fmt.Sprintf("the collector used %.1f of %d cores: more generator workers (-gen, a batcher each) or collectors", cores, runtime.NumCPU())
	}
	return fmt.Sprintf("the collector used %.1f of %d cores: add collectors", cores, runtime.NumCPU())
}

// prometheusSamplesPerSend is Prometheus's own max_samples_per_send: what a
// production writer puts in one request.
const prometheusSamplesPerSend = 2000

// largerRequests: when requests carry far fewer samples than Prometheus sends
// (SINK_MAX_REQUEST_BYTES is filled by whole label sets, so long labels and one
// sample per series make small requests), the request size that carries
// prometheusSamplesPerSend of them, and the ceiling with it at the same latency;
// 0, 0 when the requests are large enough or unknown.
func largerRequests(send Sending, s Settings) (int, float64) {
	if send.SamplesPerRequest <= 0 || send.SamplesPerRequest >= prometheusSamplesPerSend/2 || s.RequestBytes <= 0 || send.MeanLatency <= 0 {
		return 0, 0
	}
	bytes := int(math.Ceil(float64(s.RequestBytes)*prometheusSamplesPerSend/send.SamplesPerRequest/1024)) * 1024
	return bytes, ceiling(s, prometheusSamplesPerSend, send.MeanLatency)
}

// roundTo3 rounds to three significant digits: a ceiling is an estimate.
func roundTo3(v float64) float64 {
	if v <= 0 {
		return v
	}
	scale := math.Pow(10, math.Floor(math.Log10(v))-2)
	return math.Round(v/scale) * scale
}

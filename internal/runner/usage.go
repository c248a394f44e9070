// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import "time"

// Usage is what a process used so far: CPU time, and resident memory now and at
// its peak.
type Usage struct {
	CPU          time.Duration
	RSS, PeakRSS int64 // bytes
}

// telemetryUsage reads a process's usage from its own telemetry, as every
// platform the collector and Prometheus run on reports it (Linux, macOS,
// Windows, the BSDs), instead of from /proc: the CPU seconds counter and the
// resident memory gauge named.
func telemetryUsage(m Metrics, cpu, rss string) Usage {
	r := int64(m.Sum(rss, nil))
	return Usage{CPU: time.Duration(m.Sum(cpu, nil) * float64(time.Second)), RSS: r, PeakRSS: r}
}

// The usage metrics of the collector's telemetry and of Prometheus's.
const (
	metricCollectorCPU  = "otelcol_process_cpu_seconds"
	metricCollectorRSS  = "otelcol_process_memory_rss"
	metricPrometheusCPU = "process_cpu_seconds_total"
	metricPrometheusRSS = "process_resident_memory_bytes"
)

// machineBusy is the CPU time every process of the machine used so far, where
// the platform tells (Linux's /proc/stat), to tell contention; false elsewhere.
// A variable, so that a test can play a platform without /proc.
var machineBusy = procMachineBusy

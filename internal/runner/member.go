// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// A Member is one collector of a run, wherever it runs: a process on this
// machine (Collector), or a pod read through the Kubernetes API server.
type Member interface {
	// Name names it in lines and reports: "collector 2", a pod's name.
	Name() string
	// Telemetry scrapes its own metrics.
	Telemetry(ctx context.Context) (Metrics, error)
	// Logged is its log so far, decoded; Log the same as written.
	Logged() Log
	Log() string
	// Terminate asks it to stop: SIGTERM, after which it drains its pipeline.
	Terminate() error
	// Exited is closed once it has stopped; ExitCode then tells how (-1 when
	// killed). Kill stops it at once.
	Exited() <-chan struct{}
	ExitCode() int
	Kill()
	// Restarts counts the times it was started again after a crash, each of
	// which reset its counters (a pod's container restarts; 0 for a process).
	Restarts() int
}

// collectorLabel names the member a series came from in a snapshot of several.
const collectorLabel = "collector"

// merge puts the scrapes of a run's members into one Metrics, each series
// labelled with its member's index, so that sums, merged histograms (latency
// percentiles from the merged buckets, never averaged) and counts by status
// cover the whole fleet, and Only picks one member out again.
func merge(scrapes []Metrics) Metrics {
	if len(scrapes) == 1 {
		return scrapes[0]
	}
	out := Metrics{}
	for i, m := range scrapes {
		name, value := collectorLabel, strconv.Itoa(i)
		for family, f := range m {
			merged, ok := out[family]
			if !ok {
				merged = &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Unit: f.Unit}
				out[family] = merged
			}
			for _, metric := range f.GetMetric() {
				metric.Label = append(metric.Label, &dto.LabelPair{Name: &name, Value: &value})
				merged.Metric = append(merged.Metric, metric)
			}
		}
	}
	return out
}

// Only is the series of member i in a merged Metrics (all of them when the run
// has one member).
func (m Metrics) Only(i int) Metrics {
	out := Metrics{}
	want := strconv.Itoa(i)
	for family, f := range m {
		only := &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Unit: f.Unit}
		for _, metric := range f.GetMetric() {
			label := ""
			found := false
			for _, l := range metric.GetLabel() {
				if l.GetName() == collectorLabel {
					label, found = l.GetValue(), true
				}
			}
			if !found || label == want {
				only.Metric = append(only.Metric, metric)
			}
		}
		if len(only.Metric) > 0 {
			out[family] = only
		}
	}
	return out
}

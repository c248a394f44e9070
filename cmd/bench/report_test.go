// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func TestChartsPerProtocol(t *testing.T) {
	point := func(sink int, proto Protocol) Point {
		return Point{GenParallelism: 2, SinkParallelism: sink, Instances: 50000, Mode: Ordered, Protocol: proto}
	}
	m := func(sent, cpu, bytes float64) runner.Measurement {
		return runner.Measurement{Seconds: 10, Sent: sent, CollectorCPU: cpu, Bytes: bytes}
	}
	charts := charts([]Result{
		{Point: point(4, RW1), Measurement: m(5e6, 6, 60e6)},
		{Point: point(2, RW1), Measurement: m(4e6, 5, 50e6)},
		{Point: point(2, RW2), Measurement: m(3e6, 6, 81e6)},
		{Point: point(4, RW2), Err: "the collector did not start"},
	})
	require.Len(t, charts, 3, "samples/s, CPU and bytes per sample")
	rate, cpu, wire := charts[0], charts[1], charts[2]
	assert.Equal(t, []float64{2, 4}, rate.XTicks)
	require.Len(t, rate.Lines, 2, "one line per protocol")
	assert.Contains(t, rate.Lines[1].Label, "rw2")
	assert.Equal(t, []float64{500, 400}, rate.Lines[0].Y, "thousands of samples/s, in the order measured")
	assert.InDeltaSlice(t, []float64{1.2, 1.25}, cpu.Lines[0].Y, 1e-9, "µs per sample")
	assert.Equal(t, []float64{12, 12.5}, wire.Lines[0].Y, "bytes per sample")
	assert.Equal(t, []float64{27}, wire.Lines[1].Y, "the failed point is left out")
}

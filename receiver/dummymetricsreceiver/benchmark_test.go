// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkGenerate measures what the receiver costs per sample at pause 0: drawing
// emissions, timestamping them, building the pdata payloads handed to the pipeline,
// and noting what the pipeline took. One benchmark op is one sample.
func BenchmarkGenerate(b *testing.B) {
	for _, location := range []string{InstanceIDOnResource, InstanceIDOnDataPoint} {
		for _, instances := range []int{60, 50_000} {
			b.Run(fmt.Sprintf("instance_id_location=%s/instances=%d", location, instances), func(b *testing.B) {
				benchmarkGenerate(b, location, instances)
			})
		}
	}
}

func benchmarkGenerate(b *testing.B, location string, instances int) {
	cfg := &Config{InstanceIDLocation: location, Instances: instances, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10}
	s := newShard(cfg, 0, 1)
	p := newPayload(s, location)
	now := int64(1_700_000_000_000)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	samples := 0
	for samples < b.N {
		e := s.next()
		start, _ := s.place(e, now)
		s.appendTo(p, e, start)
		samples += e.samples
		now += int64(e.samples) // the clock keeps pace, as it does at full load
		if p.sampleCount() >= maxPayloadSamples {
			p.take()
			s.ledger.settle(true) // the pipeline took it
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(samples), "allocs/sample")
}

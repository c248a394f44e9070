// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkGenerate measures what the receiver costs per sample at pause 0: drawing
// emissions, timestamping them, building the pdata payloads handed to the pipeline,
// and noting what the pipeline took; and the same of the scrape shape's scrapes.
// One benchmark op is one sample.
func BenchmarkGenerate(b *testing.B) {
	for _, location := range []string{InstanceIDOnResource, InstanceIDOnDataPoint} {
		for _, instances := range []int{60, 50_000} {
			b.Run(fmt.Sprintf("instance_id_location=%s/instances=%d", location, instances), func(b *testing.B) {
				benchmarkGenerate(b, location, instances)
			})
		}
	}
	for _, tt := range scrapeBenchmarks {
		b.Run("shape=scrape/"+tt.name, func(b *testing.B) { benchmarkScrape(b, tt.scrape) })
	}
}

// scrapeBenchmarks are the scrape shape's cases of BenchmarkGenerate: the default
// series, and a richer instance of 31 series (8 gauges, 8 counters, a histogram of
// 10 buckets) with 10 target labels.
var scrapeBenchmarks = []struct {
	name   string
	scrape ScrapeConfig
}{
	{"series_per_instance=2/labels=0", ScrapeConfig{Interval: 30 * time.Second, LabelLength: 16}},
	{"series_per_instance=31/labels=10", ScrapeConfig{Interval: 30 * time.Second, Gauges: 8, Counters: 8, HistogramBuckets: 10, Labels: 10, LabelLength: 16}},
}

// benchmarkScrape measures the scrape shape per sample: walking the slots in
// scrape order, staging the scrapes, building the payloads and noting what the
// pipeline took, for 50,000 slots, all active.
func benchmarkScrape(b *testing.B, sc ScrapeConfig) {
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism, cfg.Scrape = 50_000, 1, sc
	require.NoError(b, cfg.Validate())
	s := newScrapeShard(cfg, 0, 1, newSchedule(cfg, time.UnixMilli(1_700_000_000_000)))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	samples := 0
	for samples < b.N {
		at, _ := s.due()
		s.scrape(at) // on time: the clock keeps pace
		if s.staged()+2*s.series > maxPayloadSamples {
			_, n, _ := s.take()
			s.settle(true) // the pipeline took it
			samples += n
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(samples), "allocs/sample")
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

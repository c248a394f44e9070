// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTheScrapeStateOfAMillionActiveSeriesIsSmall measures what the receiver keeps
// for 1,000,000 active series, 50,000 slots of 20 series in 4 shards, with churn:
// once built, and after an interval of scrapes, whose payloads the pipeline took
// (its scratch space stays). The pipeline's own memory is not the receiver's.
func TestTheScrapeStateOfAMillionActiveSeriesIsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the state of a million series")
	}
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism = 50_000, 4
	cfg.Scrape = ScrapeConfig{Interval: 30 * time.Second, Gauges: 18, Churn: 10 * time.Minute, LabelLength: 16}
	require.NoError(t, cfg.Validate())
	require.Equal(t, 20, cfg.Scrape.seriesPerInstance())
	start := time.UnixMilli(1_700_000_000_000)
	sched := newSchedule(cfg, start)

	before := heapInUse()
	shards := make([]*scrapeShard, cfg.Parallelism)
	for k := range shards {
		shards[k] = newScrapeShard(cfg, k, 1, sched)
	}
	built := heapInUse()

	samples := 0
	for _, s := range shards {
		end := start.Add(cfg.Scrape.Interval).UnixMilli()
		for at, _ := s.due(); at < end; at, _ = s.due() {
			s.scrape(at)
			if s.staged()+2*s.series > maxPayloadSamples {
				_, n, _ := s.take()
				s.settle(true)
				samples += n
			}
		}
		_, n, _ := s.take()
		s.settle(true)
		samples += n
	}
	require.Equal(t, 1_000_000, samples, "every active series once in the interval")
	scraped := heapInUse()
	runtime.KeepAlive(shards)

	perSlot := float64(built-before) / float64(cfg.Instances)
	t.Logf("receiver state for 1,000,000 active series (50,000 slots × 20 series, 4 shards): %.1f bytes per slot once built, %.2f MiB after an interval of scrapes",
		perSlot, float64(scraped-before)/(1<<20))
	assert.LessOrEqual(t, perSlot, 16.0, "12 bytes per slot, and the blocks' names")
	assert.Less(t, scraped-before, uint64(8<<20), "the state and each shard's scratch space for one payload")
}

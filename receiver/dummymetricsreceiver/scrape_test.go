// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEverySeriesGetsOneSamplePerIntervalAtItsScrapeTime(t *testing.T) {
	const interval = 10 * time.Second
	cfg := scrapeTestConfig(40, interval, func(c *Config) {
		c.Scrape.Gauges, c.Scrape.Counters, c.Scrape.HistogramBuckets, c.Scrape.NativeHistogram, c.Scrape.Labels = 1, 2, 3, true, 3
	})
	spi := cfg.Scrape.seriesPerInstance()
	require.Equal(t, 2+1+2+(3+3)+1, spi)
	sink, w, _ := simulateScrape(t, cfg, 100*time.Second)

	series := bySeries(sink.samples())
	require.Len(t, series, 40*spi, "every series of every slot")
	times := w.scrape.times
	for key, samples := range series {
		require.Len(t, samples, 10, "%s: one sample per interval over 100 s", key)
		for n, s := range samples {
			assert.False(t, s.stale, key)
			slot := int32(s.instance[len(s.instance)-2:][0]-'0')*10 + int32(s.instance[len(s.instance)-1]-'0')
			assert.Equal(t, times.scrapeAt(slot, int64(n)), s.millis, "%s: the n-th sample at the slot's n-th scrape", key)
		}
	}
	// Never ahead of the clock, never split, never more than a payload's worth.
	for _, h := range sink.accepted {
		assert.LessOrEqual(t, len(h.samples), maxPayloadSamples)
		scrapes := map[string]int{}
		for _, s := range h.samples {
			assert.LessOrEqual(t, s.millis, h.at.UnixMilli(), "a scrape is sent once due")
			scrapes[s.instance+"@"+time.UnixMilli(s.millis).String()]++
		}
		for scrape, n := range scrapes {
			assert.Equal(t, spi, n, "%s: an instance's scrape is never split", scrape)
		}
	}
	assert.Equal(t, int64(40*spi*10), w.totals.accepted.Load())
	assert.Zero(t, w.totals.stale.Load())
}

func TestSeriesCarryTheInstanceAndItsTargetLabels(t *testing.T) {
	cfg := scrapeTestConfig(30, time.Second, func(c *Config) { c.Scrape.Labels, c.Scrape.LabelLength = 12, 20 })
	sink, _, _ := simulateScrape(t, cfg, 3*time.Second)
	wantNames := []string{instanceIDKey, "namespace", "pod", "node", "container", "cluster", "zone", "app", "team", "env", "version", "label_11", "label_12"}
	value := regexp.MustCompile(`^[a-z0-9-]{20}$`)
	pods := map[string]string{}
	for _, s := range sink.samples() {
		require.Len(t, s.labels, len(wantNames), s.series)
		for _, name := range wantNames[1:] {
			assert.Regexp(t, value, s.labels[name], "%s of %s", name, s.instance)
		}
		if other, ok := pods[s.labels["pod"]]; ok {
			assert.Equal(t, other, s.instance, "pods differ between instances")
		}
		pods[s.labels["pod"]] = s.instance
	}
	assert.Len(t, pods, 30)
	assert.Regexp(t, `^I00000000\d\d$`, sink.samples()[0].instance)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
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

func TestPhasesOfAnyPrefixOfSlotsAreSpreadEvenly(t *testing.T) {
	const intervalMs = 30_000
	for _, parallelism := range []int{1, 3, 8} {
		// The slots in the order they become active: the shards take turns.
		var all []int64
		perShard := make([][]int64, parallelism)
		for r := range 3000 {
			k, j := r%parallelism, r/parallelism
			times := slotTimes{intervalMs: intervalMs, k: k, parallelism: parallelism}
			phase := times.phase(int32(j))
			require.GreaterOrEqual(t, phase, int64(0))
			require.Less(t, phase, int64(intervalMs))
			all = append(all, phase)
			perShard[k] = append(perShard[k], phase)
			// The three-distance theorem: n points leave no gap above φ²/n.
			n := len(all)
			assert.LessOrEqual(t, maxGap(all, intervalMs), int64(phi*phi*intervalMs/float64(n))+1,
				"parallelism %d: the first %d slots", parallelism, n)
		}
		for k, phases := range perShard {
			// A shard's own slots are every P-th point: spread too, less tightly the
			// more shards there are (the step P/φ mod 1 is less irrational).
			bound := 2 + float64(parallelism)/2
			for n := 1; n <= len(phases); n++ {
				require.LessOrEqual(t, maxGap(phases[:n], intervalMs), int64(bound*intervalMs/float64(n))+1,
					"parallelism %d: the first %d slots of shard %d", parallelism, n, k)
			}
		}
	}
}

// generationOf splits an InstanceId into the slot's and the generation.
func generationOf(t *testing.T, instance string) (slot string, gen int) {
	t.Helper()
	m := regexp.MustCompile(`^(I\d{10})(?:-(\d+))?$`).FindStringSubmatch(instance)
	require.NotNil(t, m, "%s is I + 10 digits, with -generation after the first", instance)
	if m[2] != "" {
		var err error
		gen, err = strconv.Atoi(m[2])
		require.NoError(t, err)
		require.Positive(t, gen, "the first generation has no suffix")
	}
	return m[1], gen
}

func TestChurnReplacesInstancesAtASteadyRate(t *testing.T) {
	// 200 slots of 2 series replaced every 50 s: 8 new series per second.
	const slots, churn, run = 200, 50 * time.Second, 300 * time.Second
	cfg := scrapeTestConfig(slots, time.Second, func(c *Config) { c.Scrape.Churn = churn })
	sink, w, tel := simulateScrape(t, cfg, run)

	first := map[string]int64{} // series → its first sample
	var markers int64
	for _, s := range sink.samples() {
		if s.stale {
			markers++
			continue
		}
		if _, ok := first[s.series]; !ok {
			first[s.series] = s.millis
		}
	}
	created := make([]int, run/(10*time.Second))
	for _, ms := range first {
		created[(ms-simStart.UnixMilli())/10_000]++
	}
	perWindow := 2 * slots / 50 * 10 // series per 10 s
	for i, n := range created[1:] {
		assert.InDelta(t, perWindow, n, float64(perWindow)/10, "series created in the 10 s from %d s", 10*(i+1))
	}
	// Each slot is replaced 6 times in 300 s; those replaced in its last interval
	// are not scraped yet.
	assert.InDelta(t, 2*slots+2*slots*6, len(first), 2*slots/10, "the first generation, then 8 a second")
	scraped := 0
	times := w.scrape.times
	for slot := range int32(slots) {
		for gen := int32(0); ; gen++ {
			cycle := (times.generationStart(slot, gen) - times.startMs - times.phase(slot) + times.intervalMs - 1) / times.intervalMs
			at := times.scrapeAt(slot, max(cycle, 0))
			if at >= simStart.Add(run).UnixMilli() {
				break
			}
			// A first generation may end before its slot's first scrape.
			if at < times.generationStart(slot, gen+1) {
				scraped += 2
			}
		}
	}
	assert.Equal(t, scraped, len(first), "every generation scraped from its slot's first scrape after it started")
	assert.Equal(t, int64(len(first)-2*slots), markers, "every replaced series ended once")
	assert.Equal(t, markers, w.totals.stale.Load())
	assert.Equal(t, markers, sumOf(t, tel, "otelcol_receiver_dummymetrics_stale_markers"))
	assert.Equal(t, int64(len(first)), w.totals.written.Load(), "series_written counts every generation's series")
}

func TestAReplacedInstanceEndsWithStalenessMarkersAsTheNextOneStarts(t *testing.T) {
	const interval = 10 * time.Second
	cfg := scrapeTestConfig(20, interval, func(c *Config) {
		c.Scrape.Churn, c.Scrape.Counters, c.Scrape.HistogramBuckets = time.Minute, 1, 4
	})
	spi := cfg.Scrape.seriesPerInstance()
	sink, w, _ := simulateScrape(t, cfg, 5*time.Minute)

	type generation struct{ first, last sample }
	gens := map[string]map[int]*generation{} // slot → generation → its first sample and staleness marker
	markersPerScrape := map[string]int{}
	for _, s := range sink.samples() {
		slot, gen := generationOf(t, s.instance)
		if gens[slot] == nil {
			gens[slot] = map[int]*generation{}
		}
		g := gens[slot][gen]
		if g == nil {
			require.False(t, s.stale, "%s starts with a sample", s.series)
			g = &generation{first: s}
			gens[slot][gen] = g
		}
		if s.stale {
			g.last = s
			markersPerScrape[s.instance]++
		}
	}
	require.Len(t, gens, 20)
	replaced := 0
	for slot, byGen := range gens {
		for gen, g := range byGen {
			next, ok := byGen[gen+1]
			if !ok {
				assert.False(t, g.last.stale, "%s-%d: no marker at the end of the run", slot, gen)
				continue
			}
			replaced++
			require.True(t, g.last.stale, "%s-%d ends with staleness markers", slot, gen)
			assert.Equal(t, next.first.millis, g.last.millis, "%s-%d: the markers at the first scrape of the next generation", slot, gen)
		}
	}
	assert.Positive(t, replaced)
	for instance, n := range markersPerScrape {
		assert.Equal(t, spi, n, "%s: a marker for each of its %d series, the histogram's B+3 included", instance, spi)
	}
	assert.Equal(t, int64(replaced*spi), w.totals.stale.Load(), "markers counted apart")
	assert.Equal(t, int64(len(sink.samples())-replaced*spi), w.totals.accepted.Load(), "and not as samples")
}

func TestCountersIncreaseFromTheStartOfTheirGeneration(t *testing.T) {
	const interval = 15 * time.Second
	cfg := scrapeTestConfig(10, interval, func(c *Config) { c.Scrape.Counters, c.Scrape.Churn = 3, 2*time.Minute })
	sink, _, _ := simulateScrape(t, cfg, 10*time.Minute)
	counters := 0
	for key, samples := range bySeries(sink.samples()) {
		if !strings.HasPrefix(samples[0].name, counterPrefix) {
			continue
		}
		counters++
		number, err := strconv.Atoi(samples[0].name[len(counterPrefix) : len(samples[0].name)-len("_total")])
		require.NoError(t, err)
		step := float64(counterStep * number)
		_, gen := generationOf(t, samples[0].instance)
		if gen > 0 {
			assert.Less(t, samples[0].value, 1.5*step, "%s restarts: the first scrape of its instance", key)
			assert.GreaterOrEqual(t, samples[0].millis, samples[0].startMs, "%s started by its first scrape", key)
			assert.LessOrEqual(t, samples[0].millis-samples[0].startMs, interval.Milliseconds(), key)
		} else {
			assert.Equal(t, simStart.UnixMilli(), samples[0].startMs, "%s started with the schedule", key)
		}
		for i := 1; i < len(samples); i++ {
			if samples[i].stale {
				continue
			}
			assert.Equal(t, samples[0].startMs, samples[i].startMs, key)
			assert.Greater(t, samples[i].value, samples[i-1].value, "%s increases scrape after scrape", key)
			assert.InDelta(t, step, samples[i].value-samples[i-1].value, step/2, key)
		}
	}
	assert.Positive(t, counters)
}

func TestAClassicHistogramIsBPlusThreeSeriesOfCumulativeCounts(t *testing.T) {
	const buckets = 5
	cfg := scrapeTestConfig(4, 10*time.Second, func(c *Config) { c.Scrape.HistogramBuckets, c.Scrape.Churn = buckets, time.Minute })
	sink, _, _ := simulateScrape(t, cfg, 3*time.Minute)

	perScrape := map[string][]sample{} // InstanceId@time → its histogram samples
	stalePerScrape := map[string]int{}
	for _, s := range sink.samples() {
		if !strings.HasPrefix(s.name, histogramName) {
			continue
		}
		key := s.instance + "@" + strconv.FormatInt(s.millis, 10)
		if s.stale {
			stalePerScrape[key]++
			continue
		}
		perScrape[key] = append(perScrape[key], s)
	}
	require.NotEmpty(t, perScrape)
	for key, samples := range perScrape {
		require.Len(t, samples, buckets+3, "%s: B+1 buckets, _sum and _count", key)
		// In the order samplesOf lists them: the buckets by le, +Inf, _sum, _count.
		for b := 1; b <= buckets; b++ {
			assert.GreaterOrEqual(t, samples[b].value, samples[b-1].value, "%s: cumulative along le", key)
		}
		assert.Equal(t, "+Inf", samples[buckets].labels["le"])
		assert.Equal(t, samples[buckets+2].value, samples[buckets].value, "%s: _count is the +Inf bucket", key)
		assert.Equal(t, histogramName+"_count", samples[buckets+2].name)
		assert.Equal(t, []string{"0.001", "0.0025", "0.005", "0.01", "0.025"},
			[]string{samples[0].labels["le"], samples[1].labels["le"], samples[2].labels["le"], samples[3].labels["le"], samples[4].labels["le"]})
	}
	assert.NotEmpty(t, stalePerScrape, "replaced instances")
	for key, n := range stalePerScrape {
		assert.Equal(t, buckets+3, n, "%s: a stale histogram point ends all B+3 series", key)
	}
	for key, samples := range bySeries(sink.samples()) {
		if !strings.HasPrefix(samples[0].name, histogramName) {
			continue
		}
		for i := 1; i < len(samples); i++ {
			if !samples[i].stale {
				assert.Greater(t, samples[i].value, samples[i-1].value, "%s grows scrape after scrape", key)
			}
		}
	}
}

func TestANativeHistogramWhenAsked(t *testing.T) {
	for _, native := range []bool{false, true} {
		cfg := scrapeTestConfig(3, 10*time.Second, func(c *Config) { c.Scrape.NativeHistogram = native })
		sink, _, _ := simulateScrape(t, cfg, time.Minute)
		points := 0
		for _, h := range sink.accepted {
			ms := h.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
			for i := range ms.Len() {
				if ms.At(i).Type() != pmetric.MetricTypeExponentialHistogram {
					continue
				}
				assert.Equal(t, nativeHistogramName, ms.At(i).Name())
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, ms.At(i).ExponentialHistogram().AggregationTemporality())
				dps := ms.At(i).ExponentialHistogram().DataPoints()
				for j := range dps.Len() {
					dp := dps.At(j)
					points++
					var sum uint64
					for _, n := range dp.Positive().BucketCounts().All() {
						sum += n
					}
					assert.Equal(t, dp.Count(), sum+dp.ZeroCount())
					assert.True(t, dp.HasSum(), "the exporter refuses a native histogram without a sum")
					assert.Equal(t, nativeBuckets, dp.Positive().BucketCounts().Len())
				}
			}
		}
		if native {
			assert.Equal(t, 3*6, points, "one point per instance and scrape")
		} else {
			assert.Zero(t, points)
		}
	}
}

func TestStagesRampTheActiveSeriesUpAndDownOverBalancedShards(t *testing.T) {
	// 30 slots of 2 series in 3 shards; 0 → 60 active series over 20 s, 10 s at
	// 60, back to 0 over 20 s, then stop.
	const parallelism, run = 3, 60 * time.Second
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism, cfg.Scrape.Interval = 30, parallelism, time.Second
	cfg.Stages = []Stage{
		{Duration: 20 * time.Second, ActiveSeries: 0, RampTo: new(60.0)},
		{Duration: 10 * time.Second, ActiveSeries: 60},
		{Duration: 20 * time.Second, ActiveSeries: 60, RampTo: new(0.0)},
	}
	cfg.AfterStages = AfterStagesStop
	// The instances the stages ask for at t seconds, from their definition.
	want := func(t float64) float64 {
		switch {
		case t < 20:
			return math.Ceil(3 * t / 2) // 60 series over 20 s, 2 series per instance
		case t < 30:
			return 30
		case t < 50:
			return math.Ceil((60 - 3*(t-30)) / 2)
		}
		return 0
	}

	perShard := make([]map[int]map[string]bool, parallelism) // shard → second → instances scraped
	var samples []sample
	var scheduled, accepted int64
	for k := range parallelism {
		sink := &scrapeSink{}
		w, tel := simulateShard(t, cfg, k, simStart, run, sink)
		perShard[k] = map[int]map[string]bool{}
		for _, s := range sink.samples() {
			samples = append(samples, s)
			if s.stale {
				continue
			}
			second := int((s.millis - simStart.UnixMilli()) / 1000)
			if perShard[k][second] == nil {
				perShard[k][second] = map[string]bool{}
			}
			perShard[k][second][s.instance] = true
		}
		stages := byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples")
		assert.Zero(t, stages["3"], "nothing after the stages stop")
		scheduled += stages["0"] + stages["1"] + stages["2"]
		accepted += w.totals.accepted.Load()
		assert.Empty(t, byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples"))
	}
	assert.Equal(t, accepted, scheduled, "every scheduled sample sent, counted in samples")

	for second := range int(run / time.Second) {
		total, least, most := 0, math.MaxInt, 0
		for k := range parallelism {
			n := len(perShard[k][second])
			total += n
			least, most = min(least, n), max(most, n)
		}
		// Within a second the ramp adds or removes up to 1.5 instances.
		assert.InDelta(t, want(float64(second)+0.5), total, 2, "instances scraped in second %d", second)
		assert.LessOrEqual(t, most-least, 1, "second %d: the shards share the active instances evenly", second)
	}

	// Every instance that was active ends with staleness markers one interval after
	// its last sample, and nothing follows them.
	series := bySeries(samples)
	require.Len(t, series, 60)
	for key, s := range series {
		last := s[len(s)-1]
		require.True(t, last.stale, "%s ends with a staleness marker", key)
		require.False(t, s[len(s)-2].stale, key)
		assert.Equal(t, s[len(s)-2].millis+1000, last.millis, "%s: at its next scrape", key)
		assert.Less(t, last.millis, simStart.Add(51*time.Second).UnixMilli(), key)
	}
}

func TestActiveSeriesAndTargetRateFollowTheStages(t *testing.T) {
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism, cfg.Scrape.Interval, cfg.Scrape.Gauges = 100, 4, 10*time.Second, 8 // 10 series per instance
	cfg.Stages = []Stage{{Duration: 100 * time.Second, ActiveSeries: 0, RampTo: new(1000.0)}}
	require.NoError(t, cfg.Validate())
	rcv, err := newDummyMetricsReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	sched := newSchedule(cfg, simStart)
	for _, tt := range []struct {
		at     time.Duration
		active int64
	}{{-time.Second, 0}, {0, 0}, {time.Second, 10}, {15 * time.Second, 150}, {15500 * time.Millisecond, 160}, {100 * time.Second, 1000}, {time.Hour, 1000}} {
		assert.Equal(t, tt.active, rcv.activeSeries(sched, simStart.Add(tt.at)), "at %s: whole instances", tt.at)
		assert.InDelta(t, float64(tt.active)/10, rcv.targetRate(sched, simStart.Add(tt.at)), 1e-9, "at %s: one sample per series and interval", tt.at)
	}

	seed, err := newDummyMetricsReceiver(createDefaultConfig().(*Config), receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	assert.Equal(t, int64(120), seed.activeSeries(nil, simStart), "the seed shape: CPU and Memory of every instance")
}

func TestScrapesMoreThanASecondLateAreShortfallNotABurst(t *testing.T) {
	// Taking a payload takes 3 s: the worker falls behind its scrapes.
	cfg := scrapeTestConfig(2000, 10*time.Second, nil)
	sink := &scrapeSink{delay: 3 * time.Second}
	w, tel := simulateShard(t, cfg, 0, simStart, time.Minute, sink)

	for _, h := range sink.accepted {
		for _, s := range h.samples {
			assert.LessOrEqual(t, h.at.UnixMilli()-s.millis, maxRateDebt.Milliseconds()+1, "a scrape is sent within a second of its time, or not at all")
		}
	}
	shortfall := byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples")["0"]
	scheduled := byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples")["0"]
	assert.Positive(t, shortfall)
	assert.Zero(t, shortfall%2, "whole scrapes, counted in samples")
	emitted := w.totals.accepted.Load() + w.totals.refused.Load()
	assert.Equal(t, int64(len(sink.samples())), emitted)
	// What the last flush had not taken yet is the only difference.
	assert.InDelta(t, scheduled, emitted+shortfall, maxPayloadSamples)
	assert.Equal(t, shortfall, w.totals.shortfall.Load())
}

func TestRefusedScrapesAreCountedInSamples(t *testing.T) {
	// Every third payload is refused, for good, so that the worker does not back off.
	cfg := scrapeTestConfig(500, 5*time.Second, func(c *Config) {
		c.Scrape.HistogramBuckets, c.Scrape.Churn = 2, 20*time.Second
	})
	sink := &scrapeSink{refuse: func(n int) error {
		if n%3 == 2 {
			return consumererror.NewPermanent(errors.New("rejected"))
		}
		return nil
	}}
	w, tel := simulateShard(t, cfg, 0, simStart, time.Minute, sink)
	require.NotEmpty(t, sink.refused)

	count := func(hs []handover) (samples, markers int64, series map[string]bool) {
		series = map[string]bool{}
		for _, h := range hs {
			for _, s := range h.samples {
				if s.stale {
					markers++
					continue
				}
				samples++
				series[s.series] = true
			}
		}
		return samples, markers, series
	}
	accepted, stale, written := count(sink.accepted)
	refused, refusedStale, _ := count(sink.refused)
	assert.Positive(t, refusedStale, "churn ends series in refused payloads too")
	assert.Equal(t, refusedStale, w.totals.refusedStale.Load())
	assert.Equal(t, refused, w.totals.refused.Load())
	assert.Equal(t, refused, sumOf(t, tel, "otelcol_receiver_dummymetrics_refused_samples"))
	assert.Equal(t, refused, sumOf(t, tel, "otelcol_receiver_refused_metric_points"))
	assert.Equal(t, accepted, w.totals.accepted.Load())
	assert.Equal(t, accepted, sumOf(t, tel, "otelcol_receiver_dummymetrics_accepted_samples"), "samples, not data points, and no markers")
	assert.Equal(t, accepted, sumOf(t, tel, "otelcol_receiver_accepted_metric_points"))
	assert.Equal(t, stale, sumOf(t, tel, "otelcol_receiver_dummymetrics_stale_markers"))
	assert.Equal(t, int64(len(written)), w.totals.written.Load(), "series_written: the series with a sample accepted, churned ones included")
	var byBlock int64
	for _, n := range w.acceptedByBlock {
		byBlock += n
	}
	assert.Equal(t, accepted, byBlock)
}

func TestAnIdleStageAndAlignStartAreWaitedOutNotWalked(t *testing.T) {
	// A thousand-hour idle stage between two busy ones: walking it slot by slot
	// would take the worker billions of steps.
	cfg := scrapeTestConfig(1000, time.Second, func(c *Config) {
		c.Stages = []Stage{
			{Duration: 10 * time.Second, ActiveSeries: 2000},
			{Duration: 1000 * time.Hour, ActiveSeries: 0},
			{Duration: 10 * time.Second, ActiveSeries: 2000},
		}
		c.AfterStages, c.AlignStart = AfterStagesStop, time.Minute
	})
	start := simStart.Add(20 * time.Second) // aligned to simStart + 1 min
	sink := &scrapeSink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		simulateShard(t, cfg, 0, start, 1000*time.Hour+2*time.Minute, sink)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker walks the idle stage instead of sleeping through it")
	}
	aligned := simStart.Add(time.Minute).UnixMilli()
	idleFrom, idleTo := aligned+10_000, aligned+10_000+(1000*time.Hour).Milliseconds()
	var before, during, after, markers int
	for _, s := range sink.samples() {
		switch {
		case s.stale:
			markers++
			ended := idleFrom // as the idle stage begins, or as the last one ends
			if s.millis > idleTo {
				ended = idleTo + 10_000
			}
			assert.GreaterOrEqual(t, s.millis, ended)
			assert.Less(t, s.millis, ended+1000, "at the slot's next scrape")
		case s.millis < aligned:
			t.Fatalf("a sample before align_start: %v", s)
		case s.millis < idleFrom:
			before++
		case s.millis < idleTo:
			during++
		default:
			after++
		}
	}
	assert.Equal(t, 2000*10, before, "every series, every second of the first stage")
	assert.Zero(t, during)
	assert.Equal(t, 2000*10, after, "and of the last")
	assert.Equal(t, 2*2000, markers, "the series end before the idle stage and after the last one")
}

func TestASlowHandOverDoesNotDelayTheNextScrape(t *testing.T) {
	// Taking a payload takes 1.5 s, less than the 10 s between scrapes: the worker
	// must sleep only what is left, not the wait it had before handing over.
	cfg := scrapeTestConfig(1, 10*time.Second, nil)
	sink := &scrapeSink{delay: 1500 * time.Millisecond}
	w, tel := simulateShard(t, cfg, 0, simStart, 10*time.Minute, sink)

	assert.Empty(t, byStage(t, tel, "otelcol_receiver_dummymetrics_shortfall_samples"))
	assert.Zero(t, w.totals.shortfall.Load())
	scheduled := byStage(t, tel, "otelcol_receiver_dummymetrics_scheduled_samples")["0"]
	assert.InDelta(t, 120, scheduled, 2, "CPU and Memory every 10 s for 10 minutes")
	assert.InDelta(t, scheduled, w.totals.accepted.Load(), 2, "every scrape sent, at most the last one still staged")
}

func TestScrapesShareAPayloadForUpToMaxStagedDelay(t *testing.T) {
	// 3,000 instances every 30 s: a scrape every 10 ms. Payloads carry the scrapes
	// of about 100 ms, none held longer, instead of one scrape each.
	cfg := scrapeTestConfig(3000, 30*time.Second, nil)
	sink := &scrapeSink{}
	_, _ = simulateShard(t, cfg, 0, simStart, time.Minute, sink)

	require.NotEmpty(t, sink.accepted)
	var samples int
	for _, h := range sink.accepted {
		samples += len(h.samples)
		for _, s := range h.samples {
			assert.Less(t, h.at.UnixMilli()-s.millis, (maxStagedDelay + 10*time.Millisecond).Milliseconds(), "held at most maxStagedDelay and one scrape's gap")
		}
	}
	assert.GreaterOrEqual(t, samples/len(sink.accepted), 2*8, "at least 8 scrapes of 2 samples a payload")
}

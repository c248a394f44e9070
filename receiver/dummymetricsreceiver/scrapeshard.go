// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"cmp"
	"slices"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// scrapeShard is the generator of one worker in the scrape shape. It owns a
// contiguous range of instance slots, visits them in the order of their scrape
// times, interval after interval, and stages what is due at each: the samples of
// an active slot's instance, the staleness markers of series that ended. A shard
// is used by one goroutine only, so no locking.
//
// Its state is 12 bytes per slot that is ever active (its place in the order,
// its live generation, its newest generation written), whatever the series per
// instance and the churn: the values are computed, not kept.
type scrapeShard struct {
	times    slotTimes
	activity activity
	k        int
	first    int64 // global index of the shard's first slot
	seed     uint64
	series   int // per instance

	order  []int32 // the slots that are ever active, by phase
	cursor int     // the next of order to visit
	cycle  int64   // the interval the cursor is in, from the schedule's start
	idle   int     // visits in a row that had nothing to do

	liveGen []int32 // per slot: 1 + the generation whose series are live; 0 for none
	liveHi  int     // no slot from liveHi on has live series

	payload *scrapePayload
	ledger  scrapeLedger
	counts  stageCounts
}

var _ output = (*scrapeShard)(nil)

// newScrapeShard builds the generator of worker k, which owns the slots
// [first + k·n, first + (k+1)·n) with n = instances/parallelism, on schedule sched.
func newScrapeShard(cfg *Config, k int, seed uint64, sched *schedule) *scrapeShard {
	perShard := cfg.Instances / cfg.Parallelism
	act := newActivity(cfg, sched)
	s := &scrapeShard{
		times: slotTimes{
			startMs:     act.startMs,
			intervalMs:  cfg.Scrape.Interval.Milliseconds(),
			churnMs:     cfg.Scrape.Churn.Milliseconds(),
			k:           k,
			parallelism: cfg.Parallelism,
		},
		activity: act,
		k:        k,
		first:    cfg.firstIndex() + int64(k)*int64(perShard),
		seed:     seed,
		series:   cfg.Scrape.seriesPerInstance(),
		payload:  newScrapePayload(&cfg.Scrape),
		counts:   newStageCounts(len(cfg.Stages)),
	}
	// Slots beyond the most the schedule ever activates cost nothing.
	most := act.mostOfShard(k)
	s.order = make([]int32, most)
	for i := range s.order {
		s.order[i] = int32(i)
	}
	slices.SortFunc(s.order, func(a, b int32) int { return cmp.Compare(s.times.phase(a), s.times.phase(b)) })
	s.liveGen = make([]int32, most)
	s.ledger = newScrapeLedger(perShard, max(1, maxBlocks/cfg.Parallelism), s.series, most)
	return s
}

// activeAt returns how many of the shard's slots are active at millis: its first ones.
func (s *scrapeShard) activeAt(millis int64) int {
	return s.activity.ofShard(s.k, s.activity.instancesAt(millis))
}

// busy tells whether slot has something to do at its scrape at millis: samples
// when active, staleness markers when its series are live.
func (s *scrapeShard) busy(slot int32, millis int64) bool {
	return (int(slot) < s.liveHi && s.liveGen[slot] != 0) || int(slot) < s.activeAt(millis)
}

// due returns when the next scrape with something to do is due, moving past the
// slots that have nothing to do at their time, or false when none ever will.
func (s *scrapeShard) due() (int64, bool) {
	for len(s.order) > 0 {
		slot := s.order[s.cursor]
		at := s.times.scrapeAt(slot, s.cycle)
		if s.busy(slot, at) {
			s.idle = 0
			return at, true
		}
		s.advance()
		if s.idle++; s.idle >= len(s.order) {
			// A whole interval with nothing to do, so nothing is live: go on at the
			// interval in which the shard next has an active slot.
			next, ok := s.activity.nextActive(s.k, at)
			if !ok {
				return 0, false
			}
			s.cycle, s.cursor, s.idle = max(s.cycle, (next-s.times.startMs)/s.times.intervalMs), 0, 0
		}
	}
	return 0, false
}

// advance moves the cursor to the next slot in scrape order.
func (s *scrapeShard) advance() {
	if s.cursor++; s.cursor == len(s.order) {
		s.cursor = 0
		s.cycle++
	}
}

// scrape does the scrape at the cursor, due by nowMs: it stages the staleness
// markers of the slot's series that ended (the slot became inactive, or its
// instance was replaced) and the samples of its active instance. More than
// maxRateDebt late, it gives the samples up as shortfall instead; markers wait
// for the slot's next scrape.
func (s *scrapeShard) scrape(nowMs int64) {
	slot, cycle := s.order[s.cursor], s.cycle
	at := s.times.scrapeAt(slot, cycle)
	s.advance()
	active := int(slot) < s.activeAt(at)
	stage := s.activity.sched.stageAt(s.activity.elapsed(at))
	if active {
		s.counts.scheduled[stage] += int64(s.series)
	}
	if nowMs-at > maxRateDebt.Milliseconds() {
		if active {
			s.counts.shortfall[stage] += int64(s.series)
		}
		return
	}
	gen := s.times.generation(slot, at)
	if live := s.liveGen[slot]; live != 0 && (!active || live-1 != gen) {
		s.stage(slot, live-1, at, 0)
		s.liveGen[slot] = 0
		for s.liveHi > 0 && s.liveGen[s.liveHi-1] == 0 {
			s.liveHi--
		}
	}
	if active {
		s.stage(slot, gen, at, s.times.scrapeNumber(slot, gen, cycle))
		s.liveGen[slot] = gen + 1
		s.liveHi = max(s.liveHi, int(slot)+1)
	}
}

// stage adds the number-th scrape of generation gen of slot at millis to the
// payload, or its staleness markers when number is 0.
func (s *scrapeShard) stage(slot, gen int32, millis, number int64) {
	index := s.first + int64(slot)
	scrape := stagedScrape{atMs: millis, startMs: s.times.generationStart(slot, gen), index: index, number: number, gen: gen}
	if number > 0 {
		scrape.hash = scrapeHash(s.seed, index, gen, number)
		s.ledger.add(slot, gen, s.series)
	}
	s.payload.add(scrape)
}

func (s *scrapeShard) staged() int { return s.payload.staged() }

func (s *scrapeShard) stagedSince() int64 { return s.payload.oldestMs() }

func (s *scrapeShard) take() (pmetric.Metrics, int, int) { return s.payload.take() }

func (s *scrapeShard) blockSamples() []int { return s.ledger.blockSamples }

func (s *scrapeShard) settle(accepted bool) int { return s.ledger.settle(accepted) }

// blockNames returns the name of each block of the shard's slots, by the
// InstanceId of their first generation.
func (s *scrapeShard) blockNames() []string { return s.ledger.names(s.first) }

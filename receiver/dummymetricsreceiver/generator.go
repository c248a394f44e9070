// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"math/rand/v2"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// instanceIDKey is the one label of every series, as in the original sample.
const instanceIDKey = "InstanceId"

// The two metrics of every instance, chosen with equal odds on each emission.
const (
	metricCPU = iota
	metricMemory
	metricCount
)

var (
	metricNames        = [metricCount]string{"CPU", "Memory"}
	metricDescriptions = [metricCount]string{
		"Dummy CPU utilisation of the instance, uniform in [0, 1).",
		"Dummy memory utilisation of the instance, uniform in [0, 1).",
	}
)

// instanceID formats a global instance index as the original does: "I" and ten digits.
func instanceID(index int64) string {
	var buf [11]byte
	buf[0] = 'I'
	digits := strconv.AppendInt(buf[:1:1], index, 10)[1:]
	pad := 10 - len(digits)
	for i := 1; i <= pad; i++ {
		buf[i] = '0'
	}
	copy(buf[1+pad:], digits)
	return string(buf[:])
}

// emission is one record of the original sample: a few samples of one series.
type emission struct {
	instance int // index within the shard
	metric   int // metricCPU or metricMemory
	samples  int
}

// series is the index of the emission's series in shard.lastMillis.
func (e emission) series() int { return e.instance*metricCount + e.metric }

// shard is the generator of one worker: it owns a contiguous range of instances,
// draws emissions for them, and keeps every series' timestamps strictly increasing.
// A shard is used by one goroutine only; series never cross shards, so no locking.
type shard struct {
	rng          *rand.Rand
	ids          []string // InstanceId of each owned instance
	lastMillis   []int64  // newest timestamp of each series, in milliseconds
	minSamples   int
	sampleSpread int // max - min + 1
}

// newShard builds the generator of worker `worker`, which owns the instances
// [offset + worker·n, offset + (worker+1)·n) with n = instances/parallelism.
func newShard(cfg *Config, worker int, seed uint64) *shard {
	perShard := cfg.Instances / cfg.Parallelism
	first := cfg.InstanceOffset + int64(worker)*int64(perShard)
	ids := make([]string, perShard)
	for i := range ids {
		ids[i] = instanceID(first + int64(i))
	}
	return &shard{
		// One independent stream per worker, so a seed reproduces every worker's sequence
		// whatever the interleaving of the workers.
		rng:          rand.New(rand.NewPCG(seed, uint64(worker))),
		ids:          ids,
		lastMillis:   make([]int64, perShard*metricCount),
		minSamples:   cfg.MinSamplesPerSeries,
		sampleSpread: cfg.MaxSamplesPerSeries - cfg.MinSamplesPerSeries + 1,
	}
}

// next draws the next emission: a uniformly random instance of the shard, CPU or
// Memory with equal odds, and a uniformly random number of samples in [min, max].
func (s *shard) next() emission {
	return emission{
		instance: s.rng.IntN(len(s.ids)),
		metric:   int(s.rng.Uint64() & 1),
		samples:  s.minSamples + s.rng.IntN(s.sampleSpread),
	}
}

// place gives the emission's first timestamp: now, or just after its series' newest
// sample when that is later. Its samples take consecutive milliseconds. When the last
// of them would run more than maxAheadMillis past now, place returns instead how many
// milliseconds to wait before trying again.
func (s *shard) place(e emission, nowMillis int64) (startMillis, waitMillis int64) {
	startMillis = max(nowMillis, s.lastMillis[e.series()]+1)
	lastMillis := startMillis + int64(e.samples) - 1
	if ahead := lastMillis - nowMillis; ahead > maxAheadMillis {
		return 0, ahead - maxAheadMillis
	}
	return startMillis, 0
}

const maxAheadMillis = int64(maxAheadOfWallClock / time.Millisecond)

// appendTo adds the emission's samples, from startMillis on, to the batch, and
// records them as its series' newest.
func (s *shard) appendTo(b *batch, e emission, startMillis int64) {
	points := b.points(e.instance, e.metric, s.ids[e.instance])
	ts := startMillis
	for range e.samples {
		dp := points.AppendEmpty()
		dp.SetTimestamp(pcommon.Timestamp(ts * 1e6))
		dp.SetDoubleValue(s.rng.Float64())
		ts++
	}
	s.lastMillis[e.series()] = ts - 1
	b.samples += e.samples
}

// batch gathers emissions into one pmetric.Metrics. An instance is the resource that
// emits its metrics, so InstanceId is a resource attribute and each instance of the
// batch gets one ResourceMetrics with a gauge per metric that received samples. Data
// points then carry no attributes of their own, which halves the allocations per sample.
type batch struct {
	md      pmetric.Metrics
	samples int

	// Where each instance of the shard sits in md: groups[slot[i]] when slotGen[i]
	// equals gen. Bumping gen empties the index without clearing it.
	gen     uint32
	slotGen []uint32
	slot    []int32
	groups  []instanceGroup
}

// instanceGroup is the ResourceMetrics of one instance within the batch.
type instanceGroup struct {
	metrics pmetric.MetricSlice
	points  [metricCount]pmetric.NumberDataPointSlice
	present [metricCount]bool
}

func newBatch(instances int) *batch {
	b := &batch{
		slotGen: make([]uint32, instances),
		slot:    make([]int32, instances),
	}
	b.reset()
	return b
}

// reset starts an empty payload. The previous one belongs to the pipeline now.
func (b *batch) reset() {
	b.md = pmetric.NewMetrics()
	b.samples = 0
	b.gen++
	b.groups = b.groups[:0]
}

// take hands the gathered payload over and starts a new one.
func (b *batch) take() (pmetric.Metrics, int) {
	md, n := b.md, b.samples
	b.reset()
	return md, n
}

// points returns the data points of the instance's metric, creating its
// ResourceMetrics and gauge on first use in this batch.
func (b *batch) points(instance, metric int, id string) pmetric.NumberDataPointSlice {
	var g *instanceGroup
	if b.slotGen[instance] == b.gen {
		g = &b.groups[b.slot[instance]]
	} else {
		b.slotGen[instance] = b.gen
		b.slot[instance] = int32(len(b.groups))
		rm := b.md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(instanceIDKey, id)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(metadata.ScopeName)
		b.groups = append(b.groups, instanceGroup{metrics: sm.Metrics()})
		g = &b.groups[len(b.groups)-1]
	}
	if !g.present[metric] {
		m := g.metrics.AppendEmpty()
		m.SetName(metricNames[metric])
		m.SetDescription(metricDescriptions[metric])
		g.points[metric] = m.SetEmptyGauge().DataPoints()
		g.present[metric] = true
	}
	return g.points[metric]
}

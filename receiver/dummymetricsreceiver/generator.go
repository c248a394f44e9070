// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"math/bits"
	"math/rand/v2"
	"slices"
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
	choices      wyrand   // instances, metrics and sample counts
	values       wyrand   // sample values, drawn when a batch is built
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
		// Independent streams per worker, so that a seed reproduces every worker's
		// sequence whatever the interleaving of the workers.
		choices:      newWyrand(seed, 2*uint64(worker)),
		values:       newWyrand(seed, 2*uint64(worker)+1),
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
		instance: uniformIntN(s.choices.Uint64(), len(s.ids)),
		metric:   int(s.choices.Uint64() >> 63),
		samples:  s.minSamples + uniformIntN(s.choices.Uint64(), s.sampleSpread),
	}
}

// wyrand is the wyrand generator (from wyhash): one 64×64→128-bit multiplication per
// number, about three times cheaper than PCG, and of ample quality for dummy data.
type wyrand uint64

// newWyrand derives a generator for one stream of a seed from PCG, so that streams of
// one seed do not overlap in practice.
func newWyrand(seed, stream uint64) wyrand {
	return wyrand(rand.NewPCG(seed, stream).Uint64())
}

// Uint64 returns the next number of the stream.
func (r *wyrand) Uint64() uint64 {
	*r += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(uint64(*r), uint64(*r)^0xe7037ed1a0b428db)
	return hi ^ lo
}

// uniformIntN maps a random 64-bit number onto [0, n) by multiplication (Lemire).
// Its bias, below n/2^64, is immaterial here, and it costs no division; the
// generators are called directly rather than through rand.Rand for the same reason.
func uniformIntN(random uint64, n int) int {
	hi, _ := bits.Mul64(random, uint64(n))
	return int(hi)
}

// uniformFloat64 maps a random 64-bit number onto [0, 1) as rand.Float64 does.
func uniformFloat64(random uint64) float64 {
	return float64(random>>11) * (1.0 / (1 << 53))
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

// appendTo adds the emission's samples, from startMillis on, to the batch; they
// become its series' newest.
func (s *shard) appendTo(b *batch, e emission, startMillis int64) {
	b.add(e, startMillis)
	s.lastMillis[e.series()] = startMillis + int64(e.samples) - 1
}

// batch gathers emissions and turns them into one pmetric.Metrics, in one of two
// shapes. By default an instance is the resource that emits its metrics: InstanceId
// is a resource attribute, and each instance of the batch gets one ResourceMetrics
// with a gauge per metric that got samples; data points need no attributes of their
// own, which saves two allocations per sample. With pointAttributes, one resource
// holds a gauge per metric and every point carries InstanceId, which exporters that
// copy resource attributes onto every point anyway translate faster. Emissions are
// staged in plain slices first so that every pdata slice is allocated once, at its
// final size.
type batch struct {
	ids []string // InstanceId of each instance of the shard
	// pointAttributes puts InstanceId on every data point under one shared resource,
	// instead of one resource per instance (instance_id_location: data_point).
	pointAttributes bool
	values          *wyrand // the shard's source of sample values
	emissions       []stagedEmission
	samples         int
	perMetric       [metricCount]int // samples per metric

	// Where each instance sits in groups: slot[i] when slotGen[i] equals gen.
	// Bumping gen empties the index without clearing it.
	gen     uint32
	slotGen []uint32
	slot    []int32
	groups  []instanceGroup

	// Scratch space of bySeries, kept between batches.
	order        []int32
	seriesStarts []int32
}

type stagedEmission struct {
	startMillis int64
	instance    int32
	group       int32
	metric      int32
	samples     int32
}

// instanceGroup is one instance's share of the batch: its samples per metric, and
// the data points they go to once a payload of resources per instance is built.
type instanceGroup struct {
	instance int
	samples  [metricCount]int
	points   [metricCount]pmetric.NumberDataPointSlice
}

func newBatch(s *shard, pointAttributes bool) *batch {
	return &batch{
		ids:             s.ids,
		pointAttributes: pointAttributes,
		values:          &s.values,
		slotGen:         make([]uint32, len(s.ids)),
		slot:            make([]int32, len(s.ids)),
		gen:             1,
	}
}

// add stages an emission.
func (b *batch) add(e emission, startMillis int64) {
	b.samples += e.samples
	if b.pointAttributes {
		// One shared resource: no need to know where each instance goes.
		b.perMetric[e.metric] += e.samples
		b.emissions = append(b.emissions, stagedEmission{
			startMillis: startMillis,
			instance:    int32(e.instance),
			metric:      int32(e.metric),
			samples:     int32(e.samples),
		})
		return
	}
	if b.slotGen[e.instance] != b.gen {
		b.slotGen[e.instance] = b.gen
		b.slot[e.instance] = int32(len(b.groups))
		b.groups = append(b.groups, instanceGroup{instance: e.instance})
	}
	group := b.slot[e.instance]
	b.groups[group].samples[e.metric] += e.samples
	b.emissions = append(b.emissions, stagedEmission{
		startMillis: startMillis,
		group:       group,
		metric:      int32(e.metric),
		samples:     int32(e.samples),
	})
}

// bySeries returns the indexes of the staged emissions ordered by series, each
// series' emissions in the order they were drawn (a counting sort). Appending one
// series' points in a row, rather than in emission order, keeps each data point
// slice hot in the cache and saves a fifth of the cost of building the payload.
func (b *batch) bySeries() []int32 {
	series := func(e *stagedEmission) int32 { return e.group*metricCount + e.metric }
	starts := slices.Grow(b.seriesStarts[:0], len(b.groups)*metricCount+1)[:len(b.groups)*metricCount+1]
	clear(starts)
	for i := range b.emissions {
		starts[series(&b.emissions[i])+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	order := slices.Grow(b.order[:0], len(b.emissions))[:len(b.emissions)]
	for i := range b.emissions {
		s := series(&b.emissions[i])
		order[starts[s]] = int32(i)
		starts[s]++
	}
	b.seriesStarts, b.order = starts, order
	return order
}

// take builds the payload of the staged emissions, hands it over with its number of
// samples, and empties the batch.
func (b *batch) take() (pmetric.Metrics, int) {
	md := pmetric.NewMetrics()
	if b.pointAttributes {
		b.appendWithPointAttributes(md)
	} else {
		b.appendPerInstance(md)
	}
	samples := b.samples
	b.emissions, b.groups, b.samples, b.perMetric = b.emissions[:0], b.groups[:0], 0, [metricCount]int{}
	b.gen++
	return md, samples
}

// appendPerInstance builds a resource per instance and appends each series' points
// in a row.
func (b *batch) appendPerInstance(md pmetric.Metrics) {
	b.buildResourcePerInstance(md)
	for _, i := range b.bySeries() {
		e := &b.emissions[i]
		points := b.groups[e.group].points[e.metric]
		ts := pcommon.Timestamp(e.startMillis * 1e6)
		for range e.samples {
			dp := points.AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(uniformFloat64(b.values.Uint64()))
			ts += 1e6
		}
	}
}

// appendWithPointAttributes builds one shared resource and appends the points in
// the order they were drawn: they all go to one of two slices, so there is no
// locality to gain from ordering them by series.
func (b *batch) appendWithPointAttributes(md pmetric.Metrics) {
	points := b.buildSharedResource(md)
	for i := range b.emissions {
		e := &b.emissions[i]
		id := b.ids[e.instance]
		ts := pcommon.Timestamp(e.startMillis * 1e6)
		for range e.samples {
			dp := points[e.metric].AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(uniformFloat64(b.values.Uint64()))
			dp.Attributes().PutStr(instanceIDKey, id)
			ts += 1e6
		}
	}
}

// buildResourcePerInstance gives every instance of the batch a ResourceMetrics with
// InstanceId as its attribute and a gauge per metric that got samples.
func (b *batch) buildResourcePerInstance(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	rms.EnsureCapacity(len(b.groups))
	for i := range b.groups {
		g := &b.groups[i]
		rm := rms.AppendEmpty()
		rm.Resource().Attributes().PutStr(instanceIDKey, b.ids[g.instance])
		metrics := newScopeMetrics(rm)
		if g.samples[metricCPU] > 0 && g.samples[metricMemory] > 0 {
			metrics.EnsureCapacity(metricCount)
		}
		for metric, n := range g.samples {
			if n > 0 {
				g.points[metric] = appendGauge(metrics, metric, n)
			}
		}
	}
}

// buildSharedResource puts every sample of the batch under one ResourceMetrics
// without attributes, in one gauge per metric, and returns their points.
func (b *batch) buildSharedResource(md pmetric.Metrics) [metricCount]pmetric.NumberDataPointSlice {
	metrics := newScopeMetrics(md.ResourceMetrics().AppendEmpty())
	metrics.EnsureCapacity(metricCount)
	var points [metricCount]pmetric.NumberDataPointSlice
	for metric, n := range b.perMetric {
		if n > 0 {
			points[metric] = appendGauge(metrics, metric, n)
		}
	}
	return points
}

func newScopeMetrics(rm pmetric.ResourceMetrics) pmetric.MetricSlice {
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	return sm.Metrics()
}

// appendGauge adds the gauge of a metric with room for n points and returns its points.
func appendGauge(metrics pmetric.MetricSlice, metric, n int) pmetric.NumberDataPointSlice {
	m := metrics.AppendEmpty()
	m.SetName(metricNames[metric])
	m.SetDescription(metricDescriptions[metric])
	points := m.SetEmptyGauge().DataPoints()
	points.EnsureCapacity(n)
	return points
}

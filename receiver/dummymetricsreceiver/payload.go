// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// instanceIDKey is the one label of every series, as in the original sample.
const instanceIDKey = "InstanceId"

var (
	metricNames        = [metricCount]string{"CPU", "Memory"}
	metricDescriptions = [metricCount]string{
		"Dummy CPU utilisation of the instance, uniform in [0, 1).",
		"Dummy memory utilisation of the instance, uniform in [0, 1).",
	}
)

// payload gathers a shard's emissions until the worker hands them to the pipeline,
// then turns them into one pmetric.Metrics. Emissions are staged in plain slices
// first so that every pdata slice is allocated once, at its final size. Where
// InstanceId goes decides the shape: perInstancePayload puts it on a resource per
// instance, sharedResourcePayload on every data point.
type payload interface {
	// add stages an emission whose samples start at startMillis.
	add(e emission, startMillis int64)
	// sampleCount returns the number of samples staged.
	sampleCount() int
	// take builds the pmetric.Metrics of the staged emissions, hands it over with its
	// number of samples, and empties the payload.
	take() (pmetric.Metrics, int)
}

// newPayload returns an empty payload for the shard s, in the shape of the
// instance_id_location `location`.
func newPayload(s *shard, location string) payload {
	if location == InstanceIDOnDataPoint {
		return newSharedResourcePayload(s)
	}
	return newPerInstancePayload(s)
}

// perInstancePayload is the shape of instance_id_location: resource. An instance is
// the resource that emits its metrics: InstanceId is a resource attribute, and each
// instance of the payload gets one ResourceMetrics with a gauge per metric that got
// samples; data points need no attributes of their own, which saves two allocations
// per sample.
type perInstancePayload struct {
	ids       []string // InstanceId of each instance of the shard
	values    *wyrand  // the shard's source of sample values, drawn from as emissions are added
	emissions []groupedEmission
	samples   int

	// Where each instance sits in groups: slot[i] when slotGen[i] equals gen.
	// Bumping gen empties the index without clearing it.
	gen     uint32
	slotGen []uint32
	slot    []int32
	groups  []instanceGroup

	// Scratch space of bySeries, kept from one payload to the next.
	order        []int32
	seriesStarts []int32
}

// groupedEmission is a staged emission of a perInstancePayload.
type groupedEmission struct {
	startMillis int64
	values      wyrand // the value stream where the emission's samples start
	group       int32  // index of the emission's instance in groups
	metric      int32
	samples     int32
}

// instanceGroup is one instance's share of the payload: its samples per metric, and
// the data points they go to once the resources are built.
type instanceGroup struct {
	instance int
	samples  [metricCount]int
	points   [metricCount]pmetric.NumberDataPointSlice
}

func newPerInstancePayload(s *shard) *perInstancePayload {
	return &perInstancePayload{
		ids:     s.ids,
		values:  &s.values,
		slotGen: make([]uint32, len(s.ids)),
		slot:    make([]int32, len(s.ids)),
		gen:     1,
	}
}

func (p *perInstancePayload) sampleCount() int { return p.samples }

// add stages an emission in its instance's group, opening the group on the
// instance's first emission of the payload.
func (p *perInstancePayload) add(e emission, startMillis int64) {
	p.samples += e.samples
	if p.slotGen[e.instance] != p.gen {
		p.slotGen[e.instance] = p.gen
		p.slot[e.instance] = int32(len(p.groups))
		p.groups = append(p.groups, instanceGroup{instance: e.instance})
	}
	group := p.slot[e.instance]
	p.groups[group].samples[e.metric] += e.samples
	p.emissions = append(p.emissions, groupedEmission{
		startMillis: startMillis,
		values:      *p.values,
		group:       group,
		metric:      int32(e.metric),
		samples:     int32(e.samples),
	})
	p.values.skip(e.samples)
}

// take builds a resource per instance and appends each series' points in a row.
func (p *perInstancePayload) take() (pmetric.Metrics, int) {
	md := pmetric.NewMetrics()
	p.buildResources(md)
	for _, i := range p.bySeries() {
		e := &p.emissions[i]
		points := p.groups[e.group].points[e.metric]
		ts := pcommon.Timestamp(e.startMillis * 1e6)
		values := e.values
		for range e.samples {
			dp := points.AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(uniformFloat64(values.Uint64()))
			ts += 1e6
		}
	}
	samples := p.samples
	p.emissions, p.groups, p.samples = p.emissions[:0], p.groups[:0], 0
	p.gen++
	return md, samples
}

// bySeries returns the indexes of the staged emissions ordered by series, each
// series' emissions in the order they were drawn (a counting sort). Appending one
// series' points in a row, rather than in emission order, keeps each data point
// slice hot in the cache and saves a fifth of the cost of building the payload.
func (p *perInstancePayload) bySeries() []int32 {
	series := func(e *groupedEmission) int32 { return e.group*metricCount + e.metric }
	starts := slices.Grow(p.seriesStarts[:0], len(p.groups)*metricCount+1)[:len(p.groups)*metricCount+1]
	clear(starts)
	for i := range p.emissions {
		starts[series(&p.emissions[i])+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	order := slices.Grow(p.order[:0], len(p.emissions))[:len(p.emissions)]
	for i := range p.emissions {
		s := series(&p.emissions[i])
		order[starts[s]] = int32(i)
		starts[s]++
	}
	p.seriesStarts, p.order = starts, order
	return order
}

// buildResources gives every instance of the payload a ResourceMetrics with
// InstanceId as its attribute and a gauge per metric that got samples.
func (p *perInstancePayload) buildResources(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	rms.EnsureCapacity(len(p.groups))
	for i := range p.groups {
		g := &p.groups[i]
		rm := rms.AppendEmpty()
		rm.Resource().Attributes().PutStr(instanceIDKey, p.ids[g.instance])
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

// sharedResourcePayload is the shape of instance_id_location: data_point. One
// resource without attributes holds a gauge per metric, and every data point carries
// InstanceId, which exporters that copy resource attributes onto every point anyway
// translate faster.
type sharedResourcePayload struct {
	ids       []string // InstanceId of each instance of the shard
	values    *wyrand  // the shard's source of sample values, drawn from as emissions are added
	emissions []stagedEmission
	samples   int
	perMetric [metricCount]int // samples per metric
}

// stagedEmission is a staged emission of a sharedResourcePayload.
type stagedEmission struct {
	startMillis int64
	values      wyrand // the value stream where the emission's samples start
	instance    int32
	metric      int32
	samples     int32
}

func newSharedResourcePayload(s *shard) *sharedResourcePayload {
	return &sharedResourcePayload{ids: s.ids, values: &s.values}
}

func (p *sharedResourcePayload) sampleCount() int { return p.samples }

// add stages an emission. All instances share one resource, so there is no need to
// know where each instance goes.
func (p *sharedResourcePayload) add(e emission, startMillis int64) {
	p.samples += e.samples
	p.perMetric[e.metric] += e.samples
	p.emissions = append(p.emissions, stagedEmission{
		startMillis: startMillis,
		values:      *p.values,
		instance:    int32(e.instance),
		metric:      int32(e.metric),
		samples:     int32(e.samples),
	})
	p.values.skip(e.samples)
}

// take builds the shared resource and appends the points in the order they were
// drawn: they all go to one of two slices, so there is no locality to gain from
// ordering them by series.
func (p *sharedResourcePayload) take() (pmetric.Metrics, int) {
	md := pmetric.NewMetrics()
	points := p.buildResource(md)
	for i := range p.emissions {
		e := &p.emissions[i]
		id := p.ids[e.instance]
		ts := pcommon.Timestamp(e.startMillis * 1e6)
		values := e.values
		for range e.samples {
			dp := points[e.metric].AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(uniformFloat64(values.Uint64()))
			dp.Attributes().PutStr(instanceIDKey, id)
			ts += 1e6
		}
	}
	samples := p.samples
	p.emissions, p.samples, p.perMetric = p.emissions[:0], 0, [metricCount]int{}
	return md, samples
}

// buildResource puts every sample of the payload under one ResourceMetrics without
// attributes, in one gauge per metric, and returns their points.
func (p *sharedResourcePayload) buildResource(md pmetric.Metrics) [metricCount]pmetric.NumberDataPointSlice {
	metrics := newScopeMetrics(md.ResourceMetrics().AppendEmpty())
	metrics.EnsureCapacity(metricCount)
	var points [metricCount]pmetric.NumberDataPointSlice
	for metric, n := range p.perMetric {
		if n > 0 {
			points[metric] = appendGauge(metrics, metric, n)
		}
	}
	return points
}

// newScopeMetrics adds the receiver's scope to a resource and returns its metrics.
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

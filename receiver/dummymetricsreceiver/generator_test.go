// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestInstanceID(t *testing.T) {
	tests := []struct {
		index int64
		want  string
	}{
		{0, "I0000000000"},
		{7, "I0000000007"},
		{59, "I0000000059"},
		{1234567890, "I1234567890"},
		{maxInstanceIndex, "I9999999999"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, instanceID(tt.index))
	}
}

func TestShardsAreDisjointAndCoverTheRange(t *testing.T) {
	tests := []struct {
		instances, parallelism int
		offset                 int64
	}{
		{60, 2, 0},
		{12, 3, 0},
		{12, 3, 24},
		{7, 7, 100},
		{1, 1, 9_999_999_999},
	}
	for _, tt := range tests {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: tt.instances, Parallelism: tt.parallelism, InstanceOffset: tt.offset, MinSamplesPerSeries: 1, MaxSamplesPerSeries: 1}
		require.NoError(t, cfg.Validate())
		owner := map[string]int{}
		for k := range tt.parallelism {
			s := newShard(cfg, k, 1)
			assert.Len(t, s.ids, tt.instances/tt.parallelism)
			for _, id := range s.ids {
				prev, dup := owner[id]
				assert.False(t, dup, "%s owned by workers %d and %d", id, prev, k)
				owner[id] = k
			}
		}
		require.Len(t, owner, tt.instances)
		for i := range int64(tt.instances) {
			assert.Contains(t, owner, instanceID(tt.offset+i))
		}
	}
}

// generate runs a shard for n emissions, one millisecond of wall clock per emission,
// and returns what it produced.
func generate(s *shard, n int) pmetric.Metrics {
	return generateShaped(s, n, false)
}

func generateShaped(s *shard, n int, pointAttributes bool) pmetric.Metrics {
	b := newBatch(s, pointAttributes)
	now := int64(1_700_000_000_000)
	for range n {
		e := s.next()
		start, wait := s.place(e, now)
		for wait > 0 {
			now += wait
			start, wait = s.place(e, now)
		}
		s.appendTo(b, e, start)
		now++
	}
	md, _ := b.take()
	return md
}

type point struct {
	instance string
	metric   string
	millis   int64
	value    float64
}

// flatten lists the points of a payload of either shape, in payload order, each
// with its InstanceId from the resource or from the point.
func flatten(md pmetric.Metrics) []point {
	var out []point
	for i := range md.ResourceMetrics().Len() {
		rm := md.ResourceMetrics().At(i)
		resourceID, _ := rm.Resource().Attributes().Get(instanceIDKey)
		for j := range rm.ScopeMetrics().Len() {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := range ms.Len() {
				dps := ms.At(k).Gauge().DataPoints()
				for l := range dps.Len() {
					dp := dps.At(l)
					id := resourceID.Str()
					if pointID, ok := dp.Attributes().Get(instanceIDKey); ok {
						id = pointID.Str()
					}
					out = append(out, point{id, ms.At(k).Name(), dp.Timestamp().AsTime().UnixMilli(), dp.DoubleValue()})
				}
			}
		}
	}
	return out
}

func TestGeneratedDataShape(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 12, Parallelism: 3, InstanceOffset: 24, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10}
	s := newShard(cfg, 1, 7) // owns I0000000028 .. I0000000031
	md := generate(s, 2000)

	idFormat := regexp.MustCompile(`^I\d{10}$`)
	seenSeries := map[string]bool{}
	for i := range md.ResourceMetrics().Len() {
		rm := md.ResourceMetrics().At(i)
		attrs := rm.Resource().Attributes()
		require.Equal(t, 1, attrs.Len(), "InstanceId is the only resource attribute")
		id, ok := attrs.Get(instanceIDKey)
		require.True(t, ok)
		assert.Regexp(t, idFormat, id.Str())
		assert.GreaterOrEqual(t, id.Str(), "I0000000028")
		assert.LessOrEqual(t, id.Str(), "I0000000031")
		require.Equal(t, 1, rm.ScopeMetrics().Len())
		ms := rm.ScopeMetrics().At(0).Metrics()
		for k := range ms.Len() {
			m := ms.At(k)
			require.Equal(t, pmetric.MetricTypeGauge, m.Type())
			assert.Contains(t, []string{"CPU", "Memory"}, m.Name())
			assert.Empty(t, m.Unit(), "a unit would add a suffix to the Prometheus name")
			seenSeries[id.Str()+m.Name()] = true
			dps := m.Gauge().DataPoints()
			for l := range dps.Len() {
				dp := dps.At(l)
				assert.Equal(t, 0, dp.Attributes().Len(), "points carry no attributes of their own")
				assert.Equal(t, pmetric.NumberDataPointValueTypeDouble, dp.ValueType())
				assert.GreaterOrEqual(t, dp.DoubleValue(), 0.0)
				assert.Less(t, dp.DoubleValue(), 1.0)
				assert.Zero(t, dp.Timestamp()%1_000_000, "timestamps are whole milliseconds")
			}
		}
	}
	assert.Len(t, seenSeries, 8, "4 instances x {CPU, Memory}")
}

func TestInstanceIDOnDataPoints(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnDataPoint, Instances: 12, Parallelism: 3, InstanceOffset: 24, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10}
	require.NoError(t, cfg.Validate())
	md := generateShaped(newShard(cfg, 1, 7), 2000, true) // owns I0000000028 .. I0000000031

	require.Equal(t, 1, md.ResourceMetrics().Len(), "one shared resource")
	rm := md.ResourceMetrics().At(0)
	assert.Equal(t, 0, rm.Resource().Attributes().Len())
	require.Equal(t, 1, rm.ScopeMetrics().Len())
	ms := rm.ScopeMetrics().At(0).Metrics()
	require.Equal(t, 2, ms.Len(), "one gauge per metric")
	last := map[string]int64{}
	for k := range ms.Len() {
		dps := ms.At(k).Gauge().DataPoints()
		for l := range dps.Len() {
			attrs := dps.At(l).Attributes()
			require.Equal(t, 1, attrs.Len(), "InstanceId is the only attribute of a point")
			id, ok := attrs.Get(instanceIDKey)
			require.True(t, ok)
			assert.Regexp(t, `^I00000000(2[89]|3[01])$`, id.Str())
			series := id.Str() + ms.At(k).Name()
			millis := dps.At(l).Timestamp().AsTime().UnixMilli()
			require.Greater(t, millis, last[series], "each series in time order")
			last[series] = millis
		}
	}
	assert.Len(t, last, 8)

	// The same seed draws the same data whatever the shape.
	resourceShaped := flatten(generateShaped(newShard(cfg, 1, 7), 2000, false))
	pointShaped := flatten(md)
	sortPoints := func(p []point) {
		sort.Slice(p, func(i, j int) bool {
			if p[i].instance+p[i].metric != p[j].instance+p[j].metric {
				return p[i].instance+p[i].metric < p[j].instance+p[j].metric
			}
			return p[i].millis < p[j].millis
		})
	}
	sortPoints(resourceShaped)
	sortPoints(pointShaped)
	assert.Equal(t, len(resourceShaped), len(pointShaped))
	for i := range resourceShaped {
		assert.Equal(t, resourceShaped[i].instance+resourceShaped[i].metric, pointShaped[i].instance+pointShaped[i].metric)
		assert.Equal(t, resourceShaped[i].millis, pointShaped[i].millis)
	}
}

func TestSamplesPerEmissionWithinBounds(t *testing.T) {
	for _, bounds := range [][2]int{{2, 10}, {1, 1}, {5, 6}, {1, 1000}} {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 4, Parallelism: 1, MinSamplesPerSeries: bounds[0], MaxSamplesPerSeries: bounds[1]}
		s := newShard(cfg, 0, 3)
		seen := map[int]bool{}
		for range 20000 {
			e := s.next()
			require.GreaterOrEqual(t, e.samples, bounds[0])
			require.LessOrEqual(t, e.samples, bounds[1])
			require.GreaterOrEqual(t, e.instance, 0)
			require.Less(t, e.instance, 4)
			seen[e.samples] = true
		}
		if bounds[1]-bounds[0] < 10 {
			assert.Len(t, seen, bounds[1]-bounds[0]+1, "every count in [min, max] occurs")
		}
	}
}

func TestChoicesAreUniform(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 10, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10}
	s := newShard(cfg, 0, 11)
	const n = 100_000
	var perInstance [10]int
	var cpu int
	for range n {
		e := s.next()
		perInstance[e.instance]++
		if e.metric == metricCPU {
			cpu++
		}
	}
	assert.InDelta(t, n/2, cpu, n*0.01, "CPU or Memory with equal odds")
	for i, c := range perInstance {
		assert.InDelta(t, n/10, c, n*0.01, "instance %d", i)
	}
}

func TestSameSeedSameSequence(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10}
	for worker := range 2 {
		a := flatten(generate(newShard(cfg, worker, 42), 500))
		b := flatten(generate(newShard(cfg, worker, 42), 500))
		require.Equal(t, a, b, "worker %d", worker)
		c := flatten(generate(newShard(cfg, worker, 43), 500))
		assert.NotEqual(t, a, c, "another seed gives another sequence")
	}
	w0 := flatten(generate(newShard(cfg, 0, 42), 50))
	w1 := flatten(generate(newShard(cfg, 1, 42), 50))
	assert.NotEqual(t, w0[0].instance, w1[0].instance, "workers own different instances")
}

func TestPlaceKeepsTimestampsIncreasingAndNearTheClock(t *testing.T) {
	cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 1, Parallelism: 1, MinSamplesPerSeries: 10, MaxSamplesPerSeries: 10}
	s := newShard(cfg, 0, 1)
	const now = int64(1_000_000)

	e := emission{instance: 0, metric: metricCPU, samples: 10}
	start, wait := s.place(e, now)
	require.Zero(t, wait)
	assert.Equal(t, now, start, "a fresh series starts at the wall clock")
	s.appendTo(newBatch(s, false), e, start)
	assert.Equal(t, now+9, s.lastMillis[e.series()])

	start, wait = s.place(e, now)
	require.Zero(t, wait)
	assert.Equal(t, now+10, start, "the next emission of the same series follows its last sample")

	other := emission{instance: 0, metric: metricMemory, samples: 3}
	start, _ = s.place(other, now)
	assert.Equal(t, now, start, "series keep separate clocks")

	// Fill the CPU series up to one second ahead: the next emission must wait.
	s.lastMillis[e.series()] = now + 995
	_, wait = s.place(e, now)
	assert.Equal(t, int64(5), wait, "the last sample would be 1005 ms ahead; wait 5 ms")
	start, wait = s.place(e, now+5)
	require.Zero(t, wait)
	assert.Equal(t, now+996, start)
	assert.Equal(t, now+5+1000, start+9, "exactly one second ahead is allowed")
}

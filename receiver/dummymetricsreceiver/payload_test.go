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

// generate runs a shard for n emissions, one millisecond of wall clock per emission,
// and returns what it produced.
func generate(s *shard, n int) pmetric.Metrics {
	return generateShaped(s, n, InstanceIDOnResource)
}

// generateShaped is generate with InstanceId at location (an instance_id_location).
func generateShaped(s *shard, n int, location string) pmetric.Metrics {
	mds := generatePayloads(s, n, n, location)
	return mds[len(mds)-1]
}

// generatePayloads runs a shard for n emissions, one millisecond of wall clock per
// emission, with InstanceId at location, and hands a payload over after every
// `every` emissions.
func generatePayloads(s *shard, n, every int, location string) []pmetric.Metrics {
	p := newPayload(s, location)
	now := int64(1_700_000_000_000)
	var mds []pmetric.Metrics
	for i := range n {
		e := s.next()
		start, wait := s.place(e, now)
		for wait > 0 {
			now += wait
			start, wait = s.place(e, now)
		}
		s.appendTo(p, e, start)
		now++
		if (i+1)%every == 0 || i == n-1 {
			md, _ := p.take()
			mds = append(mds, md)
		}
	}
	return mds
}

// sortedPoints lists the points of payloads by series, then time.
func sortedPoints(mds ...pmetric.Metrics) []point {
	var points []point
	for _, md := range mds {
		points = append(points, flatten(md)...)
	}
	sort.Slice(points, func(i, j int) bool {
		if points[i].instance+points[i].metric != points[j].instance+points[j].metric {
			return points[i].instance+points[i].metric < points[j].instance+points[j].metric
		}
		return points[i].millis < points[j].millis
	})
	return points
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
	md := generateShaped(newShard(cfg, 1, 7), 2000, InstanceIDOnDataPoint) // owns I0000000028 .. I0000000031

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

	// The same seed draws the same data, values included, whatever the shape.
	assert.Equal(t, sortedPoints(generateShaped(newShard(cfg, 1, 7), 2000, InstanceIDOnResource)), sortedPoints(md))
}

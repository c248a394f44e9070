// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		replica                ReplicaIndex
		first                  int64 // offset + replica × instances
	}{
		{60, 2, 0, 0, 0},
		{12, 3, 0, 0, 0},
		{12, 3, 24, 0, 24},
		{7, 7, 100, 0, 100},
		{1, 1, 9_999_999_999, 0, 9_999_999_999},
		{60, 2, 0, 2, 120},
		{12, 3, 24, 5, 84},
		{1, 1, 0, 9_999_999_999, 9_999_999_999},
	}
	for _, tt := range tests {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: tt.instances, Parallelism: tt.parallelism, InstanceOffset: tt.offset, ReplicaIndex: tt.replica, MinSamplesPerSeries: 1, MaxSamplesPerSeries: 1}
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
			assert.Contains(t, owner, instanceID(tt.first+i))
		}
	}
}

func TestReplicasOwnConsecutiveRanges(t *testing.T) {
	// Three replicas of the same configuration but for replica_index, as a
	// StatefulSet runs them, own one contiguous range without overlap.
	owner := map[string]ReplicaIndex{}
	for replica := range ReplicaIndex(3) {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: 12, Parallelism: 3, InstanceOffset: 100, ReplicaIndex: replica, MinSamplesPerSeries: 1, MaxSamplesPerSeries: 1}
		require.NoError(t, cfg.Validate())
		for k := range cfg.Parallelism {
			for _, id := range newShard(cfg, k, 1).ids {
				prev, dup := owner[id]
				require.False(t, dup, "%s owned by replicas %d and %d", id, prev, replica)
				owner[id] = replica
			}
		}
	}
	require.Len(t, owner, 36)
	for i := range int64(36) {
		assert.Equal(t, ReplicaIndex(i/12), owner[instanceID(100+i)], "instance %d", 100+i)
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
	for _, location := range []string{InstanceIDOnResource, InstanceIDOnDataPoint} {
		for k := range 2 {
			// The same emissions and values whatever the payload boundaries, which
			// follow the clock and the pipeline's pace.
			a := sortedPoints(generatePayloads(newShard(cfg, k, 42), 500, 500, location)...)
			b := sortedPoints(generatePayloads(newShard(cfg, k, 42), 500, 7, location)...)
			require.Equal(t, a, b, "worker %d, %s", k, location)
			c := sortedPoints(generatePayloads(newShard(cfg, k, 43), 500, 500, location)...)
			assert.NotEqual(t, a, c, "another seed gives another sequence")
			for i := range min(len(a), len(c)) {
				c[i].value = a[i].value
			}
			assert.NotEqual(t, a, c, "another seed gives other emissions, not just other values")
		}
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
	s.appendTo(newPayload(s, InstanceIDOnResource), e, start)
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

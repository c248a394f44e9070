// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

const remote = "http://127.0.0.1:9/api/v1/write"

// -replicas splits the stages as -collectors does, and the Kubernetes flags
// come together or not at all.
func TestKubeFlags(t *testing.T) {
	o, err := parseFlags([]string{"-kube-namespace", "load", "-replicas", "4", "-image", "otelcol:1", "-url", remote, "-instances", "100", "-stages", "10s:40000"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 4, o.collectors, "the stages' split and the instances' range follow the pods")
	assert.Equal(t, 10000.0, perCollector(o.stages, o.collectors)[0].From)
	assert.Equal(t, o.kube.alignStart, o.align())

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-kube-namespace", "load", "-replicas", "2", "-collectors", "2", "-image", "i", "-url", remote}, []string{"-collectors runs collectors on this machine"}},
		{[]string{"-replicas", "2", "-image", "i"}, []string{"-replicas needs -kube-namespace", "-image needs -kube-namespace"}},
		{[]string{"-env", "SINK_PARALLELISM=8"}, []string{"-env SINK_PARALLELISM: set it with -sink"}},
		{[]string{"-env", "SINK_BATCH_SIZ=8"}, []string{"-env SINK_BATCH_SIZ: not a setting of the shipped configuration"}},
		{[]string{"-query-max-samples", "0", "-live-read-back", "0s"}, []string{"-query-max-samples 0: at least 1", "-live-read-back 0s: at least 1s"}},
		{[]string{"-kube-namespace", "load"}, []string{"-kube-namespace needs -image", "-kube-namespace needs -url"}},
		{[]string{"-kube-namespace", "load", "-image", "i", "-url", remote, "-replicas", "0"}, []string{"-replicas 0: between 1 and 64"}},
		// A pod carries at most what its instances can: 1,000 samples/s per series.
		{[]string{"-kube-namespace", "load", "-image", "i", "-url", remote, "-replicas", "2", "-instances", "1", "-stages", "1s:10000"}, []string{"5000"}},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		require.Error(t, err, "%q", tc.args)
		for _, w := range tc.want {
			assert.ErrorContains(t, err, w, "%q", tc.args)
		}
	}
	o, err = parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, alignEvery, o.align(), "on this machine")
	assert.Nil(t, (&test{o: o}).startMembers(t.TempDir(), runner.Settings{}), "no Kubernetes engine without -kube-namespace")
}

type restartedMember struct {
	runner.Member
	name     string
	restarts int
}

func (m restartedMember) Name() string  { return m.name }
func (m restartedMember) Restarts() int { return m.restarts }

// A pod started again is an error naming it: its counters began from zero.
func TestRestartedNamesThePod(t *testing.T) {
	require.NoError(t, restarted([]runner.Member{restartedMember{name: "a"}}))
	err := restarted([]runner.Member{restartedMember{name: "a"}, restartedMember{name: "lt-1-xyz", restarts: 1}})
	require.EqualError(t, err, "pod lt-1-xyz restarted (once): its counts were reset, so the run's counts are not whole")
}

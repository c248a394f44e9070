// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStages(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Stage
	}{
		{"30s:10000,60s:10000-40000", []Stage{{30 * time.Second, 1e4, 1e4}, {time.Minute, 1e4, 4e4}}},
		{" 1m:1_000_000 , 10s: 1.5M - 500k ,", []Stage{{time.Minute, 1e6, 1e6}, {10 * time.Second, 1.5e6, 5e5}}},
		{"5s:0,5s:0-10k,1s:1,1s:0.5k", []Stage{{5 * time.Second, 0, 0}, {5 * time.Second, 0, 1e4}, {time.Second, 1, 1}, {time.Second, 500, 500}}},
	} {
		got, err := ParseStages(tc.text)
		require.NoError(t, err, tc.text)
		assert.Equal(t, tc.want, got, tc.text)
	}

	for _, tc := range []struct{ text, want string }{
		{"30s", `"30s" is not DURATION:RATE`},
		{"soon:10", `"soon:10" is not DURATION:RATE`},
		{"-5s:10", `"-5s:10" is not DURATION:RATE`},
		{"0s:10", `"0s:10" is not DURATION:RATE`},
		{"30s:-5", `"30s:-5": rates must be 0 (idle) or at least 1 sample/s`},
		{"30s:0.5", `"30s:0.5": rates must be`},
		{"30s:10-0.2", `"30s:10-0.2": rates must be`},
		{"30s:ten", `"30s:ten": rates must be`},
		{"30s:", `"30s:": rates must be`},
		{"30s:Inf", `"30s:Inf": rates must be`},
		{"30s:NaN", `"30s:NaN": rates must be`},
		{"", "-stages: no stage"},
		{" , ,", "-stages: no stage"},
	} {
		_, err := ParseStages(tc.text)
		require.Error(t, err, tc.text)
		assert.Contains(t, err.Error(), tc.want, tc.text)
	}

	// Every bad item is named, and the good ones are still parsed.
	got, err := ParseStages("10s:1k,bad,20s:x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"bad"`)
	assert.Contains(t, err.Error(), `"20s:x"`)
	assert.Equal(t, []Stage{{10 * time.Second, 1e3, 1e3}}, got)
}

func TestCheckStages(t *testing.T) {
	stages := []Stage{{time.Second, 1e4, 1e4}, {time.Second, 5e3, 2e4}}
	require.NoError(t, CheckStages(stages[:1], 5)) // exactly 2 × 5 × 1000 samples/s
	err := CheckStages(stages, 5)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stage 2 (1s ramping 5000/s to 20000/s) asks for 20000 samples/s, more than the 5 instances carry (10000")
	assert.Contains(t, err.Error(), "raise -instances to at least 10")
	assert.NotContains(t, err.Error(), "stage 1 (")
	// The instances suggested are the fewest that carry the stage.
	require.NoError(t, CheckStages(stages, 10))
	require.Error(t, CheckStages(stages, 9))
	assert.Contains(t, CheckStages([]Stage{{time.Second, 2001, 2001}}, 1).Error(), "at least 2")
}

func TestStagesConfigAndTarget(t *testing.T) {
	stages := []Stage{{30 * time.Second, 1e4, 1e4}, {time.Minute, 1e4, 4e4}, {90 * time.Second, 2.5e6, 0}}
	assert.Equal(t, "yaml:receivers::dummymetrics: {stages: [{duration: 30s, rate: 10000}, {duration: 1m0s, rate: 10000, ramp_to: 40000}, "+
		"{duration: 1m30s, rate: 2500000, ramp_to: 0}], after_stages: stop}", StagesConfig(stages))
	assert.InDelta(t, 1e4, stages[0].Target(), 0)
	assert.InDelta(t, 2.5e4, stages[1].Target(), 0)
	assert.InDelta(t, 1.25e6, stages[2].Target(), 0)
	assert.Equal(t, "1m0s ramping 10000/s to 40000/s", stages[1].String())
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUniformIntNSpansTheRange(t *testing.T) {
	for _, n := range []int{1, 2, 9, 60, 1 << 40} {
		assert.Equal(t, 0, uniformIntN(0, n), "n = %d", n)
		assert.Equal(t, n/2, uniformIntN(1<<63, n), "n = %d", n)
		assert.Equal(t, n-1, uniformIntN(math.MaxUint64, n), "n = %d", n)
	}
}

func TestUniformFloat64StaysBelowOne(t *testing.T) {
	assert.Zero(t, uniformFloat64(0))
	assert.Equal(t, 0.5, uniformFloat64(1<<63))
	assert.Equal(t, 1-0x1p-53, uniformFloat64(math.MaxUint64), "the largest float64 below 1")
}

func TestWyrandStreams(t *testing.T) {
	draw := func(r wyrand) [8]uint64 {
		var out [8]uint64
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	seq := draw(newWyrand(42, 0))
	require.Equal(t, seq, draw(newWyrand(42, 0)), "a seed and stream reproduce their sequence")
	assert.NotEqual(t, seq, draw(newWyrand(42, 1)), "another stream of the seed differs")
	assert.NotEqual(t, seq, draw(newWyrand(43, 0)), "another seed differs")
}

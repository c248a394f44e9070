// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"math/bits"
	"math/rand/v2"
)

// wyrand is the wyrand generator (from wyhash): one 64×64→128-bit multiplication per
// number, about three times cheaper than PCG, and of ample quality for dummy data.
type wyrand uint64

// newWyrand derives a generator for one stream of a seed from PCG, so that streams of
// one seed do not overlap in practice.
func newWyrand(seed, stream uint64) wyrand {
	return wyrand(rand.NewPCG(seed, stream).Uint64())
}

// wyrandStep is what every number adds to the generator's state.
const wyrandStep = 0xa0761d6478bd642f

// Uint64 returns the next number of the stream.
func (r *wyrand) Uint64() uint64 {
	*r += wyrandStep
	hi, lo := bits.Mul64(uint64(*r), uint64(*r)^0xe7037ed1a0b428db)
	return hi ^ lo
}

// skip moves the stream n numbers on, at no cost: the state is a counter.
func (r *wyrand) skip(n int) {
	*r += wyrand(uint64(n) * wyrandStep)
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

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"strconv"
	"time"
)

// The two metrics of every instance, chosen with equal odds on each emission.
const (
	metricCPU = iota
	metricMemory
	metricCount
)

// instanceID formats a global instance index as the original does: "I" and ten digits.
func instanceID(index int64) string {
	var buf [11]byte
	return string(appendInstanceID(buf[:0], index))
}

// appendInstanceID appends the InstanceId of a global instance index to buf.
func appendInstanceID(buf []byte, index int64) []byte {
	buf = append(buf, 'I')
	for d := int64(1_000_000_000); d > 1 && index < d; d /= 10 {
		buf = append(buf, '0')
	}
	return strconv.AppendInt(buf, index, 10)
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
	values       wyrand   // sample values: each emission takes the next e.samples of them
	first        int64    // global index of the first owned instance
	ids          []string // InstanceId of each owned instance
	lastMillis   []int64  // newest timestamp of each series, in milliseconds
	ledger       ledger   // what the pipeline took
	minSamples   int
	sampleSpread int // max - min + 1
}

// newShard builds the generator of worker k, which owns the instances
// [first + k·n, first + (k+1)·n) with n = instances/parallelism and first the
// receiver's first instance.
func newShard(cfg *Config, k int, seed uint64) *shard {
	perShard := cfg.Instances / cfg.Parallelism
	first := cfg.firstIndex() + int64(k)*int64(perShard)
	ids := make([]string, perShard)
	for i := range ids {
		ids[i] = instanceID(first + int64(i))
	}
	return &shard{
		// Independent streams per worker, so that a seed reproduces every worker's
		// sequence whatever the interleaving of the workers.
		choices:      newWyrand(seed, 2*uint64(k)),
		values:       newWyrand(seed, 2*uint64(k)+1),
		first:        first,
		ids:          ids,
		lastMillis:   make([]int64, perShard*metricCount),
		ledger:       newLedger(perShard, max(1, maxBlocks/cfg.Parallelism)),
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

// startAfter makes millis every series' newest timestamp, so that its next sample
// comes after it.
func (s *shard) startAfter(millis int64) {
	for i := range s.lastMillis {
		s.lastMillis[i] = millis
	}
}

// appendTo adds the emission's samples, from startMillis on, to the payload p; they
// become its series' newest.
func (s *shard) appendTo(p payload, e emission, startMillis int64) {
	p.add(e, startMillis)
	s.lastMillis[e.series()] = startMillis + int64(e.samples) - 1
	s.ledger.add(e)
}

// blockNames returns the name of each block of the shard's ledger: its first and
// last InstanceId, I0000000000-I0000000029.
func (s *shard) blockNames() []string {
	return s.ledger.names(s.first)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

// maxBlocks is how many blocks of consecutive instances a receiver counts its
// accepted samples in (one per worker at the least): few enough to keep the
// telemetry small, enough for a read-back to say which instances lost samples.
const maxBlocks = 16

// ledger is what a shard knows of what the pipeline took: which series got a
// sample accepted, and, for the payload being gathered, its samples per block of
// instances and its series that had none accepted before. The pipeline's answer
// to the payload settles it.
type ledger struct {
	written      []bool  // per series
	unwritten    int     // series not written yet
	fresh        []int32 // series of the payload not written before it
	blockSize    uint32  // instances per block; the last block may be smaller
	blockSamples []int   // samples of the payload per block
}

// newLedger returns the ledger of a shard of instances, counted in at most blocks
// blocks of equal size.
func newLedger(instances, blocks int) ledger {
	size := (instances + blocks - 1) / blocks
	return ledger{
		written:      make([]bool, instances*metricCount),
		unwritten:    instances * metricCount,
		blockSize:    uint32(size),
		blockSamples: make([]int, (instances+size-1)/size),
	}
}

// add notes an emission of the payload being gathered. Once every series is
// written, that costs a 32-bit division and an addition per emission.
func (l *ledger) add(e emission) {
	l.blockSamples[uint32(e.instance)/l.blockSize] += e.samples
	if l.unwritten > 0 && !l.written[e.series()] {
		l.fresh = append(l.fresh, int32(e.series()))
	}
}

// settle records the pipeline's answer to the payload: when it accepted it, its
// series are written. It returns how many series that wrote for the first time,
// and empties the ledger's payload part for the next payload.
func (l *ledger) settle(accepted bool) (newlyWritten int) {
	if accepted {
		for _, series := range l.fresh {
			if !l.written[series] {
				l.written[series] = true
				newlyWritten++
			}
		}
		l.unwritten -= newlyWritten
	}
	l.fresh = l.fresh[:0]
	clear(l.blockSamples)
	return newlyWritten
}

// blockRange returns the first and last instance (indexes in the shard) of block b.
func (l *ledger) blockRange(b int) (first, last int) {
	first = b * int(l.blockSize)
	return first, min(first+int(l.blockSize), len(l.written)/metricCount) - 1
}

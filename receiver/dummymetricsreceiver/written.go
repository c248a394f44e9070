// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

// maxBlocks is how many blocks of consecutive instances a receiver counts its
// accepted samples in (one per worker at the least): few enough to keep the
// telemetry small, enough for a read-back to say which instances lost samples.
const maxBlocks = 16

// blocks counts the samples of the payload being gathered per block of
// consecutive instances of a shard.
type blocks struct {
	instances    int
	blockSize    uint32 // instances per block; the last block may be smaller
	blockSamples []int  // samples of the payload per block
}

// newBlocks cuts a shard of instances into at most n blocks of equal size.
func newBlocks(instances, n int) blocks {
	size := (instances + n - 1) / n
	return blocks{instances: instances, blockSize: uint32(size), blockSamples: make([]int, (instances+size-1)/size)}
}

// addSamples counts samples of an instance (its index in the shard).
func (b *blocks) addSamples(instance, samples int) {
	b.blockSamples[uint32(instance)/b.blockSize] += samples
}

// blockRange returns the first and last instance (indexes in the shard) of block i.
func (b *blocks) blockRange(i int) (first, last int) {
	first = i * int(b.blockSize)
	return first, min(first+int(b.blockSize), b.instances) - 1
}

// names returns the name of each block: the InstanceId of its first and last
// instance, I0000000000-I0000000029, where the shard's first instance has the
// global index first.
func (b *blocks) names(first int64) []string {
	names := make([]string, len(b.blockSamples))
	for i := range names {
		from, to := b.blockRange(i)
		names[i] = instanceID(first+int64(from)) + "-" + instanceID(first+int64(to))
	}
	return names
}

// ledger is what a shard of the seed shape knows of what the pipeline took:
// which series got a sample accepted, and, for the payload being gathered, its
// samples per block of instances and its series that had none accepted before.
// The pipeline's answer to the payload settles it.
type ledger struct {
	blocks
	written   []bool  // per series
	unwritten int     // series not written yet
	fresh     []int32 // series of the payload not written before it
}

// newLedger returns the ledger of a shard of instances, counted in at most blocks
// blocks of equal size.
func newLedger(instances, blocks int) ledger {
	return ledger{
		blocks:    newBlocks(instances, blocks),
		written:   make([]bool, instances*metricCount),
		unwritten: instances * metricCount,
	}
}

// add notes an emission of the payload being gathered. Once every series is
// written, that costs a 32-bit division and an addition per emission.
func (l *ledger) add(e emission) {
	l.addSamples(e.instance, e.samples)
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

// scrapeLedger is what a shard of the scrape shape knows of what the pipeline
// took. A scrape is never split across payloads, so all series of an instance
// generation are written together; and a slot's generations come in order, so
// the newest generation written per slot tells them all: 4 bytes per slot
// however many generations churn makes, instead of a bit per series.
type scrapeLedger struct {
	blocks
	writtenGen []int32   // per slot: 1 + its newest generation with samples accepted; 0 for none
	fresh      []slotGen // the payload's scrapes of generations not written before it
	series     int       // per instance generation
}

// slotGen is one generation of a slot's instance.
type slotGen struct{ slot, gen int32 }

// newScrapeLedger returns the ledger of a shard of slots, counted in at most blocks
// blocks of equal size, of which the first tracked ever get samples.
func newScrapeLedger(slots, blocks, seriesPerInstance, tracked int) scrapeLedger {
	return scrapeLedger{blocks: newBlocks(slots, blocks), writtenGen: make([]int32, tracked), series: seriesPerInstance}
}

// add notes the samples of a scrape of generation gen of slot in the payload
// being gathered.
func (l *scrapeLedger) add(slot, gen int32, samples int) {
	l.addSamples(int(slot), samples)
	if l.writtenGen[slot] <= gen {
		l.fresh = append(l.fresh, slotGen{slot, gen})
	}
}

// settle records the pipeline's answer to the payload and returns the series it
// wrote for the first time.
func (l *scrapeLedger) settle(accepted bool) (newlyWritten int) {
	if accepted {
		for _, f := range l.fresh {
			if l.writtenGen[f.slot] <= f.gen {
				l.writtenGen[f.slot] = f.gen + 1
				newlyWritten += l.series
			}
		}
	}
	l.fresh = l.fresh[:0]
	clear(l.blockSamples)
	return newlyWritten
}

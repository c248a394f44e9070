// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"fmt"
	"strconv"
)

// metricKind is how a metric of the scrape shape is sent and stored.
type metricKind int

const (
	kindGauge           metricKind = iota // one series
	kindCounter                           // one series, stored with the suffix _total
	kindHistogram                         // classic: B+1 _bucket series, _sum and _count
	kindNativeHistogram                   // exponential, stored as one native histogram series
)

var kindNames = [...]string{"gauge", "counter", "histogram", "native_histogram"}

func (k metricKind) String() string { return kindNames[k] }

// scrapeMetric is one metric of every instance in the scrape shape.
type scrapeMetric struct {
	name        string
	description string
	kind        metricKind
	number      int // of its kind, from 1, for the dummy_ metrics
}

// Names without units, so that the exporter adds no unit suffix.
const (
	gaugePrefix           = "dummy_gauge_"
	counterPrefix         = "dummy_counter_"
	histogramName         = "dummy_histogram"
	nativeHistogramName   = "dummy_native_histogram"
	counterStep           = 10 // a counter numbered k grows by 10·k per scrape on average, 5·k to 15·k
	observationsPerBucket = 4  // per bucket and scrape, give or take one
	nativeBuckets         = 8  // positive buckets of the exponential histogram, at scale 0
)

// scrapeMetrics returns the metrics of an instance, in the order they are sent.
func scrapeMetrics(sc *ScrapeConfig) []scrapeMetric {
	metrics := []scrapeMetric{
		{name: metricNames[metricCPU], description: metricDescriptions[metricCPU], kind: kindGauge},
		{name: metricNames[metricMemory], description: metricDescriptions[metricMemory], kind: kindGauge},
	}
	for i := 1; i <= sc.Gauges; i++ {
		metrics = append(metrics, scrapeMetric{
			name: gaugePrefix + strconv.Itoa(i), kind: kindGauge, number: i,
			description: "Dummy gauge of the instance, uniform in [0, 1).",
		})
	}
	for i := 1; i <= sc.Counters; i++ {
		metrics = append(metrics, scrapeMetric{
			name: counterPrefix + strconv.Itoa(i), kind: kindCounter, number: i,
			description: fmt.Sprintf("Dummy cumulative counter of the instance, growing by %d per scrape on average (%d to %d) since the instance started.", counterStep*i, counterStep*i/2, counterStep*i*3/2),
		})
	}
	if sc.HistogramBuckets > 0 {
		metrics = append(metrics, scrapeMetric{
			name: histogramName, kind: kindHistogram,
			description: fmt.Sprintf("Dummy classic histogram of the instance: %d observations per bucket and scrape on average (%d to %d).", observationsPerBucket, observationsPerBucket-1, observationsPerBucket+1),
		})
	}
	if sc.NativeHistogram {
		metrics = append(metrics, scrapeMetric{
			name: nativeHistogramName, kind: kindNativeHistogram,
			description: "Dummy exponential histogram of the instance, sent as a Prometheus native histogram.",
		})
	}
	return metrics
}

// metricList names the metrics as name:kind, as the start-up log line gives them.
func metricList(metrics []scrapeMetric) []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.name + ":" + m.kind.String()
	}
	return out
}

// histogramBounds returns n bounds in steps of 1, 2.5 and 5 from 0.001, as
// client libraries' defaults go, each the double nearest its decimal so that the
// le label reads as written.
func histogramBounds(n int) []float64 {
	bounds := make([]float64, n)
	for i := range bounds {
		mantissa := [...]string{"1", "2.5", "5"}[i%3]
		bounds[i], _ = strconv.ParseFloat(fmt.Sprintf("%se%d", mantissa, i/3-3), 64)
	}
	return bounds
}

// The values of the scrape shape are functions of what identifies a sample, not
// state: a counter's value at its generation's n-th scrape is n·a + h with h a
// hash in [0, a/2), so it strictly increases scrape after scrape without a value
// kept per series, whatever scrapes were skipped or refused.

// mix is splitmix64's finaliser: a bijection of 64 bits that scrambles them all.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// scrapeHash identifies the n-th scrape of a generation of an instance, for a seed.
func scrapeHash(seed uint64, index int64, gen int32, n int64) uint64 {
	return mix(seed ^ mix(uint64(index)^mix(uint64(gen)^mix(uint64(n)))))
}

// seriesHash derives the hash of the metric numbered d of a scrape.
func seriesHash(scrape uint64, d int) uint64 { return mix(scrape + uint64(d+1)*goldenStep) }

// counterValue is the value of a counter numbered number at the n-th scrape of its
// generation: strictly increasing in n.
func counterValue(number int, n int64, h uint64) float64 {
	step := float64(counterStep * number)
	return float64(n)*step + uniformFloat64(h)*step/2
}

// bucketCount is a histogram bucket's own count (not cumulative) at the n-th
// scrape of its generation: 4n or 4n+1, from one bit of a hash, so it grows by 3
// to 5 per scrape, strictly.
func bucketCount(n int64, h uint64, bit int) uint64 {
	return observationsPerBucket*uint64(n) + h>>(bit%64)&1
}

// labelNames are the names of the target labels, realistic first, then numbered;
// never job, instance, le or __name__, which Prometheus gives meanings.
func labelNames(n int) []string {
	names := []string{"namespace", "pod", "node", "container", "cluster", "zone", "app", "team", "env", "version"}
	for i := len(names) + 1; i <= n; i++ {
		names = append(names, "label_"+strconv.Itoa(i))
	}
	return names[:n]
}

// podLabel is the index of the pod label, whose value ends with the instance's
// identity so that pods differ between instances.
const podLabel = 1

const labelAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// appendLabelValues appends the values of n target labels of length chars each
// of generation gen of the instance with global index. They depend on nothing
// else, not even the seed, so that a restart or a replica gives an instance the
// same series.
func appendLabelValues(buf []byte, index int64, gen int32, n, length int) []byte {
	var h uint64
	for label := range n {
		for c := range length {
			if c%8 == 0 {
				h = mix(uint64(index)*goldenStep ^ mix(uint64(gen)<<32|uint64(label)<<16|uint64(c/8)))
			}
			buf = append(buf, labelAlphabet[(h&0xff)%uint64(len(labelAlphabet))])
			h >>= 8
		}
		if label == podLabel {
			// The tail: the index, and the generation after a dash, in base 36.
			var tail [32]byte
			id := strconv.AppendInt(append(tail[:0], '-'), index, 36)
			if gen > 0 {
				id = strconv.AppendInt(append(id, '-'), int64(gen), 36)
			}
			if len(id) > length {
				id = id[len(id)-length:]
			}
			copy(buf[len(buf)-len(id):], id)
		}
	}
	return buf
}

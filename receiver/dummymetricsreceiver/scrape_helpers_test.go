// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// scrapeTestConfig is a scrape-shape configuration of instances slots in one shard,
// scraped every interval, changed by modify.
func scrapeTestConfig(instances int, interval time.Duration, modify func(*Config)) *Config {
	cfg := scrapeDefaults()
	cfg.Instances, cfg.Parallelism = instances, 1
	cfg.Scrape.Interval = interval
	if modify != nil {
		modify(cfg)
	}
	return cfg
}

// sample is one sample as the Prometheus remote-write exporter stores it: a
// classic histogram point is its buckets, sum and count; a counter takes _total.
type sample struct {
	series   string // stored name and labels
	name     string // stored name
	instance string // InstanceId
	millis   int64
	startMs  int64 // of counters and histograms
	value    float64
	stale    bool
	labels   map[string]string // the point's attributes
}

// samplesOf lists the samples of a payload in payload order.
func samplesOf(md pmetric.Metrics) []sample {
	var out []sample
	add := func(name string, attrs pcommon.Map, ts, start pcommon.Timestamp, value float64, flags pmetric.DataPointFlags, extra ...string) {
		labels := map[string]string{}
		for k, v := range attrs.All() {
			labels[k] = v.Str()
		}
		for i := 0; i < len(extra); i += 2 {
			labels[extra[i]] = extra[i+1]
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range labels {
				if !yield(k) {
					return
				}
			}
		})
		var b strings.Builder
		b.WriteString(name + "{")
		for _, k := range keys {
			b.WriteString(k + "=" + strconv.Quote(labels[k]) + ",")
		}
		b.WriteString("}")
		out = append(out, sample{
			series: b.String(), name: name, instance: labels[instanceIDKey], millis: ts.AsTime().UnixMilli(),
			startMs: start.AsTime().UnixMilli(), value: value, stale: flags.NoRecordedValue(), labels: labels,
		})
	}
	for i := range md.ResourceMetrics().Len() {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					for l := range m.Gauge().DataPoints().Len() {
						dp := m.Gauge().DataPoints().At(l)
						add(m.Name(), dp.Attributes(), dp.Timestamp(), 0, dp.DoubleValue(), dp.Flags())
					}
				case pmetric.MetricTypeSum:
					for l := range m.Sum().DataPoints().Len() {
						dp := m.Sum().DataPoints().At(l)
						add(m.Name()+"_total", dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.DoubleValue(), dp.Flags())
					}
				case pmetric.MetricTypeHistogram:
					for l := range m.Histogram().DataPoints().Len() {
						dp := m.Histogram().DataPoints().At(l)
						var cumulative uint64
						for b := range dp.ExplicitBounds().Len() {
							cumulative += dp.BucketCounts().At(b)
							add(m.Name()+"_bucket", dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), float64(cumulative), dp.Flags(),
								"le", strconv.FormatFloat(dp.ExplicitBounds().At(b), 'f', -1, 64))
						}
						add(m.Name()+"_bucket", dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), float64(dp.Count()), dp.Flags(), "le", "+Inf")
						add(m.Name()+"_sum", dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), dp.Sum(), dp.Flags())
						add(m.Name()+"_count", dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), float64(dp.Count()), dp.Flags())
					}
				case pmetric.MetricTypeExponentialHistogram:
					for l := range m.ExponentialHistogram().DataPoints().Len() {
						dp := m.ExponentialHistogram().DataPoints().At(l)
						add(m.Name(), dp.Attributes(), dp.Timestamp(), dp.StartTimestamp(), float64(dp.Count()), dp.Flags())
					}
				default:
					panic("unexpected metric type " + m.Type().String())
				}
			}
		}
	}
	return out
}

// handover is a payload as the pipeline got it, and when on the simulated clock.
type handover struct {
	at      time.Time
	md      pmetric.Metrics
	samples []sample
}

// scrapeSink records what a simulated worker hands over; refuse, when set,
// decides which payloads the pipeline refuses, by their number from 0.
type scrapeSink struct {
	clock    *simClock
	delay    time.Duration // what taking a payload costs on the simulated clock
	refuse   func(n int) error
	accepted []handover
	refused  []handover
}

func (s *scrapeSink) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	h := handover{at: s.clock.now, md: md, samples: samplesOf(md)}
	n := len(s.accepted) + len(s.refused)
	if s.delay > 0 {
		s.clock.Sleep(ctx, s.delay)
	}
	if s.refuse != nil {
		if err := s.refuse(n); err != nil {
			s.refused = append(s.refused, h)
			return err
		}
	}
	s.accepted = append(s.accepted, h)
	return nil
}

func (*scrapeSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// samples returns the samples accepted, staleness markers included, in order.
func (s *scrapeSink) samples() []sample {
	var out []sample
	for _, h := range s.accepted {
		out = append(out, h.samples...)
	}
	return out
}

// bySeries groups samples by series, each in the order sent.
func bySeries(samples []sample) map[string][]sample {
	out := map[string][]sample{}
	for _, s := range samples {
		out[s.series] = append(out[s.series], s)
	}
	return out
}

// simulateShard runs worker k of cfg on the simulated clock from start for d and
// returns its sink, the worker and its telemetry.
func simulateShard(t *testing.T, cfg *Config, k int, start time.Time, d time.Duration, sink *scrapeSink) (*worker, *componenttest.Telemetry) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	clock := newSimClock(start, d)
	sink.clock = clock
	rcv, err := newDummyMetricsReceiver(cfg, set, sink)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock.cancel = cancel
	w := rcv.newWorker(k, 1, newSchedule(cfg, start))
	w.now, w.sleep = clock.Now, clock.Sleep
	w.run(ctx)
	return w, tel
}

// simulateScrape runs worker 0 of cfg from simStart for d.
func simulateScrape(t *testing.T, cfg *Config, d time.Duration) (*scrapeSink, *worker, *componenttest.Telemetry) {
	t.Helper()
	sink := &scrapeSink{}
	w, tel := simulateShard(t, cfg, 0, simStart, d, sink)
	return sink, w, tel
}

// maxGap returns the largest gap between points of [0, span) on a circle of span.
func maxGap(points []int64, span int64) int64 {
	sorted := slices.Sorted(slices.Values(points))
	gap := sorted[0] + span - sorted[len(sorted)-1]
	for i := 1; i < len(sorted); i++ {
		gap = max(gap, sorted[i]-sorted[i-1])
	}
	return gap
}

var phi = (1 + math.Sqrt(5)) / 2

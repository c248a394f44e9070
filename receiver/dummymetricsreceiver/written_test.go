// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

func TestBlocksPartitionTheInstances(t *testing.T) {
	for _, tt := range []struct {
		instances, parallelism int
		offset                 int64
		replica                ReplicaIndex
		blocks                 int // in all
	}{
		{60, 2, 0, 0, 16},  // 8 blocks of 4, 4, ..., 2 per shard
		{60, 1, 0, 0, 15},  // 15 blocks of 4
		{12, 3, 24, 1, 12}, // 5 blocks of 1 would be asked for; 4 instances make 4
		{7, 7, 100, 0, 7},  // a block per worker
		{64, 32, 0, 2, 32}, // more workers than 16: still a block per worker
		{50_000, 4, 0, 0, 16},
		{1, 1, 9_999_999_999, 0, 1},
	} {
		cfg := &Config{InstanceIDLocation: InstanceIDOnResource, Instances: tt.instances, Parallelism: tt.parallelism,
			InstanceOffset: tt.offset, ReplicaIndex: tt.replica, MinSamplesPerSeries: 1, MaxSamplesPerSeries: 1}
		require.NoError(t, cfg.Validate())
		owner := map[string]string{}
		blocks := 0
		for k := range tt.parallelism {
			s := newShard(cfg, k, 1)
			names := s.blockNames()
			assert.LessOrEqual(t, len(names), max(1, maxBlocks/tt.parallelism))
			blocks += len(names)
			for b, name := range names {
				first, last, ok := strings.Cut(name, "-")
				require.True(t, ok, name)
				assert.Equal(t, s.ids[b*int(s.ledger.blockSize)], first)
				size := 0
				for _, id := range s.ids { // every block lies in its worker's shard
					if id >= first && id <= last {
						prev, dup := owner[id]
						assert.False(t, dup, "%s in blocks %s and %s", id, prev, name)
						owner[id] = name
						size++
					}
				}
				if b < len(names)-1 {
					assert.Equal(t, int(s.ledger.blockSize), size, "blocks of equal size")
				} else {
					assert.LessOrEqual(t, size, int(s.ledger.blockSize), "the last one possibly smaller")
				}
			}
		}
		assert.Equal(t, tt.blocks, blocks, "%d instances, parallelism %d", tt.instances, tt.parallelism)
		assert.Len(t, owner, tt.instances, "the blocks cover every instance")
	}
}

func TestLedgerCountsOnlyWhatWasAccepted(t *testing.T) {
	l := newLedger(8, 4) // blocks of two instances
	l.add(emission{instance: 0, metric: metricCPU, samples: 3})
	l.add(emission{instance: 5, metric: metricMemory, samples: 4})
	assert.Equal(t, []int{3, 0, 4, 0}, l.blockSamples)
	assert.Zero(t, l.settle(false), "a refused payload writes nothing")
	assert.Equal(t, []int{0, 0, 0, 0}, l.blockSamples, "the next payload starts afresh")

	l.add(emission{instance: 5, metric: metricMemory, samples: 2})
	l.add(emission{instance: 5, metric: metricMemory, samples: 2})
	l.add(emission{instance: 7, metric: metricCPU, samples: 2})
	assert.Equal(t, 2, l.settle(true), "two series, one of them twice")
	l.add(emission{instance: 5, metric: metricMemory, samples: 2})
	assert.Zero(t, l.settle(true), "written already")
	assert.Equal(t, 16-2, l.unwritten)
	l.add(emission{instance: 5, metric: metricMemory, samples: 2})
	assert.Empty(t, l.fresh, "written series are not noted again")
}

// distinctSeries returns the series of the payloads, as InstanceId/metric.
func distinctSeries(mds []pmetric.Metrics) map[string]bool {
	out := map[string]bool{}
	for _, md := range mds {
		for _, p := range flatten(md) {
			out[p.instance+"/"+p.metric] = true
		}
	}
	return out
}

func TestSeriesWrittenAreTheSeriesThePipelineAccepted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	// The pipeline refuses 20 payloads for good, takes three, and refuses the rest.
	// With one series per payload and 10 series, the refused payloads hold series
	// before and after they are written.
	accepted := new(consumertest.MetricsSink)
	var calls, refusedCalls atomic.Int64
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		if n := calls.Add(1); n > 20 && n <= 23 {
			return accepted.ConsumeMetrics(ctx, md)
		}
		refusedCalls.Add(1)
		return consumererror.NewPermanent(errors.New("rejected"))
	})
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	cfg := &Config{InstanceIDLocation: InstanceIDOnDataPoint, Instances: 5, Parallelism: 1, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Millisecond}
	require.NoError(t, cfg.Validate())
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	// One worker: once it was refused, it has settled the payloads before.
	require.Eventually(t, func() bool { return refusedCalls.Load() >= 60 }, 10*time.Second, time.Millisecond)

	want := int64(len(distinctSeries(accepted.AllMetrics())))
	require.Positive(t, want)
	gauge, err := tel.GetMetric("otelcol_receiver_dummymetrics_series_written")
	require.NoError(t, err)
	assert.Equal(t, want, gauge.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)

	require.NoError(t, rcv.Shutdown(context.Background()))
	stopped := logs.FilterMessage("Stopped generating dummy metrics").All()
	require.Len(t, stopped, 1)
	assert.Equal(t, want, stopped[0].ContextMap()["series_written"])
}

func TestAcceptedSamplesByBlockAddUpToTheAccepted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	// Every third payload is refused, for good so that the worker does not back off.
	accepted := new(consumertest.MetricsSink)
	var calls atomic.Int64
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		if calls.Add(1)%3 == 0 {
			return consumererror.NewPermanent(errors.New("rejected"))
		}
		return accepted.ConsumeMetrics(ctx, md)
	})
	require.NoError(t, err)
	cfg := &Config{InstanceIDLocation: InstanceIDOnDataPoint, Instances: 60, Parallelism: 2, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: 0}
	rcv := startReceiver(t, cfg, next, tel)
	require.Eventually(t, func() bool { return accepted.DataPointCount() > 20_000 }, 10*time.Second, time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))

	m, err := tel.GetMetric("otelcol_receiver_dummymetrics_accepted_samples")
	require.NoError(t, err)
	byBlock := map[string]int64{}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		block, ok := dp.Attributes.Value("instances")
		require.True(t, ok)
		byBlock[block.AsString()] += dp.Value
		total += dp.Value
	}
	assert.Len(t, byBlock, 16, "8 blocks in each of the two shards")
	assert.Equal(t, int64(120), rcv.totals.written.Load(), "every series written")
	assert.Equal(t, sumOf(t, tel, "otelcol_receiver_accepted_metric_points"), total)
	assert.Positive(t, rcv.totals.refused.Load())

	// Each block counts exactly the samples of its instances the pipeline accepted.
	want := map[string]int64{}
	for _, md := range accepted.AllMetrics() {
		for _, p := range flatten(md) {
			for block := range byBlock {
				if first, last, _ := strings.Cut(block, "-"); p.instance >= first && p.instance <= last {
					want[block]++
				}
			}
		}
	}
	assert.Equal(t, want, byBlock)
}

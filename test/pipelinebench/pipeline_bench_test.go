// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package pipelinebench

import (
	"context"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ampload/otelcol-dummymetrics/test/backend"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/resourcetotelemetry"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheusremotewrite"
)

// The load of the issue: 50,000 instances (100,000 series), as fast as it goes.
var benchEnv = map[string]string{
	"GENERATOR_INSTANCES":   "50000",
	"GENERATOR_PARALLELISM": "2",
	"GENERATOR_PAUSE":       "0",
	"GENERATOR_SEED":        "1",
}

// meter accumulates, over the measured sections of a benchmark, wall time, the
// process's CPU time (all goroutines: on this box that is what a collector core
// pays), and heap allocations.
type meter struct {
	wall, cpu       time.Duration
	mallocs, bytes  uint64
	startWall       time.Time
	startCPU        time.Duration
	startM, startB  uint64
	running         bool
	samples, series int64
	wire, raw       int64 // request bodies, compressed and not
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *meter) resume() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.startM, m.startB = ms.Mallocs, ms.TotalAlloc
	m.startCPU = processCPU()
	m.startWall = time.Now()
	m.running = true
}

func (m *meter) pause() {
	m.wall += time.Since(m.startWall)
	m.cpu += processCPU() - m.startCPU
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs += ms.Mallocs - m.startM
	m.bytes += ms.TotalAlloc - m.startB
	m.running = false
}

// report publishes the per-sample figures; ns/sample is wall time, cpu-ns/sample
// the CPU time of every goroutine of the process (the benchmark's sink included).
func (m *meter) report(b *testing.B) {
	if m.running {
		m.pause()
	}
	if m.samples == 0 {
		b.Fatal("no sample went through")
	}
	n := float64(m.samples)
	b.ReportMetric(float64(m.wall.Nanoseconds())/n, "ns/sample")
	b.ReportMetric(float64(m.cpu.Nanoseconds())/n, "cpu-ns/sample")
	b.ReportMetric(float64(m.mallocs)/n, "allocs/sample")
	b.ReportMetric(float64(m.bytes)/n, "B/sample")
	if m.series > 0 {
		b.ReportMetric(n/float64(m.series), "samples/series-entry")
	}
	if m.wire > 0 {
		b.ReportMetric(float64(m.wire)/n, "wire-B/sample")
		b.ReportMetric(float64(m.raw)/n, "raw-B/sample")
	}
}

func setEnv(b *testing.B, env map[string]string) {
	for k, v := range env {
		b.Setenv(k, v)
	}
}

// BenchmarkPipeline runs receiver → batch → prometheus_remote_write with the
// shipped configuration into the in-process sink, at full speed, until the sink
// has counted b.N samples: one op is one sample that arrived. The modes:
//
//   - ordered: with the exporter's queue (one queue consumer, SINK_PARALLELISM requests of a batch in parallel);
//   - unordered: the exporter's multiple-workers gate on, num_consumers = SINK_PARALLELISM,
//     one request at a time per batch;
//   - sync: as shipped, without the queue (remote_write_queue disabled), so
//     that the export blocks the batch processor and, through it, the receiver;
//   - sync-rw2: sync, sending remote write 2.0 (the exporter's feature gate).
//
// wire-B/sample and raw-B/sample are the request bodies per sample, compressed
// and not.
//
// dropped-% is the share of the samples the receiver had handed over that never
// reached the sink (the exporter's queue was full): the CPU spent on them is part
// of cpu-ns/sample, which counts only samples that arrived.
func BenchmarkPipeline(b *testing.B) {
	for _, mode := range []struct {
		name  string
		queue bool   // the shipped configuration has none
		gate  string // a feature gate the mode needs
		tweak func(*prometheusremotewriteexporter.Config)
	}{
		{name: "ordered", queue: true},
		{name: "unordered", queue: true, gate: MultipleWorkersGate, tweak: func(exp *prometheusremotewriteexporter.Config) {
			exp.RemoteWriteQueue.NumConsumers = *exp.MaxBatchRequestParallelism
			one := 1
			exp.MaxBatchRequestParallelism = &one
		}},
		{name: "sync"},
		{name: "sync-rw2", gate: RW2Gate, tweak: func(exp *prometheusremotewriteexporter.Config) {
			exp.RemoteWriteProtoMsg = remoteapi.WriteV2MessageType
		}},
	} {
		b.Run("mode="+mode.name, func(b *testing.B) {
			sink, sinkURL := newSink(b)
			setEnv(b, benchEnv)
			b.Setenv("PROMETHEUS_WRITE_URL", sinkURL)
			b.Setenv("SINK_QUEUE_ENABLED", strconv.FormatBool(mode.queue))
			ctx := context.Background()
			if mode.gate != "" {
				restore, err := SetGate(mode.gate, true)
				require.NoError(b, err)
				defer restore()
			}
			cfg, err := LoadConfig(ctx, shippedConfig(b))
			require.NoError(b, err)
			if mode.tweak != nil {
				mode.tweak(cfg.Exporter.(*prometheusremotewriteexporter.Config))
			}
			core, logs := observer.New(zapcore.InfoLevel)
			p, err := Build(ctx, cfg, zap.New(core))
			require.NoError(b, err)

			var m meter
			b.ResetTimer()
			m.resume()
			require.NoError(b, p.Start(ctx))
			for sink.Samples() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			m.pause()
			m.samples, m.series, m.wire, m.raw = sink.Samples(), sink.Series(), sink.Bytes(), sink.RawBytes()
			b.StopTimer()
			require.NoError(b, p.Shutdown(ctx))
			require.Zero(b, sink.Rejected())
			m.report(b)
			stopped := logs.FilterMessage("Stopped generating dummy metrics").All()
			require.Len(b, stopped, 1)
			accepted, _ := stopped[0].ContextMap()["accepted_samples"].(int64)
			dropped := accepted - sink.Samples()
			b.ReportMetric(100*float64(dropped)/float64(max(accepted, 1)), "dropped-%")
		})
	}
}

// captureBatches runs the receiver and the batch processor with the shipped
// configuration and keeps the first n batches, as the exporter would get them.
func captureBatches(b *testing.B, n int) []pmetric.Metrics {
	b.Helper()
	setEnv(b, benchEnv)
	b.Setenv("PROMETHEUS_WRITE_URL", "http://127.0.0.1:1/unused")
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, shippedConfig(b))
	require.NoError(b, err)
	sink := new(consumertest.MetricsSink)
	rec, bat := buildFront(b, cfg, sink)
	require.NoError(b, bat.Start(ctx, componenttest.NewNopHost()))
	require.NoError(b, rec.Start(ctx, componenttest.NewNopHost()))
	for sink.DataPointCount() < n*16384 {
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(b, rec.Shutdown(ctx))
	require.NoError(b, bat.Shutdown(ctx))
	all := sink.AllMetrics()
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// buildFront builds receiver → batch → next.
func buildFront(b *testing.B, cfg *Config, next consumer.Metrics) (rec, bat component.Component) {
	b.Helper()
	ctx := context.Background()
	batP, err := cfg.Factories.Batch.CreateMetrics(ctx, processortest.NewNopSettings(cfg.Factories.Batch.Type()), cfg.Batch, next)
	require.NoError(b, err)
	recP, err := cfg.Factories.Receiver.CreateMetrics(ctx, receivertest.NewNopSettings(cfg.Factories.Receiver.Type()), cfg.Receiver, batP)
	require.NoError(b, err)
	return recP, batP
}

// BenchmarkPerComponent breaks the pipeline's cost down, one op being one sample:
//
//   - generate+batch: the receiver and the batch processor (pause 0), into a consumer that drops;
//   - resource-labels: the exporter's resource_constant_labels wrapper, which copies
//     InstanceId from each resource onto every data point;
//   - translate: pkg/translator/prometheusremotewrite.FromMetrics with the shipped settings;
//   - export: the exporter's ConsumeMetrics with its queue off (wrapper, translation,
//     splitting into requests, protobuf, snappy, HTTP to the sink, which decodes).
//
// The last three run on batches captured from the receiver and the batch processor.
func BenchmarkPerComponent(b *testing.B) {
	b.Run("stage=generate+batch", func(b *testing.B) {
		setEnv(b, benchEnv)
		b.Setenv("PROMETHEUS_WRITE_URL", "http://127.0.0.1:1/unused")
		ctx := context.Background()
		cfg, err := LoadConfig(ctx, shippedConfig(b))
		require.NoError(b, err)
		var sink Discard
		rec, bat := buildFront(b, cfg, &sink)
		var m meter
		b.ResetTimer()
		m.resume()
		require.NoError(b, bat.Start(ctx, componenttest.NewNopHost()))
		require.NoError(b, rec.Start(ctx, componenttest.NewNopHost()))
		for sink.Points.Load() < int64(b.N) {
			time.Sleep(time.Millisecond)
		}
		m.pause()
		m.samples = sink.Points.Load()
		b.StopTimer()
		require.NoError(b, rec.Shutdown(ctx))
		require.NoError(b, bat.Shutdown(ctx))
		m.report(b)
	})

	batches := captureBatches(b, 8)
	runBatches := func(b *testing.B, fn func(md pmetric.Metrics)) {
		var m meter
		b.ResetTimer()
		for i := 0; m.samples < int64(b.N); i++ {
			b.StopTimer()
			md := pmetric.NewMetrics()
			batches[i%len(batches)].CopyTo(md)
			b.StartTimer()
			m.resume()
			fn(md)
			m.pause()
			m.samples += int64(md.DataPointCount())
		}
		b.StopTimer()
		m.report(b)
	}

	b.Run("stage=resource-labels", func(b *testing.B) {
		nop, err := exportertest.NewNopFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(exportertest.NopType), nil)
		require.NoError(b, err)
		wrapped := resourcetotelemetry.WrapMetricsExporter(resourcetotelemetry.Settings{Included: []string{"InstanceId"}}, nop)
		runBatches(b, func(md pmetric.Metrics) { _ = wrapped.ConsumeMetrics(context.Background(), md) })
	})

	b.Run("stage=translate", func(b *testing.B) {
		// The settings the exporter derives from the shipped configuration; the
		// data points already carry InstanceId, as after the wrapper.
		settings := prometheusremotewrite.Settings{DisableTargetInfo: true, DisableScopeInfo: true, AddMetricSuffixes: true}
		nop, err := exportertest.NewNopFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(exportertest.NopType), nil)
		require.NoError(b, err)
		wrapped := resourcetotelemetry.WrapMetricsExporter(resourcetotelemetry.Settings{Included: []string{"InstanceId"}}, nop)
		for _, md := range batches {
			_ = wrapped.ConsumeMetrics(context.Background(), md)
		}
		runBatches(b, func(md pmetric.Metrics) {
			if _, err := prometheusremotewrite.FromMetrics(md, settings); err != nil {
				b.Fatal(err)
			}
		})
	})

	b.Run("stage=export", func(b *testing.B) {
		ctx := context.Background()
		sink, exp := startSyncExporter(b, nil)
		runBatches(b, func(md pmetric.Metrics) {
			if err := exp.ConsumeMetrics(ctx, md); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(sink.Samples())/float64(sink.Series()), "samples/series-entry")
	})
}

// point is one sample of a captured batch, flattened.
type point struct {
	instance string
	metric   int // 0 CPU, 1 Memory
	ts       pcommon.Timestamp
	value    float64
}

var metricNames = [2]string{"CPU", "Memory"}

// flatten lists a batch's samples in its order.
func flatten(md pmetric.Metrics) []point {
	var out []point
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		id, _ := rm.Resource().Attributes().Get("InstanceId")
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				metric := 0
				if m.Name() == metricNames[1] {
					metric = 1
				}
				dps := m.Gauge().DataPoints()
				for l := 0; l < dps.Len(); l++ {
					out = append(out, point{instance: id.Str(), metric: metric, ts: dps.At(l).Timestamp(), value: dps.At(l).DoubleValue()})
				}
			}
		}
	}
	return out
}

// buildResourcePerInstance builds the receiver's shape: one ResourceMetrics per
// instance with InstanceId as resource attribute, a gauge per metric that has
// samples. As the receiver does, it counts first, so that every slice is allocated
// once at its final size.
func buildResourcePerInstance(points []point) pmetric.Metrics {
	type group struct {
		count [2]int
		dps   [2]pmetric.NumberDataPointSlice
	}
	groups := map[string]*group{}
	var order []string
	for _, p := range points {
		g, ok := groups[p.instance]
		if !ok {
			g = &group{}
			groups[p.instance] = g
			order = append(order, p.instance)
		}
		g.count[p.metric]++
	}
	md := pmetric.NewMetrics()
	rms := md.ResourceMetrics()
	rms.EnsureCapacity(len(order))
	for _, id := range order {
		g := groups[id]
		rm := rms.AppendEmpty()
		rm.Resource().Attributes().PutStr("InstanceId", id)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("dummymetrics")
		if g.count[0] > 0 && g.count[1] > 0 {
			sm.Metrics().EnsureCapacity(2)
		}
		for m := range metricNames {
			if g.count[m] == 0 {
				continue
			}
			metric := sm.Metrics().AppendEmpty()
			metric.SetName(metricNames[m])
			g.dps[m] = metric.SetEmptyGauge().DataPoints()
			g.dps[m].EnsureCapacity(g.count[m])
		}
	}
	for _, p := range points {
		dp := groups[p.instance].dps[p.metric].AppendEmpty()
		dp.SetTimestamp(p.ts)
		dp.SetDoubleValue(p.value)
	}
	return md
}

// buildPointAttributes builds the alternative shape: one ResourceMetrics, one
// gauge per metric, InstanceId as an attribute of every data point.
func buildPointAttributes(points []point) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("dummymetrics")
	var count [2]int
	for _, p := range points {
		count[p.metric]++
	}
	var dps [2]pmetric.NumberDataPointSlice
	for m := range metricNames {
		metric := sm.Metrics().AppendEmpty()
		metric.SetName(metricNames[m])
		dps[m] = metric.SetEmptyGauge().DataPoints()
		dps[m].EnsureCapacity(count[m])
	}
	for _, p := range points {
		dp := dps[p.metric].AppendEmpty()
		dp.SetTimestamp(p.ts)
		dp.SetDoubleValue(p.value)
		dp.Attributes().PutStr("InstanceId", p.instance)
	}
	return md
}

// BenchmarkPayloadShape compares, on the samples of captured batches, the
// receiver's payload shape (a resource per instance, InstanceId copied onto every
// data point by the exporter's resource_constant_labels) with InstanceId set on the
// data points by the receiver (one resource, no resource_constant_labels): the
// cost of building the payload, and of exporting it (queue off, into the sink).
// Building the payload here stands for the receiver's batch.take, without its
// random numbers and timestamps.
func BenchmarkPayloadShape(b *testing.B) {
	batches := captureBatches(b, 8)
	flat := make([][]point, len(batches))
	for i, md := range batches {
		flat[i] = flatten(md)
	}
	shapes := []struct {
		name           string
		build          func([]point) pmetric.Metrics
		constantLabels bool
	}{
		{"resource-per-instance", buildResourcePerInstance, true},
		{"point-attributes", buildPointAttributes, false},
	}
	for _, shape := range shapes {
		b.Run("shape="+shape.name+"/stage=build", func(b *testing.B) {
			var m meter
			for i := 0; m.samples < int64(b.N); i++ {
				m.resume()
				md := shape.build(flat[i%len(flat)])
				m.pause()
				m.samples += int64(md.DataPointCount())
			}
			m.report(b)
		})
		b.Run("shape="+shape.name+"/stage=export", func(b *testing.B) {
			ctx := context.Background()
			sink, exp := startSyncExporter(b, func(cfg *Config) {
				if !shape.constantLabels {
					cfg.Exporter.(*prometheusremotewriteexporter.Config).ResourceConstantLabels = resourcetotelemetry.Settings{}
				}
			})
			var m meter
			for i := 0; m.samples < int64(b.N); i++ {
				md := shape.build(flat[i%len(flat)])
				m.resume()
				if err := exp.ConsumeMetrics(ctx, md); err != nil {
					b.Fatal(err)
				}
				m.pause()
				m.samples += int64(md.DataPointCount())
			}
			require.Equal(b, m.samples, sink.Samples(), "every sample reached the sink")
			m.report(b)
		})
	}
}

// startSyncExporter starts the shipped exporter without its queue (each export
// returns once sent), adjusted by adjust when not nil, writing into a new sink.
// Both are stopped at the end of the benchmark.
func startSyncExporter(b *testing.B, adjust func(*Config)) (*backend.Sink, exporter.Metrics) {
	b.Helper()
	sink, sinkURL := newSink(b)
	b.Setenv("PROMETHEUS_WRITE_URL", sinkURL)
	b.Setenv("SINK_QUEUE_ENABLED", "false")
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, shippedConfig(b))
	require.NoError(b, err)
	if adjust != nil {
		adjust(cfg)
	}
	f := cfg.Factories.Exporter
	exp, err := f.CreateMetrics(ctx, exportertest.NewNopSettings(f.Type()), cfg.Exporter)
	require.NoError(b, err)
	require.NoError(b, exp.Start(ctx, componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, exp.Shutdown(ctx)) })
	return sink, exp
}

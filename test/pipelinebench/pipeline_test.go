// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package pipelinebench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

func shippedConfig(t testing.TB) string {
	t.Helper()
	path, err := runner.RepoPath("collector-config.yaml")
	require.NoError(t, err)
	return path
}

// TestLoadConfigIsTheShippedOne checks that the in-process pipeline gets the
// settings of collector-config.yaml, environment variables included.
func TestLoadConfigIsTheShippedOne(t *testing.T) {
	t.Setenv("PROMETHEUS_WRITE_URL", "http://127.0.0.1:1/api/v1/write")
	t.Setenv("SINK_PARALLELISM", "3")
	cfg, err := LoadConfig(context.Background(), shippedConfig(t))
	require.NoError(t, err)

	exp := cfg.Exporter.(*prometheusremotewriteexporter.Config)
	assert.Equal(t, "http://127.0.0.1:1/api/v1/write", exp.HTTP.Endpoint)
	assert.Equal(t, []string{"InstanceId"}, exp.ResourceConstantLabels.Included)
	assert.False(t, exp.TargetInfo.Enabled)
	assert.True(t, exp.DisableScopeInfo)
	require.NotNil(t, exp.MaxBatchRequestParallelism)
	assert.Equal(t, 3, *exp.MaxBatchRequestParallelism)
	assert.False(t, exp.RemoteWriteQueue.Enabled, "no queue: the backend's pace holds the generator back")

	bat := cfg.Batch.(*batchprocessor.Config)
	assert.NotZero(t, bat.SendBatchSize)
	assert.Equal(t, bat.SendBatchSize, bat.SendBatchMaxSize)

	_, ok := cfg.Receiver.(*dummymetricsreceiver.Config)
	assert.True(t, ok)
}

func TestLoadConfigErrors(t *testing.T) {
	_, err := LoadConfig(context.Background())
	require.ErrorContains(t, err, "no configuration file")

	_, err = LoadConfig(context.Background(), "/nonexistent/collector-config.yaml")
	require.ErrorContains(t, err, "/nonexistent/collector-config.yaml")

	t.Setenv("GENERATOR_INSTANCES", "10")
	t.Setenv("GENERATOR_PARALLELISM", "3")
	_, err = LoadConfig(context.Background(), shippedConfig(t))
	require.ErrorContains(t, err, "instances (10) must be a multiple of parallelism (3)")
}

// TestPipelineDeliversEverySample runs the in-process pipeline briefly and checks
// that the sink decoded exactly what the receiver says it emitted, as the series
// of the original sample, each in time order.
func TestPipelineDeliversEverySample(t *testing.T) {
	// A sink that also checks every series' timestamps go forward.
	sink := &backend.Sink{}
	var mu sync.Mutex
	last := map[string]int64{}
	var disorder []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := backend.Decode(r)
		require.NoError(t, err)
		mu.Lock()
		for _, s := range req.Series {
			for _, ts := range s.Timestamps {
				if ts <= last[s.Labels] {
					disorder = append(disorder, s.Labels)
				}
				last[s.Labels] = ts
			}
		}
		mu.Unlock()
		sink.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("PROMETHEUS_WRITE_URL", srv.URL+"/api/v1/write")
	t.Setenv("GENERATOR_INSTANCES", "12")
	t.Setenv("GENERATOR_PARALLELISM", "3")
	t.Setenv("GENERATOR_PAUSE", "1ms")
	t.Setenv("GENERATOR_SEED", "7")
	t.Setenv("SINK_BATCH_TIMEOUT", "50ms")
	t.Setenv("SINK_PARALLELISM", "4")

	ctx := context.Background()
	cfg, err := LoadConfig(ctx, shippedConfig(t))
	require.NoError(t, err)
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := Build(ctx, cfg, zap.New(core))
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx))
	deadline := time.Now().Add(20 * time.Second)
	for sink.Samples() < 2000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, p.Shutdown(ctx))

	stopped := logs.FilterMessage("Stopped generating dummy metrics").All()
	require.Len(t, stopped, 1)
	fields := stopped[0].ContextMap()
	accepted, ok := fields["accepted_samples"].(int64)
	require.True(t, ok, "accepted_samples in %v", fields)
	assert.GreaterOrEqual(t, accepted, int64(2000))
	assert.Equal(t, accepted, sink.Samples(), "every accepted sample reached the sink")
	assert.Zero(t, sink.Rejected())

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, disorder, "series whose timestamps went backwards")
	for labels := range last {
		assert.Regexp(t, `^InstanceId=I\d{10},__name__=(CPU|Memory)$`, labels)
	}
	assert.Len(t, last, 24, "2 series of 12 instances")
}

func TestSetGate(t *testing.T) {
	_, err := SetGate("no.such.gate", true)
	require.ErrorContains(t, err, "no.such.gate")

	restore, err := SetGate(MultipleWorkersGate, true)
	require.NoError(t, err)
	cfg := prometheusremotewriteexporter.NewFactory().CreateDefaultConfig().(*prometheusremotewriteexporter.Config)
	assert.Equal(t, 1, cfg.RemoteWriteQueue.NumConsumers, "with the gate on, the default is one consumer")
	restore()
	cfg = prometheusremotewriteexporter.NewFactory().CreateDefaultConfig().(*prometheusremotewriteexporter.Config)
	assert.Equal(t, 5, cfg.RemoteWriteQueue.NumConsumers, "restored")
}

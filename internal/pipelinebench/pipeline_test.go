// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package pipelinebench

import (
	"bytes"
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"

	"github.com/ampload/otelcol-dummymetrics/internal/repo"
	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"
)

func shippedConfig(t testing.TB) string {
	t.Helper()
	path, err := repo.Path("collector-config.yaml")
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
	assert.True(t, exp.RemoteWriteQueue.Enabled)

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
	sink := NewSink()
	defer sink.Close()
	sink.Record = true
	t.Setenv("PROMETHEUS_WRITE_URL", sink.URL)
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

	last := map[string]int64{}
	for _, ts := range sink.Recorded() {
		names := make([]string, 0, len(ts.Labels))
		var b strings.Builder
		for _, l := range ts.Labels {
			names = append(names, l.Name)
			b.WriteString(l.Name + "=" + l.Value + ",")
		}
		key := b.String()
		sort.Strings(names)
		require.Equal(t, []string{"InstanceId", "__name__"}, names, "labels of %v", ts.Labels)
		for _, s := range ts.Samples {
			require.Greater(t, s.Timestamp, last[key], "series %s in order", key)
			last[key] = s.Timestamp
		}
	}
	assert.Len(t, last, 24, "2 series of 12 instances")
}

func TestCountSamples(t *testing.T) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "__name__", Value: "CPU"}}, Samples: []prompb.Sample{{Value: 0.5, Timestamp: 1}, {Value: 0, Timestamp: 2}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "Memory"}}, Samples: []prompb.Sample{{Value: 0.25, Timestamp: 1}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "empty"}}},
	}, Metadata: []prompb.MetricMetadata{{MetricFamilyName: "CPU", Help: "x"}}}
	b, err := req.Marshal()
	require.NoError(t, err)

	tests := []struct {
		name                  string
		in                    []byte
		wantSeries, wantTotal int64
		wantErr               bool
	}{
		{"empty", nil, 0, 0, false},
		{"three series, three samples, metadata skipped", b, 3, 3, false},
		{"truncated", b[:len(b)-3], 0, 0, true},
		{"garbage tag", []byte{0xff, 0xff, 0xff}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			series, samples, err := CountSamples(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantSeries, series)
			assert.Equal(t, tt.wantTotal, samples)
		})
	}
}

func TestSinkRejectsWhatIsNotRemoteWrite(t *testing.T) {
	sink := NewSink()
	defer sink.Close()
	body := snappy.Encode(nil, []byte{0x0a, 0x02, 0x12, 0x00}) // one series with one empty sample

	tests := []struct {
		name     string
		encoding string
		version  string
		body     []byte
		want     int
	}{
		{"remote write 1.0", "snappy", "0.1.0", body, 204},
		{"no snappy header", "", "0.1.0", body, 400},
		{"no version header", "snappy", "", body, 400},
		{"not snappy", "snappy", "0.1.0", []byte("plain"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, sink.URL, bytes.NewReader(tt.body))
			require.NoError(t, err)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			if tt.version != "" {
				req.Header.Set("X-Prometheus-Remote-Write-Version", tt.version)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
		})
	}
	assert.Equal(t, int64(1), sink.Samples())
	assert.Equal(t, int64(1), sink.Requests())
	assert.Equal(t, int64(3), sink.Rejected())
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

// Written by hand in mdatagen's layout, because mdatagen is not served by the module
// proxy this project builds with.

package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/metric"
	embeddedmetric "go.opentelemetry.io/otel/metric/embedded"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	embeddedtrace "go.opentelemetry.io/otel/trace/embedded"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
)

type mockMeter struct {
	noopmetric.Meter
	name string
}
type mockMeterProvider struct {
	embeddedmetric.MeterProvider
}

func (m mockMeterProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return mockMeter{name: name}
}

type mockTracer struct {
	nooptrace.Tracer
	name string
}

type mockTracerProvider struct {
	embeddedtrace.TracerProvider
}

func (m mockTracerProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return mockTracer{name: name}
}

func TestProviders(t *testing.T) {
	set := component.TelemetrySettings{
		MeterProvider:  mockMeterProvider{},
		TracerProvider: mockTracerProvider{},
	}

	meter := Meter(set)
	if m, ok := meter.(mockMeter); ok {
		require.Equal(t, "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver", m.name)
	} else {
		require.Fail(t, "returned Meter not mockMeter")
	}

	tracer := Tracer(set)
	if m, ok := tracer.(mockTracer); ok {
		require.Equal(t, "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver", m.name)
	} else {
		require.Fail(t, "returned Meter not mockTracer")
	}
}

func TestNewTelemetryBuilder(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	applied := false
	_, err := NewTelemetryBuilder(set, telemetryBuilderOptionFunc(func(b *TelemetryBuilder) {
		applied = true
	}))
	require.NoError(t, err)
	require.True(t, applied)
}

func TestAsyncInstrumentsReportTheirCallbacks(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	builder, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	require.NoError(t, builder.RegisterReceiverDummymetricsStageCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(2)
		return nil
	}))
	require.NoError(t, builder.RegisterReceiverDummymetricsTargetRateCallback(func(_ context.Context, o metric.Float64Observer) error {
		o.Observe(1500)
		return nil
	}))
	require.NoError(t, builder.RegisterReceiverDummymetricsSeriesWrittenCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(120)
		return nil
	}))
	require.NoError(t, builder.RegisterReceiverDummymetricsActiveSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(1_000_000)
		return nil
	}))

	stage, err := tel.GetMetric("otelcol_receiver_dummymetrics_stage")
	require.NoError(t, err)
	require.Equal(t, int64(2), stage.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	rate, err := tel.GetMetric("otelcol_receiver_dummymetrics_target_rate")
	require.NoError(t, err)
	require.Equal(t, 1500.0, rate.Data.(metricdata.Gauge[float64]).DataPoints[0].Value)
	written, err := tel.GetMetric("otelcol_receiver_dummymetrics_series_written")
	require.NoError(t, err)
	require.Equal(t, int64(120), written.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	active, err := tel.GetMetric("otelcol_receiver_dummymetrics_active_series")
	require.NoError(t, err)
	require.Equal(t, int64(1_000_000), active.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)

	builder.Shutdown()
	_, err = tel.GetMetric("otelcol_receiver_dummymetrics_stage")
	require.Error(t, err, "no longer observed once the builder is shut down")
}

func TestCountersAreNamedAsDocumented(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	builder, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	builder.ReceiverDummymetricsRefusedSamples.Add(context.Background(), 7)
	builder.ReceiverDummymetricsStaleMarkers.Add(context.Background(), 13)
	for name, want := range map[string]int64{
		"otelcol_receiver_dummymetrics_refused_samples": 7,
		"otelcol_receiver_dummymetrics_stale_markers":   13,
	} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		require.Equal(t, want, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value, name)
		require.Equal(t, "{sample}", m.Unit, name)
	}
}

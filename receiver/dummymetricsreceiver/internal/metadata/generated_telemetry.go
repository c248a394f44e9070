// Written by hand in mdatagen's layout, because mdatagen is not served by the module
// proxy this project builds with.

package metadata

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/trace"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter("github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver")
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer("github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver")
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                                metric.Meter
	mu                                   sync.Mutex
	registrations                        []metric.Registration
	ReceiverDummymetricsAcceptedSamples  metric.Int64Counter
	ReceiverDummymetricsActiveSeries     metric.Int64ObservableGauge
	ReceiverDummymetricsClockWaitTime    metric.Float64Counter
	ReceiverDummymetricsHeldBackTime     metric.Float64Counter
	ReceiverDummymetricsRefusedSamples   metric.Int64Counter
	ReceiverDummymetricsScheduledSamples metric.Int64Counter
	ReceiverDummymetricsSeriesWritten    metric.Int64ObservableGauge
	ReceiverDummymetricsShortfallSamples metric.Int64Counter
	ReceiverDummymetricsStage            metric.Int64ObservableGauge
	ReceiverDummymetricsStaleMarkers     metric.Int64Counter
	ReceiverDummymetricsTargetRate       metric.Float64ObservableGauge
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// RegisterReceiverDummymetricsActiveSeriesCallback sets callback for observable ReceiverDummymetricsActiveSeries metric.
func (builder *TelemetryBuilder) RegisterReceiverDummymetricsActiveSeriesCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return cb(ctx, &observerInt64{inst: builder.ReceiverDummymetricsActiveSeries, obs: o})
	}, builder.ReceiverDummymetricsActiveSeries)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

// RegisterReceiverDummymetricsSeriesWrittenCallback sets callback for observable ReceiverDummymetricsSeriesWritten metric.
func (builder *TelemetryBuilder) RegisterReceiverDummymetricsSeriesWrittenCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return cb(ctx, &observerInt64{inst: builder.ReceiverDummymetricsSeriesWritten, obs: o})
	}, builder.ReceiverDummymetricsSeriesWritten)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

// RegisterReceiverDummymetricsStageCallback sets callback for observable ReceiverDummymetricsStage metric.
func (builder *TelemetryBuilder) RegisterReceiverDummymetricsStageCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return cb(ctx, &observerInt64{inst: builder.ReceiverDummymetricsStage, obs: o})
	}, builder.ReceiverDummymetricsStage)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

// RegisterReceiverDummymetricsTargetRateCallback sets callback for observable ReceiverDummymetricsTargetRate metric.
func (builder *TelemetryBuilder) RegisterReceiverDummymetricsTargetRateCallback(cb metric.Float64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return cb(ctx, &observerFloat64{inst: builder.ReceiverDummymetricsTargetRate, obs: o})
	}, builder.ReceiverDummymetricsTargetRate)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

type observerInt64 struct {
	embedded.Int64Observer
	inst metric.Int64Observable
	obs  metric.Observer
}

func (oi *observerInt64) Observe(value int64, opts ...metric.ObserveOption) {
	oi.obs.ObserveInt64(oi.inst, value, opts...)
}

type observerFloat64 struct {
	embedded.Float64Observer
	inst metric.Float64Observable
	obs  metric.Observer
}

func (oi *observerFloat64) Observe(value float64, opts ...metric.ObserveOption) {
	oi.obs.ObserveFloat64(oi.inst, value, opts...)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		_ = reg.Unregister()
	}
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ReceiverDummymetricsAcceptedSamples, err = builder.meter.Int64Counter(
		"otelcol_receiver_dummymetrics_accepted_samples",
		metric.WithDescription("Samples accepted by the pipeline, by block of consecutive instances; staleness markers are not samples [Development]"),
		metric.WithUnit("{sample}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsActiveSeries, err = builder.meter.Int64ObservableGauge(
		"otelcol_receiver_dummymetrics_active_series",
		metric.WithDescription("Series of the instances active now [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsClockWaitTime, err = builder.meter.Float64Counter(
		"otelcol_receiver_dummymetrics_clock_wait_time",
		metric.WithDescription("Time the generator workers waited so that no series gets a timestamp more than one second ahead of the wall clock (one sample per millisecond per series at most) [Development]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsHeldBackTime, err = builder.meter.Float64Counter(
		"otelcol_receiver_dummymetrics_held_back_time",
		metric.WithDescription("Time the generator workers waited for the pipeline to take their payloads (the calls to the next consumer), summed over the workers [Development]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsRefusedSamples, err = builder.meter.Int64Counter(
		"otelcol_receiver_dummymetrics_refused_samples",
		metric.WithDescription("Samples refused by the pipeline; staleness markers are not samples [Development]"),
		metric.WithUnit("{sample}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsScheduledSamples, err = builder.meter.Int64Counter(
		"otelcol_receiver_dummymetrics_scheduled_samples",
		metric.WithDescription("Samples the receiver's rate or stages asked for, by stage [Development]"),
		metric.WithUnit("{sample}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsSeriesWritten, err = builder.meter.Int64ObservableGauge(
		"otelcol_receiver_dummymetrics_series_written",
		metric.WithDescription("Distinct series (instance and metric) that got at least one sample accepted by the pipeline since start [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsShortfallSamples, err = builder.meter.Int64Counter(
		"otelcol_receiver_dummymetrics_shortfall_samples",
		metric.WithDescription("Samples the receiver fell more than a second behind its schedule on and gave up, by stage [Development]"),
		metric.WithUnit("{sample}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsStage, err = builder.meter.Int64ObservableGauge(
		"otelcol_receiver_dummymetrics_stage",
		metric.WithDescription("Index of the current stage: -1 before align_start, the number of stages after the last one [Development]"),
		metric.WithUnit("{stage}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsStaleMarkers, err = builder.meter.Int64Counter(
		"otelcol_receiver_dummymetrics_stale_markers",
		metric.WithDescription("Staleness markers accepted by the pipeline, one per series ended: a classic histogram's point counts as its bucket, sum and count series [Development]"),
		metric.WithUnit("{sample}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverDummymetricsTargetRate, err = builder.meter.Float64ObservableGauge(
		"otelcol_receiver_dummymetrics_target_rate",
		metric.WithDescription("Samples per second the receiver's schedule asks for now; 0 while idle or stopped [Development]"),
		metric.WithUnit("{sample}/s"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}

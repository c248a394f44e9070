// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package pipelinebench (tests and benchmarks only) runs the distribution's pipeline in process: the
// dummymetrics receiver, the batch processor and the prometheus_remote_write
// exporter, built with their factories from the shipped collector-config.yaml,
// exporting into a remote-write endpoint on loopback that decodes what it gets and
// counts the samples. Its benchmarks (go test -bench . ./pipelinebench in the test module)
// report the cost per sample of the whole pipeline and of its stages, so that a
// regression in our receiver, in the configuration or in a library upgrade shows.
//
// The memory limiter of the shipped pipeline is left out: it only reads the heap
// size once a second and costs nothing per sample.
package pipelinebench

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// MultipleWorkersGate is the exporter's feature gate that turns num_consumers into
// the number of batches in flight (the bench command's "unordered" mode).
const MultipleWorkersGate = "exporter.prometheusremotewritexporter.EnableMultipleWorkers"

// RW2Gate is the exporter's feature gate that allows remote write 2.0.
const RW2Gate = "exporter.prometheusremotewritexporter.enableSendingRW2"

// Component IDs as named in collector-config.yaml.
var (
	receiverID  = component.MustNewID("dummymetrics")
	batchID     = component.MustNewID("batch")
	exporterID  = component.MustNewID("prometheus_remote_write")
	configPaths = map[component.ID]string{
		receiverID: "receivers::dummymetrics",
		batchID:    "processors::batch",
		exporterID: "exporters::prometheus_remote_write",
	}
)

// Config holds the configurations of the three components, as the distribution
// would load them.
type Config struct {
	Receiver  component.Config
	Batch     component.Config
	Exporter  component.Config
	Factories struct {
		Receiver receiver.Factory
		Batch    processor.Factory
		Exporter exporter.Factory
	}
}

// LoadConfig resolves the configuration files (the shipped collector-config.yaml,
// possibly with overlays) with the environment variables of the process, exactly
// as the distribution does, and unmarshals and validates the sections of the
// receiver, the batch processor and the exporter.
func LoadConfig(ctx context.Context, paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("no configuration file given")
	}
	uris := make([]string, len(paths))
	for i, p := range paths {
		uris[i] = "file:" + p
	}
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              uris,
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		return nil, err
	}
	conf, err := resolver.Resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolving %v: %w", paths, err)
	}

	cfg := &Config{}
	cfg.Factories.Receiver = dummymetricsreceiver.NewFactory()
	cfg.Factories.Batch = batchprocessor.NewFactory()
	cfg.Factories.Exporter = prometheusremotewriteexporter.NewFactory()
	cfg.Receiver = cfg.Factories.Receiver.CreateDefaultConfig()
	cfg.Batch = cfg.Factories.Batch.CreateDefaultConfig()
	cfg.Exporter = cfg.Factories.Exporter.CreateDefaultConfig()
	for id, target := range map[component.ID]component.Config{receiverID: cfg.Receiver, batchID: cfg.Batch, exporterID: cfg.Exporter} {
		key := configPaths[id]
		if !conf.IsSet(key) {
			return nil, fmt.Errorf("%v: no %s section", paths, key)
		}
		sub, err := conf.Sub(key)
		if err != nil {
			return nil, err
		}
		if err := sub.Unmarshal(target); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if err := confmap.Validate(target); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return cfg, nil
}

// Pipeline is receiver → batch → exporter, built but not started.
type Pipeline struct {
	Receiver receiver.Metrics
	Batch    processor.Metrics
	Exporter exporter.Metrics

	host    component.Host
	started []component.Component
}

// Build creates the components. logger receives their logs (nil: none).
func Build(ctx context.Context, cfg *Config, logger *zap.Logger) (*Pipeline, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	expSet := exportertest.NewNopSettings(cfg.Factories.Exporter.Type())
	expSet.Logger = logger.With(zap.String("component", "exporter"))
	exp, err := cfg.Factories.Exporter.CreateMetrics(ctx, expSet, cfg.Exporter)
	if err != nil {
		return nil, fmt.Errorf("creating the exporter: %w", err)
	}
	batSet := processortest.NewNopSettings(cfg.Factories.Batch.Type())
	batSet.Logger = logger.With(zap.String("component", "batch"))
	bat, err := cfg.Factories.Batch.CreateMetrics(ctx, batSet, cfg.Batch, exp)
	if err != nil {
		return nil, fmt.Errorf("creating the batch processor: %w", err)
	}
	recSet := receivertest.NewNopSettings(cfg.Factories.Receiver.Type())
	recSet.Logger = logger.With(zap.String("component", "receiver"))
	rec, err := cfg.Factories.Receiver.CreateMetrics(ctx, recSet, cfg.Receiver, bat)
	if err != nil {
		return nil, fmt.Errorf("creating the receiver: %w", err)
	}
	return &Pipeline{Receiver: rec, Batch: bat, Exporter: exp, host: componenttest.NewNopHost()}, nil
}

// Start starts the components from the exporter to the receiver, as the collector does.
func (p *Pipeline) Start(ctx context.Context) error {
	for _, c := range []component.Component{p.Exporter, p.Batch, p.Receiver} {
		if err := c.Start(ctx, p.host); err != nil {
			_ = p.Shutdown(ctx)
			return err
		}
		p.started = append(p.started, c)
	}
	return nil
}

// Shutdown stops the started components from the receiver to the exporter, so that
// the batch processor flushes and the exporter drains its queue.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(p.started) - 1; i >= 0; i-- {
		errs = append(errs, p.started[i].Shutdown(ctx))
	}
	p.started = nil
	return errors.Join(errs...)
}

// SetGate sets a feature gate of the global registry and returns a function that
// restores its previous state.
func SetGate(id string, enabled bool) (restore func(), err error) {
	var was bool
	found := false
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == id {
			was, found = g.IsEnabled(), true
		}
	})
	if !found {
		return nil, fmt.Errorf("no feature gate %q is registered", id)
	}
	if err := featuregate.GlobalRegistry().Set(id, enabled); err != nil {
		return nil, err
	}
	return func() { _ = featuregate.GlobalRegistry().Set(id, was) }, nil
}

// newSink serves a counting remote-write endpoint on loopback for the test and
// returns it with its URL.
func newSink(tb testing.TB) (*backend.Sink, string) {
	sink := &backend.Sink{}
	srv := httptest.NewServer(sink)
	tb.Cleanup(srv.Close)
	return sink, srv.URL + "/api/v1/write"
}

// Discard is a consumer that drops what it is given, to measure the stages in
// front of the exporter alone.
type Discard struct {
	Points atomic.Int64
}

var _ consumer.Metrics = (*Discard)(nil)

// ConsumeMetrics counts the data points and drops them.
func (d *Discard) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	d.Points.Add(int64(md.DataPointCount()))
	return nil
}

// Capabilities says that Discard does not change the data.
func (*Discard) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

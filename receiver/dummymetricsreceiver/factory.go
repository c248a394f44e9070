// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver/internal/metadata"
)

// NewFactory creates a factory for the dummymetrics receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithMetrics(createMetricsReceiver, metadata.MetricsStability),
	)
}

// createDefaultConfig returns the defaults of the original sample's local run.
func createDefaultConfig() component.Config {
	return &Config{
		Shape:               ShapeSeed,
		Scrape:              defaultScrapeConfig(),
		Instances:           60,
		Parallelism:         2,
		MinSamplesPerSeries: 2,
		MaxSamplesPerSeries: 10,
		Pause:               defaultPause,
		InstanceIDLocation:  InstanceIDOnDataPoint,
		AfterStages:         AfterStagesHold,
	}
}

func createMetricsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newDummyMetricsReceiver(cfg.(*Config), set, next)
}

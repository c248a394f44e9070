// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"

	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/scrape"
)

// scrapePrometheus reads Prometheus's own counters.
func scrapePrometheus(ctx context.Context, prom *promserver.Server) (scrape.Metrics, error) {
	return scrape.Get(ctx, prom.URL+"/metrics")
}

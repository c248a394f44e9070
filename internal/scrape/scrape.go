// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package scrape reads a Prometheus text exposition, such as the collector's own
// telemetry endpoint or Prometheus's /metrics, and sums its counters.
package scrape

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one scrape, by name.
type Metrics map[string]*dto.MetricFamily

// Get scrapes url.
func Get(ctx context.Context, url string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return families, nil
}

// Sum adds up the values of the named counter, gauge or untyped metric over the
// series whose labels include all of match. A counter is found with or without its
// _total suffix, which the collector's telemetry adds only when configured to. An
// absent metric sums to 0: counters appear only once they were first incremented.
func (m Metrics) Sum(name string, match map[string]string) float64 {
	family, ok := m.family(name)
	if !ok {
		return 0
	}
	total := 0.0
	for _, metric := range family.GetMetric() {
		if !hasLabels(metric, match) {
			continue
		}
		switch {
		case metric.Counter != nil:
			total += metric.GetCounter().GetValue()
		case metric.Gauge != nil:
			total += metric.GetGauge().GetValue()
		case metric.Untyped != nil:
			total += metric.GetUntyped().GetValue()
		}
	}
	return total
}

func hasLabels(metric *dto.Metric, match map[string]string) bool {
	found := 0
	for _, pair := range metric.GetLabel() {
		if want, ok := match[pair.GetName()]; ok {
			if pair.GetValue() != want {
				return false
			}
			found++
		}
	}
	return found == len(match)
}

// Has reports whether the named metric was exposed.
func (m Metrics) Has(name string) bool {
	_, ok := m.family(name)
	return ok
}

func (m Metrics) family(name string) (*dto.MetricFamily, bool) {
	if f, ok := m[name]; ok {
		return f, true
	}
	if trimmed, found := strings.CutSuffix(name, "_total"); found {
		f, ok := m[trimmed]
		return f, ok
	}
	f, ok := m[name+"_total"]
	return f, ok
}

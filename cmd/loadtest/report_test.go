// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// The report's setup line counts the instances per collector, "each" only for a fleet.
func TestSetupSaysWhatRan(t *testing.T) {
	o := &options{instances: 52632, gen: 2, sink: 8, shape: runner.Shape{Scrape: true, Interval: 30 * time.Second}, slo: runner.DefaultSLO}
	assert.Contains(t, setup(o, runner.Verdict{Collectors: 1}), "One collector of 52,632 instances (scrape, every 30s shape), generator parallelism 2, sink parallelism 8;")
	assert.Contains(t, setup(o, runner.Verdict{Collectors: 3}), "3 collectors side by side, 52,632 instances each (scrape, every 30s shape)")
}

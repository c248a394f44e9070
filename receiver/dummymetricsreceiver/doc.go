// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package dummymetricsreceiver generates random CPU and Memory gauges for a fleet of
// dummy instances, in parallel shards, to load-test metrics backends.
package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/repo"
)

// startPrometheus starts a real Prometheus for the test and stops it afterwards.
func startPrometheus(t *testing.T, opts promserver.Options) *promserver.Server {
	t.Helper()
	bin, err := repo.PrometheusBinary()
	require.NoError(t, err)
	opts.Binary = bin
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Output == nil {
		f, err := os.Create(filepath.Join(t.TempDir(), "prometheus.log"))
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		opts.Output = f
	}
	srv, err := promserver.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// shippedConfig returns the path of one of the shipped configuration files.
func shippedConfig(t *testing.T, name string) string {
	t.Helper()
	path, err := repo.Path(name)
	require.NoError(t, err)
	return path
}

// startCollector runs the distribution with the shipped configuration files and
// env on top of the environment, and waits until it is healthy; it is stopped at the
// end of the test if still running.
func startCollector(t *testing.T, env map[string]string, configs ...string) *collectorproc.Process {
	t.Helper()
	return runCollector(t, env, "", true, configs...)
}

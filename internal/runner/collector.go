// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CollectorOptions configure a collector process.
type CollectorOptions struct {
	// Binary is the otelcol-dummymetrics executable; empty means CollectorBinary().
	Binary string
	// Configs are configuration files under the repository (collector-config.yaml
	// and its overlays), absolute paths, or yaml: snippets, merged in order; empty
	// means the shipped collector-config.yaml alone.
	Configs []string
	// Base is the main configuration file that Start puts before Configs; empty
	// means the shipped collector-config.yaml.
	Base string
	// Env is set on top of the runner's own environment.
	Env map[string]string
	// FeatureGates is passed to --feature-gates, on top of the distribution's
	// defaults (distribution.DefaultFeatureGates).
	FeatureGates string
	// DefaultPorts keeps the configuration's status ports (or the runner's
	// variables); otherwise telemetry, health check and pprof get free ports.
	DefaultPorts bool
	// LogPath receives the collector's log, in JSON lines; empty makes a temporary file.
	LogPath string
	// NoWait returns at once instead of waiting for the health check.
	NoWait bool
}

// Collector is a running otelcol-dummymetrics.
type Collector struct {
	*process
	TelemetryURL, HealthURL, PprofURL string
}

// jsonLogs makes the collector log JSON lines without sampling, which the runner
// decodes: every failed batch and request is a line of its own.
const jsonLogs = "yaml:service::telemetry::logs: {encoding: json, sampling: {enabled: false}}"

// StartCollector starts the collector and, unless NoWait, waits until its health
// check answers; it returns an error with the end of the log when it exits first.
// A port picked free can be taken by another process before the collector binds
// it; then a second pick is tried.
func StartCollector(ctx context.Context, opts CollectorOptions) (*Collector, error) {
	for attempt := 1; ; attempt++ {
		c, err := startCollector(ctx, opts)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return c, err
		}
	}
}

func startCollector(ctx context.Context, opts CollectorOptions) (*Collector, error) {
	var err error
	if opts.Binary == "" {
		if opts.Binary, err = CollectorBinary(); err != nil {
			return nil, err
		}
	}
	env := map[string]string{"TELEMETRY_HOST": "127.0.0.1", "TELEMETRY_PORT": "8888", "HEALTH_CHECK_ENDPOINT": "127.0.0.1:13133", "PPROF_ENDPOINT": "127.0.0.1:1777"}
	for k := range env {
		if v := os.Getenv(k); v != "" && opts.DefaultPorts {
			env[k] = v
		} else if k != "TELEMETRY_HOST" && !opts.DefaultPorts {
			addr, err := FreeAddr()
			if err != nil {
				return nil, err
			}
			env[k] = addr
			if k == "TELEMETRY_PORT" {
				_, env[k], _ = net.SplitHostPort(addr)
			}
		}
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	configs := opts.Configs
	if len(configs) == 0 {
		configs = []string{"collector-config.yaml"}
	}
	var args []string
	for _, c := range append(configs, jsonLogs) {
		if !strings.HasPrefix(c, "yaml:") && !filepath.IsAbs(c) {
			if c, err = RepoPath(c); err != nil {
				return nil, err
			}
		}
		args = append(args, "--config", c)
	}
	if opts.FeatureGates != "" {
		args = append(args, "--feature-gates="+opts.FeatureGates)
	}
	if opts.LogPath == "" {
		f, err := os.CreateTemp("", "otelcol-dummymetrics-*.log")
		if err != nil {
			return nil, err
		}
		opts.LogPath = f.Name()
		f.Close()
	}
	environ := os.Environ()
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	proc, err := startProcess("the collector", opts.LogPath, nil, environ, opts.Binary, args...)
	if err != nil {
		return nil, err
	}
	c := &Collector{
		process:      proc,
		TelemetryURL: "http://" + net.JoinHostPort(env["TELEMETRY_HOST"], env["TELEMETRY_PORT"]) + "/metrics",
		HealthURL:    "http://" + env["HEALTH_CHECK_ENDPOINT"] + "/",
		PprofURL:     "http://" + env["PPROF_ENDPOINT"] + "/debug/pprof/",
	}
	if !opts.NoWait {
		if err := c.waitReady(ctx, c.HealthURL, time.Minute); err != nil {
			_, _ = c.Stop(10 * time.Second)
			return nil, err
		}
	}
	return c, nil
}

// Telemetry scrapes the collector's own metrics.
func (c *Collector) Telemetry(ctx context.Context) (Metrics, error) {
	return Scrape(ctx, c.TelemetryURL)
}

// Logged decodes the collector's log.
func (c *Collector) Logged() Log { return ParseLog(c.Log()) }

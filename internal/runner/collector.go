// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	// Env is the collector's settings; of the runner's own environment it gets
	// only what PassedEnv lets through.
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

// JSONLogs makes the collector log JSON lines without sampling, which the runner
// decodes: every failed batch and request is a line of its own. Members started
// elsewhere (StartMembers) add it to the configuration they are given.
const JSONLogs = "yaml:service::telemetry::logs: {encoding: json, sampling: {enabled: false}}"

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
	for _, c := range append(configs, JSONLogs) {
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
	environ := PassedEnv(os.Environ())
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

// PassedEnv keeps of an environment what the collector needs from the runner's:
// the AWS credential chain (AWS_*, HOME for ~/.aws), TLS roots and HTTP proxies,
// and PATH, TMPDIR and TZ. The collector's own settings (GENERATOR_*, SINK_*,
// ...) and the Go runtime's (GOMAXPROCS, GOMEMLIMIT, GOGC, GODEBUG) change what
// a run measures, so they reach it only when a command passes them on.
func PassedEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch upper := strings.ToUpper(name); {
		case strings.HasPrefix(name, "AWS_"),
			slices.Contains([]string{"HOME", "PATH", "TMPDIR", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"}, name),
			slices.Contains([]string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}, upper):
			out = append(out, kv)
		}
	}
	return out
}

// Telemetry scrapes the collector's own metrics.
func (c *Collector) Telemetry(ctx context.Context) (Metrics, error) {
	return Scrape(ctx, c.TelemetryURL)
}

// Logged decodes the collector's log.
func (c *Collector) Logged() Log { return ParseLog(c.Log()) }

var _ Member = (*Collector)(nil)

// goRuntimeSettings are the Go runtime's variables that change how the collector runs.
var goRuntimeSettings = []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG"}

// SettingsIn returns the collector settings that environ sets: the variables the
// shipped configuration files read (${env:NAME}), and the Go runtime's. The
// runner's own (the write URL, the telemetry ports) are left out.
func SettingsIn(environ []string) (map[string]string, error) {
	known := map[string]bool{}
	for _, name := range goRuntimeSettings {
		known[name] = true
	}
	err := eachShippedConfig(func(b []byte) {
		for _, m := range envReference.FindAllSubmatch(b, -1) {
			known[string(m[1])] = true
		}
	})
	if err != nil {
		return nil, err
	}
	for _, own := range []string{"PROMETHEUS_WRITE_URL", "AWS_REGION", "TELEMETRY_HOST", "TELEMETRY_PORT", "HEALTH_CHECK_ENDPOINT", "PPROF_ENDPOINT"} {
		delete(known, own)
	}
	out := map[string]string{}
	for _, kv := range environ {
		if name, value, _ := strings.Cut(kv, "="); known[name] {
			out[name] = value
		}
	}
	return out, nil
}

var envReference = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)`)

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// PrometheusOptions configure a local Prometheus.
type PrometheusOptions struct {
	// Binary is the prometheus executable; empty means PrometheusBinary().
	Binary string
	// Addr is the listen address; empty picks a free loopback port.
	Addr string
	// OutOfOrderWindow lets the TSDB accept samples up to this old, out of order.
	OutOfOrderWindow time.Duration
	// AcceptRW2 makes the remote-write receiver accept remote-write 2.0 as well as 1.0.
	AcceptRW2 bool
}

// Prometheus is a running Prometheus with its remote-write receiver, on loopback,
// with its data and log in a throwaway folder that Stop removes.
type Prometheus struct {
	*process
	// URL is the base URL, e.g. http://127.0.0.1:9090, which is also the base of
	// its query API; WriteURL is the remote-write endpoint.
	URL, WriteURL string
	dir           string
}

// StartPrometheus starts Prometheus and waits until it is ready.
func StartPrometheus(ctx context.Context, opts PrometheusOptions) (*Prometheus, error) {
	var err error
	if opts.Binary == "" {
		if opts.Binary, err = PrometheusBinary(); err != nil {
			return nil, err
		}
	}
	if opts.Addr == "" {
		if opts.Addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "otelcol-dummymetrics-prometheus-")
	if err != nil {
		return nil, err
	}
	config := "# No scrape jobs: only what remote write brings.\nglobal: {}\n"
	if opts.OutOfOrderWindow > 0 {
		config += fmt.Sprintf("storage:\n  tsdb:\n    out_of_order_time_window: %s\n", opts.OutOfOrderWindow)
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address=" + opts.Addr,
		"--web.enable-remote-write-receiver",
	}
	if opts.AcceptRW2 {
		args = append(args, "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
			"--web.remote-write-receiver.accepted-protobuf-messages=io.prometheus.write.v2.Request")
	}
	proc, err := startProcess("prometheus", filepath.Join(dir, "prometheus.log"), nil, os.Environ(), opts.Binary, args...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Prometheus{process: proc, URL: "http://" + opts.Addr, WriteURL: "http://" + opts.Addr + "/api/v1/write", dir: dir}
	if err := p.waitReady(ctx, p.URL+"/-/ready", time.Minute); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w (is something else listening on %s?)", err, opts.Addr)
	}
	return p, nil
}

// Stop terminates Prometheus and removes its data and log.
func (p *Prometheus) Stop() error {
	_, err := p.process.Stop(30 * time.Second)
	if rmErr := os.RemoveAll(p.dir); err == nil {
		err = rmErr
	}
	return err
}

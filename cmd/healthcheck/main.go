// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command healthcheck is the container image's health probe, for orchestrators that
// probe by running a command inside the container (an ECS container health check,
// a Docker HEALTHCHECK): the image is distroless, with no shell, curl or wget. It asks
// the collector's health_check extension, at HEALTH_CHECK_ENDPOINT (the variable
// collector-config.yaml reads), and exits 0 when it answers 200, 1 otherwise.
//
// A wildcard listen address (0.0.0.0:13133, the image's default) is probed on
// 127.0.0.1. It uses only the standard library, so the Dockerfile builds this one
// file without the repository's module: keep it a single file.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

const defaultEndpoint = "127.0.0.1:13133"

func main() {
	if err := probe(os.Getenv("HEALTH_CHECK_ENDPOINT"), 3*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// probeURL turns the health_check extension's listen address into the URL to probe.
func probeURL(endpoint string) (string, error) {
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return "", fmt.Errorf("HEALTH_CHECK_ENDPOINT %q is not host:port: %w", endpoint, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/", nil
}

// probe returns nil when the health check at endpoint answers 200 within timeout.
func probe(endpoint string, timeout time.Duration) error {
	url, err := probeURL(endpoint)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, body)
	}
	return nil
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// RepoPath returns a path under the repository's top folder: the nearest parent of
// the working directory that holds builder-config.yaml.
func RepoPath(elem ...string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return filepath.Join(append([]string{dir}, elem...)...), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("builder-config.yaml not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

// CollectorBinary is the distribution that `make build` builds; OTELCOL_BINARY overrides it.
func CollectorBinary() (string, error) {
	return binary("OTELCOL_BINARY", "make build", "_build", "otelcol-dummymetrics")
}

// PrometheusBinary is the Prometheus that the Makefile installs; PROMETHEUS_BINARY overrides it.
func PrometheusBinary() (string, error) {
	return binary("PROMETHEUS_BINARY", "make prometheus", ".tools", "bin", "prometheus")
}

func binary(envVar, makeTarget string, elem ...string) (string, error) {
	path := os.Getenv(envVar)
	if path == "" {
		var err error
		if path, err = RepoPath(elem...); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is missing (run `%s`, or set %s): %w", path, makeTarget, envVar, err)
	}
	return path, nil
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

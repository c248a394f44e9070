// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// Ports FreeAddr has handed out; each is given once per process.
var (
	pickedMu sync.Mutex
	picked   = map[int]bool{}
)

// FreeAddr returns a loopback address whose port is free now and that no earlier
// call returned. A port asked of the kernel (port 0) comes from its ephemeral
// range, where any outgoing connection or another test's listener can take it
// before the process it is meant for binds it: with e2e tests in parallel that
// happened. So the port is drawn below that range (32768-60999 on Linux,
// 49152-65535 elsewhere), where only explicit binds go.
func FreeAddr() (string, error) {
	pickedMu.Lock()
	defer pickedMu.Unlock()
	const lowest, count = 20000, 12000
	for range 200 {
		port := lowest + rand.IntN(count)
		if picked[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		picked[port] = true
		return l.Addr().String(), nil
	}
	return "", fmt.Errorf("no free port on 127.0.0.1 between %d and %d after 200 tries", lowest, lowest+count-1)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

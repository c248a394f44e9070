// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package repo locates this repository and the binaries its Makefile builds and
// installs, for the end-to-end tests and the commands of the repository.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Root returns the repository's top folder: the nearest parent of the working
// directory that holds builder-config.yaml.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("builder-config.yaml not found above the working directory")
		}
		dir = parent
	}
}

// Path returns a path under the repository's top folder.
func Path(elem ...string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{root}, elem...)...), nil
}

// CollectorBinary is the distribution that `make build` builds; OTELCOL_BINARY overrides it.
func CollectorBinary() (string, error) {
	return binary("OTELCOL_BINARY", "make build", "_build", "otelcol-dummymetrics")
}

// PrometheusBinary is the Prometheus that the Makefile installs; PROMETHEUS_BINARY overrides it.
func PrometheusBinary() (string, error) {
	return binary("PROMETHEUS_BINARY", "make prometheus", ".tools", "bin", "prometheus")
}

// OCBBinary is the ocb (the collector builder) that the Makefile installs at its
// OCB_VERSION; OCB_BINARY overrides it.
func OCBBinary() (string, error) {
	return binary("OCB_BINARY", "make build", ".tools", "bin", "builder")
}

func binary(envVar, makeTarget string, elem ...string) (string, error) {
	path := os.Getenv(envVar)
	if path == "" {
		var err error
		if path, err = Path(elem...); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is missing (run `%s`, or set %s): %w", path, makeTarget, envVar, err)
	}
	return path, nil
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ampload/otelcol-dummymetrics/internal/deployspec"
	"github.com/ampload/otelcol-dummymetrics/internal/repo"
)

// root is the repository's top folder.
func root(t *testing.T) string {
	t.Helper()
	dir, err := repo.Root()
	require.NoError(t, err)
	return dir
}

// readRepoFile returns the content of a file of the repository.
func readRepoFile(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{root(t)}, elem...)...))
	require.NoError(t, err)
	return string(b)
}

// builderConfig is the part of builder-config.yaml (the ocb manifest) the tests read.
type builderConfig struct {
	Dist struct {
		Name       string `yaml:"name"`
		OutputPath string `yaml:"output_path"`
		Version    string `yaml:"version"`
	} `yaml:"dist"`
	Receivers  []builderComponent `yaml:"receivers"`
	Processors []builderComponent `yaml:"processors"`
	Exporters  []builderComponent `yaml:"exporters"`
	Extensions []builderComponent `yaml:"extensions"`
	Connectors []builderComponent `yaml:"connectors"`
	Providers  []builderComponent `yaml:"providers"`
}

type builderComponent struct {
	GoMod string `yaml:"gomod"`
	Path  string `yaml:"path"`
}

// localPaths are the path: entries of the manifest: folders the build needs.
func (c builderConfig) localPaths() []string {
	var paths []string
	for _, list := range [][]builderComponent{c.Receivers, c.Processors, c.Exporters, c.Extensions, c.Connectors, c.Providers} {
		for _, comp := range list {
			if comp.Path != "" {
				paths = append(paths, comp.Path)
			}
		}
	}
	return paths
}

func readBuilderConfig(t *testing.T) builderConfig {
	t.Helper()
	var cfg builderConfig
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "builder-config.yaml")), &cfg))
	require.NotEmpty(t, cfg.Dist.Name, "builder-config.yaml: dist.name")
	require.NotEmpty(t, cfg.Dist.OutputPath, "builder-config.yaml: dist.output_path")
	return cfg
}

// makeVar returns the value the Makefile gives a variable (NAME := value).
func makeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*[:?]?=[ \t]*(\S.*?)[ \t]*$`).
		FindStringSubmatch(readRepoFile(t, "Makefile"))
	require.NotNil(t, m, "the Makefile sets no %s", name)
	return m[1]
}

// goMinor returns go.mod's go directive as major.minor, e.g. 1.26.
func goMinor(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(?:\.\d+)?\s*$`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	require.NotNil(t, m, "go.mod has no go directive")
	return m[1]
}

// shippedConfigs are the collector-config*.yaml files at the top of the repository.
func shippedConfigs(t *testing.T) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(root(t), "collector-config*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, filepath.Base(m))
	}
	sort.Strings(names)
	return names
}

// configEnvVars are the variables the shipped collector configuration files read.
func configEnvVars(t *testing.T) map[string]string {
	t.Helper()
	paths := make([]string, 0, 4)
	for _, name := range shippedConfigs(t) {
		paths = append(paths, filepath.Join(root(t), name))
	}
	vars, err := deployspec.ConfigEnvVars(paths...)
	require.NoError(t, err)
	return vars
}

// assertMentions checks that a document mentions a string, without printing the
// whole document when it does not.
func assertMentions(t *testing.T, doc, docName, want, what string) {
	t.Helper()
	if !strings.Contains(doc, want) {
		t.Errorf("%s must name %s: %q is missing", docName, what, want)
	}
}

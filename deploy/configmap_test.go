// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ampload/otelcol-dummymetrics/internal/deployspec"
)

var update = flag.Bool("update", false, "rewrite deploy/eks/configmap.yaml from the shipped configuration files")

const (
	configMapFile = "configmap.yaml"
	configMapName = "otelcol-dummymetrics-config"
)

// configMapFiles are the shipped files the EKS ConfigMap carries, unchanged.
var configMapFiles = []string{"collector-config.yaml", "collector-config-amp.yaml"}

// renderConfigMap writes the ConfigMap of the shipped configuration files.
func renderConfigMap(t *testing.T) []byte {
	t.Helper()
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	data := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range configMapFiles {
		content := readRepoFile(t, name)
		data.Content = append(data.Content, str(name), &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.LiteralStyle, Value: content})
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("apiVersion"), str("v1"),
		str("kind"), str("ConfigMap"),
		str("metadata"), {Kind: yaml.MappingNode, Content: []*yaml.Node{
			str("name"), str(configMapName),
			str("labels"), {Kind: yaml.MappingNode, Content: []*yaml.Node{
				str("app.kubernetes.io/name"), str("otelcol-dummymetrics"),
			}},
		}},
		str("data"), data,
	}}
	var buf bytes.Buffer
	buf.WriteString("# The shipped collector-config.yaml and collector-config-amp.yaml, unchanged, for the\n" +
		"# Deployment and the StatefulSet, which mount them at /etc/otelcol-dummymetrics/.\n" +
		"# Generated: do not edit. After changing the shipped files, run\n" +
		"#   go test ./deploy -run TestConfigMapCarriesTheShippedFiles -update\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	require.NoError(t, enc.Encode(doc))
	require.NoError(t, enc.Close())
	return buf.Bytes()
}

func TestConfigMapCarriesTheShippedFiles(t *testing.T) {
	path := filepath.Join(root(t), "deploy", "eks", configMapFile)
	if *update {
		require.NoError(t, os.WriteFile(path, renderConfigMap(t), 0o644))
	}
	objs, err := deployspec.ReadK8s(path)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	cm := objs[0]
	require.Equal(t, "ConfigMap", cm.Kind)
	assert.Equal(t, configMapName, cm.Metadata.Name)

	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, configMapFiles, keys, "the ConfigMap's files")
	for _, name := range configMapFiles {
		// Byte for byte: the ConfigMap must not drift from the files the image ships.
		assert.Equal(t, readRepoFile(t, name), cm.Data[name],
			"deploy/eks/%s differs from %s: run `go test ./deploy -run TestConfigMapCarriesTheShippedFiles -update`", configMapFile, name)
	}
}

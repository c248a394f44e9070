// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ampload/otelcol-dummymetrics/internal/deployspec"
)

// statefulSet returns the scale-out StatefulSet, its init container and the collector.
func statefulSet(t *testing.T) (deployspec.K8sObject, deployspec.Container, deployspec.Container) {
	t.Helper()
	objs, err := deployspec.ReadK8s(filepath.Join(root(t), "deploy", "eks", "statefulset.yaml"))
	require.NoError(t, err)
	sts, err := deployspec.Find(objs, "StatefulSet", readBuilderConfig(t).Dist.Name)
	require.NoError(t, err)
	pod := sts.Spec.Template.Spec
	require.Len(t, pod.InitContainers, 1, "one init container computes the instance offset")
	require.Len(t, pod.Containers, 1, "the collector alone")
	return sts, pod.InitContainers[0], pod.Containers[0]
}

// offsetOverlay is what the init container writes.
type offsetOverlay struct {
	Receivers struct {
		Dummymetrics map[string]int64 `yaml:"dummymetrics"`
	} `yaml:"receivers"`
}

// runInitScript runs the init container's script with sh, as the container would.
func runInitScript(t *testing.T, init deployspec.Container, env map[string]string) (offsetOverlay, string, error) {
	t.Helper()
	require.Len(t, init.Command, 3)
	require.Equal(t, []string{"sh", "-c"}, init.Command[:2], "the init container runs a shell script")
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	overlay := filepath.Join(t.TempDir(), "instance-offset.yaml")
	cmd := exec.Command(sh, "-c", init.Command[2])
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OVERLAY_FILE=" + overlay}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var o offsetOverlay
	if err == nil {
		b, readErr := os.ReadFile(overlay)
		require.NoError(t, readErr)
		require.NoError(t, yaml.Unmarshal(b, &o), "%s", b)
	}
	return o, string(out), err
}

func TestStatefulSetPodsOwnDisjointInstances(t *testing.T) {
	sts, init, collector := statefulSet(t)
	require.NotNil(t, sts.Spec.Replicas)
	assert.Greater(t, *sts.Spec.Replicas, 1, "scale-out: several replicas")

	n, ok := init.EnvValue("GENERATOR_INSTANCES")
	require.True(t, ok, "the init container sets N, the instances of each pod")
	instances, err := strconv.Atoi(n)
	require.NoError(t, err)

	// Each variable of the init container is one its script reads.
	for _, e := range init.Env {
		assert.Regexp(t, `\$\{?`+regexp.QuoteMeta(e.Name)+`\b`, init.Command[2], "the init script does not read %s", e.Name)
	}
	var podIndexFrom string
	for _, e := range init.Env {
		if e.Name == "POD_INDEX" {
			ref, _ := e.ValueFrom["fieldRef"].(map[string]any)
			podIndexFrom, _ = ref["fieldPath"].(string)
		}
	}
	assert.Equal(t, "metadata.labels['apps.kubernetes.io/pod-index']", podIndexFrom, "POD_INDEX comes from the pod-index label")

	// Pod k owns [k*N, (k+1)*N): from the label, or from the host name's ordinal.
	for k := range 12 {
		env := map[string]string{"POD_INDEX": strconv.Itoa(k), "HOSTNAME": "ignored-99", "GENERATOR_INSTANCES": n}
		if k%2 == 1 {
			env = map[string]string{"HOSTNAME": "otelcol-dummymetrics-" + strconv.Itoa(k), "GENERATOR_INSTANCES": n}
		}
		o, out, err := runInitScript(t, init, env)
		require.NoError(t, err, out)
		assert.Equal(t, map[string]int64{"instances": int64(instances), "instance_offset": int64(k * instances)},
			o.Receivers.Dummymetrics, "pod %d (%v)", k, env)
	}

	// It refuses what it cannot compute, saying why.
	for _, bad := range []map[string]string{
		{"POD_INDEX": "x", "GENERATOR_INSTANCES": n},
		{"HOSTNAME": "no-ordinal", "GENERATOR_INSTANCES": n},
		{"POD_INDEX": "1", "GENERATOR_INSTANCES": "0"},
		{"POD_INDEX": "1"},
	} {
		_, out, err := runInitScript(t, init, bad)
		assert.Error(t, err, "%v: %s", bad, out)
		assert.Regexp(t, `instance-offset: |GENERATOR_INSTANCES`, out, "%v", bad)
	}

	// The collector reads the overlay, last, from the volume the init container writes.
	overlayFile, ok := init.EnvValue("OVERLAY_FILE")
	require.True(t, ok)
	require.NotEmpty(t, collector.Args)
	assert.Equal(t, overlayFile, collector.Args[len(collector.Args)-1], "the overlay is the last --config, so it wins")
	volumeAt := func(c deployspec.Container, dir string) string {
		for _, m := range c.VolumeMounts {
			if m.MountPath == dir {
				return m.Name
			}
		}
		return ""
	}
	dir := path.Dir(overlayFile)
	require.NotEmpty(t, volumeAt(init, dir), "the init container mounts nothing at %s", dir)
	assert.Equal(t, volumeAt(init, dir), volumeAt(collector, dir), "both containers must share the volume at %s", dir)

	// The overlay sets the instances: the collector's own variables for them would be
	// silently overridden.
	for _, name := range []string{"GENERATOR_INSTANCES", "GENERATOR_INSTANCE_OFFSET"} {
		_, set := collector.EnvValue(name)
		assert.False(t, set, "the collector container sets %s, which the overlay overrides", name)
	}
	parallelism, ok := collector.EnvValue("GENERATOR_PARALLELISM")
	if !ok {
		parallelism = configEnvVars(t)["GENERATOR_PARALLELISM"]
	}
	p, err := strconv.Atoi(parallelism)
	require.NoError(t, err)
	assert.Zero(t, instances%p, "GENERATOR_PARALLELISM (%d) must divide the init container's GENERATOR_INSTANCES (%d)", p, instances)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
	"github.com/ampload/otelcol-dummymetrics/internal/deployspec"
	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
)

// TestStatefulSetPodOwnsItsInstances plays one pod of deploy/eks/statefulset.yaml:
// its init container's script (run with sh) writes the offset overlay for pod 2,
// and the collector runs with the pod's arguments (the shipped main configuration,
// the AMP overlay and the offset overlay, in the manifest's order) and environment,
// against a local Prometheus instead of AMP. Prometheus must hold exactly the
// series of instances [2N, 3N), and every sample emitted.
func TestStatefulSetPodOwnsItsInstances(t *testing.T) {
	const (
		podIndex = 2
		n        = 6 // instances per pod, a multiple of the manifest's GENERATOR_PARALLELISM
	)
	ctx := context.Background()
	manifest := shippedConfig(t, filepath.Join("deploy", "eks", "statefulset.yaml"))
	objs, err := deployspec.ReadK8s(manifest)
	require.NoError(t, err)
	sts, err := deployspec.Find(objs, "StatefulSet", "otelcol-dummymetrics")
	require.NoError(t, err)
	init, err := sts.Spec.Template.Spec.ContainerNamed("instance-offset")
	require.NoError(t, err)
	collector, err := sts.Spec.Template.Spec.ContainerNamed("otelcol-dummymetrics")
	require.NoError(t, err)

	// The init container, as the pod runs it, writing into a temporary folder.
	overlayFile, ok := init.EnvValue("OVERLAY_FILE")
	require.True(t, ok)
	overlay := filepath.Join(t.TempDir(), filepath.Base(overlayFile))
	require.Len(t, init.Command, 3)
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	script := exec.Command(sh, "-c", init.Command[2])
	script.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"POD_INDEX=" + strconv.Itoa(podIndex),
		"HOSTNAME=otelcol-dummymetrics-" + strconv.Itoa(podIndex),
		"GENERATOR_INSTANCES=" + strconv.Itoa(n),
		"OVERLAY_FILE=" + overlay,
	}
	out, err := script.CombinedOutput()
	require.NoError(t, err, "the init container's script: %s", out)

	// The collector container's arguments, with the image's folders mapped to the
	// repository's files (which the ConfigMap carries unchanged) and the overlay.
	var configs []string
	for i := 0; i < len(collector.Args); i++ {
		if collector.Args[i] != "--config" {
			continue
		}
		i++
		if collector.Args[i] == overlayFile {
			configs = append(configs, overlay)
		} else {
			configs = append(configs, shippedConfig(t, filepath.Base(collector.Args[i])))
		}
	}
	require.Len(t, configs, 3, "main configuration, AMP overlay, offset overlay: %v", collector.Args)

	env := map[string]string{}
	for _, e := range collector.Env {
		env[e.Name] = e.Value
	}
	// A local Prometheus instead of the workspace; static test credentials for the
	// SigV4 extension, which signs requests Prometheus does not check.
	prom := startPrometheus(t, promserver.Options{})
	env["PROMETHEUS_WRITE_URL"] = prom.WriteURL
	env["AWS_REGION"] = "eu-west-1"
	env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
	env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	env["AWS_EC2_METADATA_DISABLED"] = "true"
	env["GENERATOR_PAUSE"] = "20ms"
	col := startCollector(t, env, configs...)

	time.Sleep(6 * time.Second)
	code, err := col.Stop(60 * time.Second)
	require.NoError(t, err)
	require.Zero(t, code)
	log := col.Log()
	assert.Empty(t, collectorproc.WarningsAndErrors(log))
	summaries := collectorproc.Summaries(log)
	require.Len(t, summaries, 1)
	emitted := summaries[0].Emitted
	assert.Positive(t, emitted)

	series, err := prom.RawSamples(ctx, `{__name__=~".+"}`, time.Hour)
	require.NoError(t, err)
	ids := map[string]int{}
	var stored int64
	for _, s := range series {
		ids[s.Labels["InstanceId"]]++
		stored += int64(len(s.Samples))
	}
	want := map[string]int{}
	for i := podIndex * n; i < (podIndex+1)*n; i++ {
		want[fmt.Sprintf("I%010d", i)] = 2
	}
	assert.Equal(t, want, ids, "pod %d owns exactly the instances [%d, %d)", podIndex, podIndex*n, (podIndex+1)*n)
	assert.Equal(t, emitted, stored, "samples emitted and stored")
}

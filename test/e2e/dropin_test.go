// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

const receiverModule = "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

// dropinBlocks returns the YAML blocks of docs/dropin.md that the tests build and
// run: each follows a comment line naming this file. In order: the ocb manifest,
// the debug configuration, the remote-write pipeline.
func dropinBlocks(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(shippedConfig(t, filepath.Join("docs", "dropin.md")))
	require.NoError(t, err)
	var blocks []string
	lines := strings.Split(string(doc), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "<!-- e2e/dropin_test.go") {
			continue
		}
		require.Less(t, i+1, len(lines))
		require.Equal(t, "```yaml", lines[i+1], "docs/dropin.md:%d: a ```yaml block must follow the marker", i+2)
		var block []string
		for i += 2; i < len(lines) && lines[i] != "```"; i++ {
			block = append(block, lines[i])
		}
		blocks = append(blocks, strings.Join(block, "\n")+"\n")
	}
	require.Len(t, blocks, 3, "docs/dropin.md: the manifest, the debug configuration and the remote-write pipeline")
	return blocks
}

// TestDropInReceiver builds a collector of someone else's with the pinned ocb: the
// manifest of docs/dropin.md, which names the receiver by its module path with a
// replaces entry pointing at this checkout, next to core's debug exporter and
// nothing else of this distribution. It then runs the debug configuration of
// docs/dropin.md and reads the generated points in the debug exporter's output.
func TestDropInReceiver(t *testing.T) {
	ocb, err := ocbBinary()
	require.NoError(t, err)
	receiverDir, err := runner.RepoPath("receiver", "dummymetricsreceiver")
	require.NoError(t, err)
	blocks := dropinBlocks(t)

	// The manifest, as a user would adapt it: the checkout's path, an output folder.
	var manifest map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(blocks[0]), &manifest))
	keys := make([]string, 0, len(manifest))
	for k := range manifest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Equal(t, []string{"dist", "exporters", "receivers", "replaces"}, keys,
		"the manifest has the receiver, the debug exporter and nothing else of this distribution")
	assert.Equal(t, []any{map[string]any{"gomod": receiverModule + " v0.0.0"}}, manifest["receivers"],
		"the receiver is named by its module, without path:")
	assert.Equal(t, []any{map[string]any{"gomod": "go.opentelemetry.io/collector/exporter/debugexporter v0.165.0"}}, manifest["exporters"])
	replaces, ok := manifest["replaces"].([]any)
	require.True(t, ok)
	require.Len(t, replaces, 1)
	const placeholder = "/path/to/otelcol-dummymetrics/receiver/dummymetricsreceiver"
	require.Equal(t, receiverModule+" => "+placeholder, replaces[0])
	manifest["replaces"] = []any{receiverModule + " => " + receiverDir}
	dir := t.TempDir()
	dist, ok := manifest["dist"].(map[string]any)
	require.True(t, ok)
	dist["output_path"] = filepath.Join(dir, "build")
	b, err := yaml.Marshal(manifest)
	require.NoError(t, err)
	require.NotContains(t, string(b), "opentelemetry-collector-contrib", "no contrib component")
	require.NotRegexp(t, `(?m)^\s*(- )?path:`, string(b), "no path: entry")
	manifestPath := filepath.Join(dir, "manifest.yaml")
	require.NoError(t, os.WriteFile(manifestPath, b, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	build := exec.CommandContext(ctx, ocb, "--config", manifestPath)
	build.Dir = dir
	out, err := build.CombinedOutput()
	require.NoError(t, err, "ocb: %s", out)
	t.Logf("ocb built the drop-in collector in %s", time.Since(start).Round(time.Second))
	bin := filepath.Join(dir, "build", dist["name"].(string))
	require.FileExists(t, bin)

	// Its components: the receiver and the debug exporter, from core and this checkout.
	components, err := exec.Command(bin, "components").CombinedOutput()
	require.NoError(t, err, "%s", components)
	assert.Contains(t, string(components), "dummymetrics")
	assert.Contains(t, string(components), "debug")
	assert.NotContains(t, string(components), "prometheus_remote_write")

	// Run the debug configuration until every instance and both metrics were printed.
	config := filepath.Join(dir, "dummy.yaml")
	require.NoError(t, os.WriteFile(config, []byte(blocks[1]), 0o600))
	logPath := filepath.Join(dir, "collector.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close()
	// No telemetry endpoint: port 8888 may be taken on a shared machine.
	run := exec.Command(bin, "--config", config, "--config", "yaml:service::telemetry::metrics::level: none")
	run.Stdout, run.Stderr = logFile, logFile
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, run.Start())
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = run.Process.Kill()
			if err := <-exited; err != nil {
				t.Logf("the drop-in collector was killed: %v", err)
			}
		}
	})

	wantIDs := []string{"I0000000100", "I0000000101", "I0000000102", "I0000000103"}
	seen := func() []string {
		b, _ := os.ReadFile(logPath)
		var missing []string
		wants := []string{"-> Name: CPU", "-> Name: Memory"}
		for _, id := range wantIDs {
			wants = append(wants, "-> InstanceId: Str("+id+")")
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				missing = append(missing, want)
			}
		}
		return missing
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(seen()) > 0 && time.Now().Before(deadline) {
		select {
		case err := <-exited:
			stopped = true
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the drop-in collector exited: %v\n%s", err, b)
		case <-time.After(200 * time.Millisecond):
		}
	}
	require.NoError(t, run.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		stopped = true
		require.NoError(t, err, "a SIGTERM ends the collector cleanly")
	case <-time.After(60 * time.Second):
		t.Fatal("the drop-in collector did not stop within 60 s of SIGTERM")
	}
	logBytes, err := os.ReadFile(logPath)
	require.NoError(t, err)
	log := string(logBytes)
	require.Empty(t, seen(), "the debug output must show every instance and both metrics:\n%s", tail(log, 4000))

	// Exactly the configured instances, as point attributes; gauges in [0, 1).
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`-> InstanceId: Str\((I\d{10})\)`).FindAllStringSubmatch(log, -1) {
		ids[m[1]] = true
	}
	got := make([]string, 0, len(ids))
	for id := range ids {
		got = append(got, id)
	}
	sort.Strings(got)
	assert.Equal(t, wantIDs, got, "instance_offset 100, 4 instances")
	assert.NotContains(t, log, "-> DataType: Sum")
	assert.Contains(t, log, "-> DataType: Gauge")
	points := 0
	scanner := bufio.NewScanner(strings.NewReader(log))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	valueLine := regexp.MustCompile(`^Value: (\S+)$`)
	for scanner.Scan() {
		if m := valueLine.FindStringSubmatch(scanner.Text()); m != nil {
			points++
			var v float64
			_, err := fmt.Sscanf(m[1], "%g", &v)
			require.NoError(t, err, scanner.Text())
			assert.True(t, v >= 0 && v < 1, "value %v outside [0, 1)", v)
		}
	}

	// Every point the receiver emitted was printed, to the point. (This
	// collector logs to the console: the debug exporter's output is multi-line.)
	emitted := regexp.MustCompile(`Stopped generating dummy metrics.*"emitted_samples": (\d+)`).FindAllStringSubmatch(log, -1)
	require.Len(t, emitted, 1, "the receiver reports what it emitted when it stops")
	assert.NotEqual(t, "0", emitted[0][1])
	assert.Equal(t, emitted[0][1], strconv.Itoa(points), "points emitted and printed by the debug exporter")
	t.Logf("the drop-in collector printed %d points of %v", points, got)
}

// TestDropInRemoteWritePipeline runs the remote-write pipeline of docs/dropin.md,
// merged into nothing else, with this distribution (which has the components it
// needs) against a local Prometheus: the series must be exactly the original's,
// CPU and Memory with the one label InstanceId.
func TestDropInRemoteWritePipeline(t *testing.T) {
	block := dropinBlocks(t)[2]
	config := filepath.Join(t.TempDir(), "pipeline.yaml")
	require.NoError(t, os.WriteFile(config, []byte(block), 0o600))
	telemetryAddr, err := runner.FreeAddr()
	require.NoError(t, err)
	host, port, _ := strings.Cut(telemetryAddr, ":")
	telemetry := filepath.Join(t.TempDir(), "telemetry.yaml")
	require.NoError(t, os.WriteFile(telemetry, []byte(fmt.Sprintf(
		"service:\n  telemetry:\n    metrics:\n      readers:\n        - pull:\n            exporter:\n              prometheus:\n                host: %s\n                port: %s\n", host, port)), 0o600))

	prom := startPrometheus(t, runner.PrometheusOptions{})
	proc := runCollector(t, runner.CollectorOptions{
		// A shorter pause than the default 100 ms: all 120 series arrive in seconds.
		Configs: []string{config, telemetry, "yaml:receivers::dummymetrics::pause: 5ms"},
		Env: map[string]string{
			"PROMETHEUS_WRITE_URL":      prom.WriteURL,
			"AWS_REGION":                "eu-west-1",
			"AWS_ACCESS_KEY_ID":         "AKIDEXAMPLE",
			"AWS_SECRET_ACCESS_KEY":     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
			"AWS_EC2_METADATA_DISABLED": "true",
		},
		NoWait: true,
	})
	q := querier(t, prom)

	// The pipeline has no health check: wait for all 120 series to arrive.
	deadline := time.Now().Add(90 * time.Second)
	var count float64
	for time.Now().Before(deadline) {
		count, err = q.Scalar(t.Context(), `count({__name__=~".+"})`, time.Now().Add(5*time.Second))
		require.NoError(t, err)
		if count >= 120 {
			break
		}
		select {
		case <-proc.Exited():
			t.Fatalf("the collector exited:\n%s", proc.Log())
		case <-time.After(500 * time.Millisecond):
		}
	}
	code, err := proc.Stop(60 * time.Second)
	require.NoError(t, err)
	require.Zero(t, code)

	series := storedSeries(t, prom, `{__name__=~".+"}`)
	require.Len(t, series, 120, "2 series for each of the 60 instances")
	var stored int64
	for _, s := range series {
		labels := make([]string, 0, len(s.Metric))
		for name := range s.Metric {
			labels = append(labels, string(name))
		}
		sort.Strings(labels)
		require.Equal(t, []string{"InstanceId", "__name__"}, labels, "no target_info, job, instance or otel_scope_* label: %v", s.Metric)
		require.Contains(t, []string{"CPU", "Memory"}, string(s.Metric["__name__"]))
		stored += int64(len(s.Values))
	}
	assert.Equal(t, receiverReport(t, proc.Log()).Emitted, stored, "samples emitted and stored")
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// ocbBinary is the ocb (the collector builder) that the Makefile installs;
// OCB_BINARY overrides it.
func ocbBinary() (string, error) {
	if bin := os.Getenv("OCB_BINARY"); bin != "" {
		return bin, nil
	}
	return runner.RepoPath(".tools", "bin", "builder")
}

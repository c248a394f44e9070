// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// TestFullSpeedWithShippedDefaults runs the shipped files with only the pause set
// to 0 and 50,000 instances, against a local Prometheus, for 20 s, then stops the
// collector: the backend's pace holds the generator back, so nearly everything
// emitted is stored and the collector's memory stays bounded.
func TestFullSpeedWithShippedDefaults(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	col := startCollector(t, map[string]string{"PROMETHEUS_WRITE_URL": prom.WriteURL, "GENERATOR_PAUSE": "0", "GENERATOR_INSTANCES": "50000"})
	var peakRSS int64
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		u, err := runner.ProcessUsage(col.Pid())
		require.NoError(t, err)
		peakRSS = max(peakRSS, u.PeakRSS)
	}
	o := stopAndAccount(t, col, prom, 30*time.Second)

	assert.Zero(t, o.ExitCode)
	assert.Greater(t, o.Emitted, int64(1_000_000), "full speed")
	assert.GreaterOrEqual(t, float64(o.Stored), 0.99*float64(o.Emitted), "stored of emitted")
	assert.Equal(t, o.Stored, o.Appended)
	assert.Less(t, peakRSS, int64(500<<20), "the collector's peak resident memory")
	requireCleanPrometheus(t, o)
	t.Logf("pause 0, 50,000 instances, 20 s: %d emitted, %d stored (%.3f %%), %d reported lost; peak RSS %d MiB; stopped in %s",
		o.Emitted, o.Stored, 100*float64(o.Stored)/float64(o.Emitted), o.Dropped+o.Rejected, peakRSS>>20, o.StopTime.Round(10*time.Millisecond))
}

// TestRestartMakesNoRejections stops the collector and at once starts another with
// the same instances against the same Prometheus: the new one must not write a
// timestamp at or before one the old one wrote, so nothing is rejected as out of
// order or duplicate, and everything both emitted is stored.
func TestRestartMakesNoRejections(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	// Two series per worker at full speed: each runs up to a second ahead of the
	// clock (one sample per millisecond), as far as a series ever gets, and a
	// collector starts in less than that.
	env := map[string]string{"PROMETHEUS_WRITE_URL": prom.WriteURL, "GENERATOR_INSTANCES": "1", "GENERATOR_PARALLELISM": "1", "GENERATOR_PAUSE": "0"}
	var emitted int64
	for range 2 {
		col := startCollector(t, env)
		time.Sleep(4 * time.Second)
		code, err := col.Stop(30 * time.Second)
		require.NoError(t, err)
		require.Zero(t, code)
		emitted += receiverReport(t, col.Log()).Emitted
	}
	o := outcome{Stored: storedSamples(t, prom), Prom: scrapePrometheus(t, prom)}
	requireCleanPrometheus(t, o)
	assert.Equal(t, emitted, o.Stored, "every sample of both collectors stored")
}

// TestMakeRunForAMPBuildsNoPrometheus checks what `make run` would do with
// PROMETHEUS_WRITE_URL set: it starts no local Prometheus, so it must not build one.
func TestMakeRunForAMPBuildsNoPrometheus(t *testing.T) {
	root, err := runner.RepoPath()
	require.NoError(t, err)
	dryRun := func(env ...string) string {
		cmd := exec.Command("make", "-n", "run", "PROMETHEUS="+t.TempDir()+"/absent")
		cmd.Dir = root
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Contains(t, dryRun("PROMETHEUS_WRITE_URL="), "prometheus/cmd/prometheus@", "a local run installs Prometheus when it is missing")
	amp := dryRun("PROMETHEUS_WRITE_URL=https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write")
	assert.NotContains(t, amp, "prometheus/cmd/prometheus@")
	assert.Contains(t, amp, "localrun")
}

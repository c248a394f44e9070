// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// TestMakeRunReadsBackAtCtrlC runs make run's runner for a few seconds, stops it
// as Ctrl-C in a terminal does (SIGINT to the whole process group), and checks
// that it ends cleanly with the accounting line and a read-back that found every
// acknowledged sample and every written series in Prometheus.
func TestMakeRunReadsBackAtCtrlC(t *testing.T) {
	t.Parallel()
	lr := startLocalRun(t, nil)
	require.Eventually(t, func() bool {
		m, err := runner.Scrape(t.Context(), lr.telemetry)
		return err == nil && m.Sum(runner.MetricSent, nil) > 1000
	}, 30*time.Second, 200*time.Millisecond, "the collector sends")
	out := stopLocalRun(t, lr)
	assert.Regexp(t, `The receiver emitted ([\d,]+) samples: ([\d,]+) accepted by the pipeline, 0 refused; the backend acknowledged ([\d,]+), rejected 0; 0 got no answer`, out)
	m := regexp.MustCompile(`Read back: stored ([\d,]+) of ([\d,]+) samples acknowledged, (\d+) of (\d+) series written; queryable after`).FindStringSubmatch(out)
	require.NotNil(t, m, "the read-back line:\n%s", out)
	assert.Equal(t, m[2], m[1], "every acknowledged sample stored")
	assert.NotEqual(t, "0", m[1])
	assert.Equal(t, m[4], m[3], "every written series found")
	assert.Equal(t, "120", m[4], "the original sample's 60 instances, two series each")
	t.Log(m[0])
}

// TestMakeRunKilledLeavesNothingRunning kills make run's runner with SIGKILL,
// which it cannot handle: the Prometheus and the collector it started must stop
// anyway, rather than hold their ports and keep writing: by the kernel's
// parent-death signal on Linux, and by the runner's watchdog where there is
// none (macOS), forced here.
func TestMakeRunKilledLeavesNothingRunning(t *testing.T) {
	for _, watchdog := range []string{"", "1"} {
		t.Run("watchdog="+watchdog, func(t *testing.T) { killedLeavesNothingRunning(t, map[string]string{runner.WatchdogAlways: watchdog}) })
	}
}

func killedLeavesNothingRunning(t *testing.T, env map[string]string) {
	lr := startLocalRun(t, env)
	require.Eventually(t, func() bool {
		_, err := runner.Scrape(t.Context(), lr.telemetry)
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "the collector runs")
	require.NoError(t, lr.cmd.Process.Kill())
	_ = lr.cmd.Wait()
	for _, addr := range []string{lr.promAddr, strings.TrimSuffix(strings.TrimPrefix(lr.telemetry, "http://"), "/metrics")} {
		require.Eventually(t, func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = c.Close()
			}
			return err != nil
		}, 30*time.Second, 200*time.Millisecond, "nothing listens on %s once the runner is gone", addr)
	}
}

// TestMakeRunWithATenantHeader runs make run against a backend that refuses
// every write and query without its tenant's header, as Mimir does, with the
// header set from the environment: every sample is stored and read back.
func TestMakeRunWithATenantHeader(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	tenant := backend.RequireHeader("X-Scope-OrgID", "team-a", backend.Forward(prom.URL))
	srv := standIn(t, tenant)
	lr := startLocalRun(t, map[string]string{"PROMETHEUS_WRITE_URL": srv.WriteURL, "PROMETHEUS_WRITE_HEADERS": "X-Scope-OrgID: team-a, X-Other: 1"})
	require.Eventually(t, func() bool {
		m, err := runner.Scrape(t.Context(), lr.telemetry)
		return err == nil && m.Sum(runner.MetricSent, nil) > 1000
	}, 30*time.Second, 200*time.Millisecond, "the collector sends")
	head := lr.head.String()
	out := stopLocalRun(t, lr)
	assert.Contains(t, head, "Writing to "+srv.WriteURL+" with the headers X-Other, X-Scope-OrgID")
	assert.NotContains(t, head+out, "team-a", "header values are not printed")
	m := regexp.MustCompile(`Read back: stored ([\d,]+) of ([\d,]+) samples acknowledged`).FindStringSubmatch(out)
	require.NotNil(t, m, "the read-back line:\n%s", out)
	assert.Equal(t, m[2], m[1], "every acknowledged sample stored")
	assert.Zero(t, tenant.Unmet(), "no request went without the header")
	assert.Positive(t, tenant.Passed())
	assert.Positive(t, storedSamples(t, prom))
}

// stopLocalRun stops make run as Ctrl-C does and returns the rest of its output.
func stopLocalRun(t *testing.T, lr *localRun) string {
	t.Helper()
	require.NoError(t, syscall.Kill(-lr.cmd.Process.Pid, syscall.SIGINT))
	var rest strings.Builder
	for lr.out.Scan() {
		rest.WriteString(lr.out.Text() + "\n")
	}
	require.NoError(t, lr.out.Err())
	require.NoError(t, lr.cmd.Wait(), "Ctrl-C is a normal end:\n%s", rest.String())
	return rest.String()
}

// localRun is make run's runner (cmd/localrun) started by a test on free
// loopback ports, in a process group of its own as a terminal would run it.
type localRun struct {
	cmd                       *exec.Cmd
	out                       *bufio.Scanner
	page, promAddr, telemetry string
	head                      strings.Builder // the output up to the live page's line
}

// startLocalRun starts cmd/localrun with args, and reads its output up to the
// line naming the live page, which must be the address it was given.
func startLocalRun(t *testing.T, extraEnv map[string]string, args ...string) *localRun {
	t.Helper()
	env := withEnv(map[string]string{"GENERATOR_PAUSE": "1ms"}, extraEnv)
	for _, k := range []string{"TELEMETRY_PORT", "HEALTH_CHECK_ENDPOINT", "PPROF_ENDPOINT"} {
		addr, err := runner.FreeAddr()
		require.NoError(t, err)
		if k == "TELEMETRY_PORT" {
			addr = addr[strings.LastIndexByte(addr, ':')+1:]
		}
		env[k] = addr
	}
	promAddr, err := runner.FreeAddr()
	require.NoError(t, err)
	web, err := runner.FreeAddr()
	require.NoError(t, err)
	cmd := exec.Command(command(t, "localrun"), append([]string{"-prometheus-addr", promAddr, "-web", web, "-progress", "0"}, args...)...)
	cmd.Env = cmd.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return // a test waited for it
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	lr := &localRun{cmd: cmd, out: bufio.NewScanner(stdout), promAddr: promAddr, telemetry: "http://127.0.0.1:" + env["TELEMETRY_PORT"] + "/metrics"}
	// A start that hangs is stopped, which ends the read below.
	stuck := time.AfterFunc(2*time.Minute, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) })
	defer stuck.Stop()
	for lr.page == "" && lr.out.Scan() {
		lr.head.WriteString(lr.out.Text() + "\n")
		if m := regexp.MustCompile(`Live page:\s+(http://\S+)`).FindStringSubmatch(lr.out.Text()); m != nil {
			lr.page = m[1]
		}
	}
	require.NoError(t, lr.out.Err())
	require.Equal(t, "http://"+web+"/", lr.page, "the live page is named at start")
	return lr
}

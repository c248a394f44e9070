// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package collectorproc runs the otelcol-dummymetrics binary as users do, with the
// shipped configuration files and environment variables, and reads what it reports:
// its log and its own telemetry.
package collectorproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/scrape"
	"github.com/ampload/otelcol-dummymetrics/internal/waitready"
)

// ShippedFeatureGates are the feature gates every shipped way of running turns on
// (Makefile, container image, deployment examples): 429 answers are retried.
const ShippedFeatureGates = "exporter.prometheusremotewritexporter.RetryOn429"

// defaultEndpoints are the defaults of collector-config.yaml's status endpoints.
var defaultEndpoints = map[string]string{
	"HEALTH_CHECK_ENDPOINT": "127.0.0.1:13133",
	"PPROF_ENDPOINT":        "127.0.0.1:1777",
	"TELEMETRY_PORT":        "8888",
}

// Options configure a collector process.
type Options struct {
	// Binary is the otelcol-dummymetrics executable.
	Binary string
	// Configs are the configuration files, merged in order.
	Configs []string
	// Env is set on top of the parent's environment. TELEMETRY_PORT,
	// HEALTH_CHECK_ENDPOINT and PPROF_ENDPOINT get free loopback ports unless set
	// here, or unless UseDefaultPorts.
	Env map[string]string
	// UseDefaultPorts keeps the configuration's ports (or the parent's variables).
	UseDefaultPorts bool
	// FeatureGates is passed to --feature-gates; empty means ShippedFeatureGates.
	FeatureGates string
	// LogPath receives the collector's log; empty makes a temporary file.
	LogPath string
	// Output, when set, receives a copy of the log as it is written.
	Output io.Writer
}

// Process is a running collector.
type Process struct {
	TelemetryURL string
	HealthURL    string
	PprofURL     string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logPath string
	logFile *os.File
}

// Start starts the collector. With waitHealthy it returns once the health check
// answers, or with an error carrying the log when the collector exits first.
func Start(ctx context.Context, opts Options, waitHealthy bool) (*Process, error) {
	// A port picked free can be taken by another process before the collector binds
	// it; then the collector exits at once, and a second pick of ports is tried.
	for attempt := 1; ; attempt++ {
		p, err := start(ctx, opts, waitHealthy)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return p, err
		}
	}
}

func start(ctx context.Context, opts Options, waitHealthy bool) (*Process, error) {
	env := map[string]string{}
	for k, v := range opts.Env {
		env[k] = v
	}
	for key, def := range defaultEndpoints {
		if _, set := env[key]; set {
			continue
		}
		if opts.UseDefaultPorts {
			env[key] = def
			if v := os.Getenv(key); v != "" {
				env[key] = v
			}
			continue
		}
		port, err := promserver.FreePort()
		if err != nil {
			return nil, err
		}
		if key == "TELEMETRY_PORT" {
			env[key] = strconv.Itoa(port)
		} else {
			env[key] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
	}
	gates := opts.FeatureGates
	if gates == "" {
		gates = ShippedFeatureGates
	}
	args := make([]string, 0, 2*len(opts.Configs)+1)
	for _, c := range opts.Configs {
		args = append(args, "--config", c)
	}
	args = append(args, "--feature-gates="+gates)

	logPath := opts.LogPath
	if logPath == "" {
		f, err := os.CreateTemp("", "otelcol-*.log")
		if err != nil {
			return nil, err
		}
		logPath = f.Name()
		f.Close()
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(opts.Binary, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out io.Writer = logFile
	if opts.Output != nil {
		out = io.MultiWriter(logFile, opts.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &Process{
		TelemetryURL: "http://127.0.0.1:" + env["TELEMETRY_PORT"] + "/metrics",
		HealthURL:    "http://" + env["HEALTH_CHECK_ENDPOINT"] + "/",
		PprofURL:     "http://" + env["PPROF_ENDPOINT"] + "/debug/pprof/",
		cmd:          cmd,
		exited:       make(chan struct{}),
		logPath:      logPath,
		logFile:      logFile,
	}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	if waitHealthy {
		if err := p.waitHealthy(ctx, 60*time.Second); err != nil {
			_, _ = p.Stop(10 * time.Second)
			return nil, fmt.Errorf("%w\n--- collector log ---\n%s", err, p.Log())
		}
	}
	return p, nil
}

func (p *Process) waitHealthy(ctx context.Context, timeout time.Duration) error {
	return waitready.HTTP(ctx, "the collector", p.HealthURL, p.exited, 50*time.Millisecond, timeout)
}

// Pid is the collector's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop sends SIGTERM and waits up to timeout for the collector to exit, then kills
// it. It returns the exit code (-1 when killed) and an error if it had to kill.
func (p *Process) Stop(timeout time.Duration) (int, error) {
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(timeout)
}

// Wait waits up to timeout for the collector to exit by itself, then kills it.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return -1, fmt.Errorf("the collector did not exit within %s and was killed", timeout)
	}
}

// ExitCode is the exit code of an exited collector.
func (p *Process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Log returns everything the collector logged so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// LogPath is the file the collector logs to.
func (p *Process) LogPath() string { return p.logPath }

// Telemetry scrapes the collector's own metrics endpoint.
func (p *Process) Telemetry(ctx context.Context) (scrape.Metrics, error) {
	return scrape.Get(ctx, p.TelemetryURL)
}

// levelPattern finds the level column of the collector's console log lines.
var levelPattern = regexp.MustCompile(`^\S+\t(warn|error|dpanic|panic|fatal)\t`)

// WarningsAndErrors returns the log lines at level warn or above.
func WarningsAndErrors(log string) []string {
	var lines []string
	scanner := bufio.NewScanner(strings.NewReader(log))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		if levelPattern.MatchString(scanner.Text()) {
			lines = append(lines, scanner.Text())
		}
	}
	return lines
}

// ReceiverSummary is what the dummymetrics receiver reports when it stops.
type ReceiverSummary struct {
	Emitted, Accepted, Refused int64
}

var summaryPattern = regexp.MustCompile(`Stopped generating dummy metrics.*"emitted_samples": (\d+), "accepted_samples": (\d+), "refused_samples": (\d+)`)

// Summaries returns the shutdown reports of every dummymetrics receiver in the log.
func Summaries(log string) []ReceiverSummary {
	var out []ReceiverSummary
	for _, m := range summaryPattern.FindAllStringSubmatch(log, -1) {
		var s ReceiverSummary
		s.Emitted, _ = strconv.ParseInt(m[1], 10, 64)
		s.Accepted, _ = strconv.ParseInt(m[2], 10, 64)
		s.Refused, _ = strconv.ParseInt(m[3], 10, 64)
		out = append(out, s)
	}
	return out
}

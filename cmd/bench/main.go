// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command bench is `make bench`: the comparative matrix of the original sample. It
// runs the built distribution for every point of a matrix (generator parallelism,
// sink parallelism, instances, pace, exporter mode) against a backend, a local
// Prometheus started for each point by default, and after a warm-up measures what
// the backend acknowledged (and a local Prometheus stored), what the collector lost,
// the write latency, and the CPU and memory used. It writes a Markdown table, a
// JSON file and a chart into <out>/<timestamp>/ and prints the table.
//
//	go run ./cmd/bench -gen 1,2 -sink 1,2,4,8 -instances 50000 -pace pause=0 -modes ordered,unordered
//
// Ctrl-C stops the running point and writes what was measured so far.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func main() {
	runner.RunWatchdog()
	os.Exit(run(os.Args[1:], os.Stdout))
}

// options are the parsed flags.
type options struct {
	matrix           Matrix
	collectors       int
	backend          runner.Backend
	env              map[string]string
	warmup, duration time.Duration
	progress         time.Duration
	oooWindow        time.Duration
	outRoot, tag     string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gen := fs.String("gen", "1,2", "generator parallelism (GENERATOR_PARALLELISM), comma-separated list")
	sink := fs.String("sink", "1,2,4", "sink parallelism (SINK_PARALLELISM): requests in flight, comma-separated list")
	instances := fs.String("instances", "50000", "dummy instances (GENERATOR_INSTANCES), two series each, comma-separated list")
	pace := fs.String("pace", "pause=0", "generator pace, comma-separated list of pause=DURATION (per worker, after each emission; 0: as fast as the backend takes), rate=SAMPLES_PER_SECOND (in all), or scrape=INTERVAL (the scrape shape: each instance's CPU and Memory one sample per interval)")
	protocols := fs.String("protocols", "rw1", "remote-write protocols, rw1 (the shipped 1.0) and/or rw2 (2.0, behind the exporter's feature gate; a local Prometheus accepts both): -protocols rw1,rw2 compares them point by point")
	modes := fs.String("modes", "ordered", "exporter modes: ordered (one queue consumer, parallel requests per batch: the shipped mode) and/or unordered (num_consumers batches in flight behind the EnableMultipleWorkers gate; a local Prometheus gets an out-of-order window)")
	backend := runner.BackendFlags(fs)
	var envFlags runner.ListFlag
	fs.Var(&envFlags, "env", "KEY=VALUE for the collector on top of the matrix, e.g. -env SINK_BATCH_SIZE=8192 (repeatable)")
	o := &options{}
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "warm-up before measuring each point")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measurement window of each point (10m for a soak run)")
	fs.IntVar(&o.collectors, "collectors", 1, "collectors per point, side by side on this machine, each with its own instances: the figures are their sum")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "how often to print progress")
	fs.DurationVar(&o.oooWindow, "ooo-window", 10*time.Minute, "the local Prometheus's out-of-order window in unordered mode")
	fs.StringVar(&o.outRoot, "out", "results", "folder that gets a <timestamp> folder of results")
	fs.StringVar(&o.tag, "tag", "", "names the variant of this run in the table and the chart legend, e.g. -tag 'batch 8k' with -env SINK_BATCH_SIZE=8192")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./cmd/bench [flags]\n\nRuns the built collector against a backend for every combination of the list flags.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags only)", fs.Args())
	}
	var errs []error
	var err error
	if o.matrix, err = ParseMatrix(*gen, *sink, *instances, *pace, *modes, *protocols); err != nil {
		errs = append(errs, err)
	}
	if o.backend, err = backend(); err != nil {
		errs = append(errs, err)
	}
	if o.env, err = ParseEnv(envFlags); err != nil {
		errs = append(errs, err)
	}
	if o.collectors < 1 || o.collectors > 64 {
		errs = append(errs, fmt.Errorf("-collectors %d: between 1 and 64", o.collectors))
	}
	if o.duration < time.Second {
		errs = append(errs, fmt.Errorf("-duration %s: at least 1s", o.duration))
	}
	if o.warmup < 0 {
		errs = append(errs, fmt.Errorf("-warmup %s: must not be negative", o.warmup))
	}
	if o.progress <= 0 {
		errs = append(errs, fmt.Errorf("-progress %s: must be positive", o.progress))
	}
	return o, errors.Join(errs...)
}

func run(args []string, stdout io.Writer) int {
	o, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	root := o.outRoot
	if !filepath.IsAbs(root) {
		if root, err = runner.RepoPath(root); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	dir := filepath.Join(root, started.Format("20060102-150405"))
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	points := o.matrix.Points()
	perPoint := o.warmup + o.duration + 5*time.Second
	fmt.Fprintf(stdout, "bench: %d points, about %s each (%s warm-up, %s measured), about %s in all; results in %s\n",
		len(points), perPoint.Round(time.Second), o.warmup, o.duration, (time.Duration(len(points)) * perPoint).Round(time.Second), dir)
	var results []Result
	for i, p := range points {
		if ctx.Err() != nil {
			break
		}
		p.Tag = o.tag
		fmt.Fprintf(stdout, "\n[%d/%d] %s\n", i+1, len(points), p)
		res := measure(ctx, o, p, filepath.Join(dir, "logs", p.Slug()+".collector.log"), stdout)
		if res.Err != "" {
			fmt.Fprintf(stdout, "  failed: %s\n", res.Err)
		} else {
			fmt.Fprintf(stdout, "  => %s\n", res.Summary())
		}
		results = append(results, res)
	}
	if err := write(dir, results, "go run ./cmd/bench "+shellJoin(args), stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench: writing the results:", err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "bench: interrupted; the running point was stopped")
		return 130
	}
	return 0
}

// measure runs one point: start, a warm-up, the measured window, stop.
func measure(ctx context.Context, o *options, p Point, logPath string, out io.Writer) Result {
	res := Result{Point: p}
	opts := runner.Options{
		Backend: o.backend,
		Collector: runner.CollectorOptions{Env: p.Env(o.env), LogPath: logPath,
			Configs: append(append([]string{"collector-config-detailed.yaml"}, p.Mode.overlays(p.SinkParallelism)...), p.Pace.overlays()...)},
	}
	var gates []string
	if p.Mode == Unordered {
		opts.Prometheus.OutOfOrderWindow = o.oooWindow
		gates = append(gates, multipleWorkersGate)
	}
	if p.Protocol == RW2 {
		opts.Prometheus.AcceptRW2 = true
		opts.Collector.Configs = append(opts.Collector.Configs, p.Protocol.overlays()...)
		gates = append(gates, rw2Gate)
	}
	opts.Collector.FeatureGates = strings.Join(gates, ",")
	r, err := runner.Start(ctx, opts)
	if err != nil {
		res.Err = firstLine(err.Error())
		return res
	}
	defer r.Close()
	var prev runner.Snapshot
	progress := func(phase string) func(runner.Snapshot) {
		return func(s runner.Snapshot) {
			if !prev.At.IsZero() {
				fmt.Fprintf(out, "  %-7s %s\n", phase, Result{Measurement: runner.Measure(runner.Window{From: prev, To: s})}.Summary())
			}
			prev = s
		}
	}
	var from, to runner.Snapshot
	if from, err = r.Watch(ctx, time.Now().Add(o.warmup), o.progress, progress("warm-up"), nil); err == nil {
		to, err = r.Watch(ctx, time.Now().Add(o.duration), o.progress, progress("measure"), nil)
	}
	stopErr := r.Stop(time.Minute)
	if err = errors.Join(err, stopErr); err != nil {
		res.Err = firstLine(err.Error())
		return res
	}
	log := r.Logged()
	res.Measurement = runner.Measure(runner.Window{From: from, To: to})
	res.AddFailures(log, from.At, to.At, 1)
	res.LogProblems = len(log.Problems())
	if settings, err := runner.SettingsOf(p.Env(o.env)); err == nil && runner.GeneratorLimited(res.Measurement, runner.DefaultSLO, p.SinkParallelism*o.collectors) {
		settings.Collectors = o.collectors
		res.LimitedBy, _ = runner.CollectorLimit(res.Measurement, settings)
	}
	return res
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// shellJoin quotes the arguments that a shell would split or expand, so that the
// command recorded in results.md can be pasted back.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			quoted[i] = a
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

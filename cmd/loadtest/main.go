// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command loadtest is `make loadtest`: it runs the built distribution through a
// schedule of stages against a remote-write backend (a local Prometheus by
// default, any URL with -url, AMP signed with SigV4) and gives the verdict: how
// many samples per second the backend took, at what latency, and what stopped it.
//
//	go run ./cmd/loadtest -url https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-.../api/v1/remote_write \
//	    -stages 60s:20000,60s:20000-140000,60s:140000 -instances 100000 -sink 4
//
// It prints a progress line every few seconds and, at the end, the verdict; it
// writes verdict.json, report.md, report.html and the charts into <out>/<timestamp>/.
// Ctrl-C stops the run and still writes what was measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func main() {
	runner.RunWatchdog()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	backend   runner.Backend
	stages    []runner.Stage
	shape     runner.Shape
	instances int
	// collectors run side by side on this machine, each with its own instances
	// (or -replicas pods on Kubernetes).
	collectors int
	kube       *kubeFlags
	gen, sink  int
	slo        runner.SLO
	env        map[string]string
	out        string
	progress   time.Duration
	keepGoing  bool
	offset     int64
	// The read-back: how often the canary writes, how long to wait once it is
	// visible, the most samples one query may read, the prices of a managed backend.
	canaryEvery, settle     time.Duration
	maxQuerySamples         float64
	maxQuerySeries          float64
	priceIngest, priceQuery float64
	// The live page: where it listens (empty: none), how often it reads back.
	web          string
	liveReadBack time.Duration
	// require is the sustained rate below which the run exits 3 (for CI).
	require float64
}

// defaultStages is a short ramp that a laptop's local Prometheus takes at first
// and then not: a minute and a half, to see a verdict form.
const defaultStages = "10s:20k,10s:50k,10s:100k,10s:200k,10s:400k,10s:800k"

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := runner.BackendFlags(fs)
	stages := fs.String("stages", defaultStages, "comma-separated DURATION:RATE (hold) or DURATION:FROM-TO (ramp linearly), in samples/s of this collector, e.g. 30s:10000,60s:10000-40000; with -shape scrape in active series, e.g. 5m:1M,10m:1M-5M")
	shape := runner.ShapeFlags(fs)
	o := &options{slo: runner.DefaultSLO}
	fs.IntVar(&o.instances, "instances", 10000, "dummy instances (two series each); a series takes at most 1,000 samples/s; with -shape scrape the instance slots follow from the stages unless given")
	fs.IntVar(&o.collectors, "collectors", 1, "collectors to run side by side on this machine: -stages is their total, split evenly, -instances is per collector; one verdict")
	o.kube = registerKubeFlags(fs)
	fs.IntVar(&o.gen, "gen", 2, "generator parallelism: workers of the receiver")
	fs.IntVar(&o.sink, "sink", 2, "sink parallelism: requests of a batch in flight")
	fs.Float64Var(&o.slo.AckRatio, "slo-ack", o.slo.AckRatio, "a stage passes when the backend acknowledges at least this share of its target rate")
	fs.DurationVar(&o.slo.P99, "slo-p99", o.slo.P99, "... and the p99 write latency is at most this")
	fs.Float64Var(&o.slo.ErrorRatio, "slo-errors", o.slo.ErrorRatio, "... and at most this share of the write requests fail")
	fs.Float64Var(&o.slo.Lost, "slo-lost", o.slo.Lost, "... and at most this many samples are lost")
	fs.BoolVar(&o.keepGoing, "keep-going", false, "run the stages after the first that fails (by default the test stops there: a managed backend charges for what it ingests)")
	fs.Int64Var(&o.offset, "instance-offset", 0, "index of the first instance: runs, or writers, with other offsets write other series")
	fs.DurationVar(&o.canaryEvery, "canary-every", 2*time.Second, "how often the canary series is written and polled until queryable (freshness)")
	fs.DurationVar(&o.settle, "settle", 0, "wait this long after the last canary is queryable before reading back (for backends that are eventually consistent)")
	fs.Float64Var(&o.maxQuerySamples, "query-max-samples", 10e6, "the most samples one read-back query may load (Prometheus's --query.max-samples is 50 million, AMP's 12 to 50 million)")
	fs.Float64Var(&o.maxQuerySeries, "query-max-series", 100e3, "the most series one read-back query may answer")
	fs.Float64Var(&o.priceIngest, "price-ingest", 0, "USD per 10 million samples ingested, to price the run (docs/loadtest.md has AMP's published tiers)")
	fs.Float64Var(&o.priceQuery, "price-query", 0, "USD per billion query samples processed")
	fs.StringVar(&o.web, "web", "127.0.0.1:8080", "address of the live page (empty: none); it listens on loopback unless told otherwise")
	fs.DurationVar(&o.liveReadBack, "live-read-back", 5*time.Second, "how often the live page reads back what the backend stored over the last window (managed backends charge queries by samples read)")
	fs.StringVar(&o.out, "out", "results/loadtest", "folder that gets a <timestamp> folder with verdict.json, report.md, report.html and the charts")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "how often to print a progress line")
	fs.Float64Var(&o.require, "require", 0, "exit 3 when the sustained rate is below this many samples/s (for CI)")
	var env runner.ListFlag
	fs.Var(&env, "env", "KEY=VALUE for the collector, e.g. -env SINK_BATCH_SIZE=32768 (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./cmd/loadtest [flags]\n\nRuns the built collector through -stages against a remote-write backend and gives the verdict.\n\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), exitCodes)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q (flags only)", fs.Args()))
	}
	var err error
	if o.backend, err = backend(); err != nil {
		errs = append(errs, err)
	}
	if o.shape, err = shape(); err != nil {
		errs = append(errs, err)
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if err := o.kube.apply(o, explicit); err != nil {
		errs = append(errs, err)
	}
	if o.stages, err = runner.ParseStages(*stages); err != nil {
		errs = append(errs, err)
	} else if o.shape.Scrape {
		for i := range o.stages {
			o.stages[i].Interval = o.shape.Interval
		}
		if !explicit["instances"] {
			o.instances = o.shape.Instances(perCollector(o.stages, max(o.collectors, 1)), o.gen)
		}
		if err := o.shape.CheckStages(perCollector(o.stages, max(o.collectors, 1)), o.instances); err != nil {
			errs = append(errs, err)
		}
	} else if err := runner.CheckStages(perCollector(o.stages, max(o.collectors, 1)), o.instances); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.instances < 1:
		errs = append(errs, fmt.Errorf("-instances %d: at least 1", o.instances))
	case o.gen < 1 || o.instances%o.gen != 0:
		errs = append(errs, fmt.Errorf("-gen %d: at least 1, and -instances (%d) must be a multiple of it", o.gen, o.instances))
	}
	if o.collectors < 1 || o.collectors > 64 {
		errs = append(errs, fmt.Errorf("-collectors %d: between 1 and 64", o.collectors))
	}
	if o.sink < 1 {
		errs = append(errs, fmt.Errorf("-sink %d: at least 1", o.sink))
	}
	if o.slo.AckRatio <= 0 || o.slo.AckRatio > 1 || o.slo.ErrorRatio < 0 || o.slo.ErrorRatio > 1 || o.slo.P99 <= 0 || o.slo.Lost < 0 {
		errs = append(errs, errors.New("-slo-ack and -slo-errors must be in (0, 1] and [0, 1], -slo-p99 positive, -slo-lost not negative"))
	}
	if o.require < 0 {
		errs = append(errs, fmt.Errorf("-require %v: not negative", o.require))
	}
	if o.maxQuerySamples < 1 {
		errs = append(errs, fmt.Errorf("-query-max-samples %v: at least 1", o.maxQuerySamples))
	}
	if o.maxQuerySeries < 1 {
		errs = append(errs, fmt.Errorf("-query-max-series %v: at least 1", o.maxQuerySeries))
	}
	if o.liveReadBack < time.Second {
		errs = append(errs, fmt.Errorf("-live-read-back %s: at least 1s (every query costs on a managed backend)", o.liveReadBack))
	}
	o.env = map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("-env %q is not KEY=VALUE", kv))
			continue
		}
		if flag, ok := flagOwned[k]; ok {
			errs = append(errs, fmt.Errorf("-env %s: set it with %s", k, flag))
			continue
		}
		o.env[k] = v
	}
	errs = append(errs, unknownSettings(o.env)...)
	return o, errors.Join(errs...)
}

// unknownSettings refuses an -env variable that nothing reads: a mistyped
// setting would otherwise change nothing, unseen. AWS_* pass, for the credential
// chain of collectors started elsewhere.
func unknownSettings(env map[string]string) []error {
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	known, err := runner.SettingsIn(environ)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if _, ok := known[k]; !ok && !strings.HasPrefix(k, "AWS_") {
			errs = append(errs, fmt.Errorf("-env %s: not a setting of the shipped configuration nor of the Go runtime (the README's tables list them)", k))
		}
	}
	return errs
}

// flagOwned are the collector's variables that the load test sets from its own
// flags: an -env for one would be overwritten.
var flagOwned = map[string]string{
	"GENERATOR_INSTANCES": "-instances", "GENERATOR_PARALLELISM": "-gen",
	"SINK_PARALLELISM": "-sink", "GENERATOR_INSTANCE_OFFSET": "-instance-offset",
}

// reportPoints is the most chart points the report keeps: a run of hours holds
// as many as a run of minutes.
const reportPoints = 2000

// perCollector is each collector's share of the stages: they are the total.
func perCollector(stages []runner.Stage, collectors int) []runner.Stage {
	out := slices.Clone(stages)
	for i := range out {
		out[i].From, out[i].To = out[i].From/float64(collectors), out[i].To/float64(collectors)
	}
	return out
}

// alignEvery is the align_start of collectors started together: the runner
// starts them just after such a boundary, so that they all begin their stages
// at the next one.
const alignEvery = 5 * time.Second

// exitCodes are documented in -h and the README.
const exitCodes = `
Exit codes:
  0    the verdict was reached and nothing the backend acknowledged is missing
  1    acknowledged samples are missing from the backend (it lost data)
  2    the run could not start or complete: bad input, an unreachable backend, a read-back that could not finish
  3    with -require: the sustained rate is below it
  130  interrupted (Ctrl-C): the load stopped, what was measured is in the report
`

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := &test{o: o, out: stdout, errOut: stderr}
	verdict, err := t.run(ctx)
	if t.dir != "" {
		if werr := writeReport(t.dir, o, verdict, t.points()); werr != nil {
			fmt.Fprintln(stderr, "loadtest: writing the report:", werr)
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "\nVerdict: %s\n", verdict.Headline())
			for _, d := range verdict.Details() {
				fmt.Fprintln(stdout, "  "+d)
			}
			if verdict.ReadBack != nil {
				fmt.Fprintln(stdout, "Read back: "+verdict.ReadBack.Summary())
			}
			fmt.Fprintf(stdout, "Report: %s\n", filepath.Join(t.dir, "report.html"))
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "loadtest: interrupted; the load was stopped, what was measured is in the report")
		return 130
	case err != nil:
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	case verdict.ReadBack != nil && verdict.ReadBack.Problem != "":
		fmt.Fprintln(stderr, "loadtest: the backend lost data:", verdict.ReadBack.Problem)
		return 1
	case o.require > 0 && verdict.SustainedSamplesPerSecond < o.require:
		fmt.Fprintf(stderr, "loadtest: sustained %s samples/s, below the %s required\n", runner.FormatCount(verdict.SustainedSamplesPerSecond), runner.FormatCount(o.require))
		return 3
	}
	return 0
}

// test is one load test as it runs.
type test struct {
	o           *options
	out, errOut io.Writer
	dir         string
	r           *runner.Run
	live        *runner.Live
	plan        runner.Plan
	generated   runner.Generated
	// launched is when the collector was started, start when its schedule began.
	launched, start time.Time
	// rec keeps the chart points of the run, not its snapshots, however long it runs.
	rec       *runner.Recorder
	lastPrint time.Time
}

// run runs the test: the stages until one fails or Ctrl-C ends ctx, then stops
// the load, reads back and judges. A Ctrl-C during the read-back cuts it short.
func (t *test) run(ctx context.Context) (runner.Verdict, error) {
	o := t.o
	root := o.out
	if !filepath.IsAbs(root) {
		var err error
		if root, err = runner.RepoPath(root); err != nil {
			return runner.Verdict{}, err
		}
	}
	dir := filepath.Join(root, time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runner.Verdict{}, err
	}
	env := maps.Clone(o.env)
	env["GENERATOR_INSTANCES"] = strconv.Itoa(o.instances)
	env["GENERATOR_PARALLELISM"] = strconv.Itoa(o.gen)
	env["SINK_PARALLELISM"] = strconv.Itoa(o.sink)
	env["GENERATOR_INSTANCE_OFFSET"] = strconv.FormatInt(o.offset, 10)
	settings, err := runner.SettingsOf(env)
	if err != nil {
		return runner.Verdict{}, fmt.Errorf("-env: %w", err)
	}
	t.warnIgnoredSettings()
	if o.web != "" {
		live, err := runner.StartLive(o.web, "Load test: "+filepath.Base(dir))
		if err != nil {
			return runner.Verdict{}, err
		}
		t.live = live
		defer live.Close()
		fmt.Fprintf(t.out, "Live page: %s\n", live.URL)
	}
	configs := []string{"collector-config-detailed.yaml", o.shape.ReceiverConfig(perCollector(o.stages, o.collectors))}
	if o.collectors > 1 {
		configs = append(configs, fmt.Sprintf("yaml:receivers::dummymetrics::align_start: %s", o.align()))
	}
	settings.Collectors = o.collectors
	t.launched = time.Now()
	r, err := runner.Start(ctx, runner.Options{
		Backend: o.backend,
		BeforeCollector: func(ctx context.Context, r *runner.Run) error {
			if err := r.Querier.CheckNoOtherWriter(ctx, o.offset, int64(o.instances*o.collectors)); err != nil {
				return err
			}
			if o.collectors > 1 { // start them all just after a boundary: they begin at the next
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Until(time.Now().Truncate(o.align()).Add(o.align() + 50*time.Millisecond))):
				}
			}
			return nil
		},
		Collectors:   o.collectors,
		StartMembers: t.startMembers(dir, settings),
		Collector: runner.CollectorOptions{
			Env:     env,
			Configs: configs,
			LogPath: filepath.Join(dir, "collector.log"),
		},
	})
	if err != nil {
		return runner.Verdict{}, err
	}
	t.r, t.dir = r, dir
	defer r.Close()
	if t.start, err = r.ScheduleStart(ctx); err != nil {
		_ = r.Stop(time.Minute)
		return runner.Verdict{}, err
	}
	if t.generated, err = r.Generated(ctx); err != nil {
		_ = r.Stop(time.Minute)
		return runner.Verdict{}, err
	}
	settings.SamplesPerPoint = t.generated.SamplesPerPoint
	t.plan = runner.Plan{Stages: o.stages, Start: t.start, Settings: settings, SLO: o.slo}
	if len(r.Members) > 1 {
		for _, m := range r.Members {
			t.plan.Names = append(t.plan.Names, m.Name())
		}
	}
	t.rec = runner.NewRecorder(t.start, 5*time.Second, reportPoints)
	t.rec.SetSamplesPerPoint(settings.SamplesPerPoint)
	if t.live != nil {
		t.live.SetSamplesPerPoint(settings.SamplesPerPoint)
	}
	fmt.Fprintf(t.out, "Load test against %s%s: %d stages, %s in all; results in %s\n", runner.DisplayURL(r.Backend.WriteURL), r.Backend.Describe(), len(o.stages), t.plan.Duration(), dir)
	t.printReadBackCost()
	canary, err := r.Backend.NewCanary(r.Querier, runner.CanaryRun(filepath.Base(dir)))
	if err != nil {
		return runner.Verdict{}, err
	}
	canaryCtx, stopCanary := context.WithCancel(ctx)
	canaryDone := make(chan struct{})
	go func() {
		defer close(canaryDone)
		canary.Run(canaryCtx, o.canaryEvery, 25*time.Millisecond)
	}()
	if t.live != nil {
		t.live.Start(t.start)
		go t.live.ReadBackLive(canaryCtx, r.Querier, t.generated.Names, t.generated.First, t.generated.Instances, o.liveReadBack, 5*time.Second)
	}

	results, lastSpan, stagesErr := t.stages(ctx)
	// The load stops as soon as judging stops: a failed stage, the last one, or Ctrl-C.
	bound := settings.StopBound()
	t.setStage(fmt.Sprintf("stopping the load (the pipeline drains within %s)", bound))
	final, last, stopErr := r.StopCounting(context.Background(), bound+10*time.Second, t.observe(-1))
	stopErr = errors.Join(stopErr, restarted(r.Members)) // a pod started again: its counts are not whole
	stopCanary()
	<-canaryDone
	if last.Collector != nil {
		t.rec.Add(last)
	}
	v := runner.Decide(results)
	v.Settings, v.Collectors = settings, o.collectors
	v.Passed = v.Passed && restarted(r.Members) == nil
	if lastSpan.Collector != nil && stopErr == nil {
		outside := final.Outside(t.plan, len(results), lastSpan)
		v.WithOutside(outside)
		if outside.EmittedAfter > 0 {
			when := fmt.Sprintf("stage %d had begun", outside.StageAtStop)
			if outside.StageAtStop > len(t.plan.Stages) {
				when = "the receiver had passed its last stage"
			}
			fmt.Fprintf(t.out, "After the last stage judged, until the load stopped: %s samples emitted (%s), counted in no stage.\n",
				runner.FormatCount(outside.EmittedAfter), when)
		}
		if final.Killed {
			fmt.Fprintf(t.out, "The collector did not drain within %s and was killed: %s samples were still in the pipeline.\n", bound, runner.FormatCount(final.Remaining))
		}
	}
	var rb *runner.ReadBack
	readBackErr := stopErr
	if stopErr == nil {
		// A second Ctrl-C ends the read-back; until then it runs, bounded.
		rbCtx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		rbCtx, cancelTimeout := context.WithTimeout(rbCtx, 10*time.Minute)
		defer cancelTimeout()
		t.setStage("reading back what the backend stored")
		rb, readBackErr = t.readBack(rbCtx, canary, final)
	}
	for i := range v.Stages {
		from, to := t.plan.Window(i)
		v.Stages[i].Freshness = runner.Percentiles(canary.Freshness(from, to))
	}
	v.WithReadBack(rb)
	v.Cost = t.cost(v, final, rb)
	if t.live != nil {
		t.live.Update(func(s *runner.LiveState) { s.Stage = "done"; s.Verdict = append(s.Verdict, "Verdict: "+v.Headline()) })
	}
	return v, errors.Join(stagesErr, readBackErr)
}

// printReadBackCost says before the run what its read-back will read at most:
// every sample the stages offer, once (AMP bills queries by samples processed).
func (t *test) printReadBackCost() {
	samples, series := 0.0, 0.0
	for _, s := range t.o.stages {
		samples += s.Target() * s.Duration.Seconds()
		series = max(series, s.From, s.To)
	}
	if !t.o.shape.Scrape {
		series = float64(t.o.instances * 2)
	}
	if t.o.shape.Churn > 0 {
		series *= 1 + t.plan.Duration().Seconds()/t.o.shape.Churn.Seconds()
	}
	g := t.generated
	queries := runner.ReadBackPlan{First: g.First, Instances: g.Instances, Names: g.Names, SeriesPerInstance: g.SeriesPerInstance,
		Sent: samples, SeriesExpected: series, MaxSamplesPerQuery: t.o.maxQuerySamples, MaxSeriesPerQuery: t.o.maxQuerySeries}.Queries()
	line := fmt.Sprintf("The read-back will read at most %s samples of %s series in about %d queries", runner.FormatCount(samples), runner.FormatCount(series), queries+1)
	if t.o.priceQuery > 0 {
		line += fmt.Sprintf(" (USD %.4f at -price-query)", samples/1e9*t.o.priceQuery)
	}
	fmt.Fprintln(t.out, line+".")
}

// warnIgnoredSettings names the collector settings of the environment that the
// load test does not pass on: what it measures is what its flags say.
func (t *test) warnIgnoredSettings() {
	ignored, err := runner.SettingsIn(os.Environ())
	if err != nil || len(ignored) == 0 {
		return
	}
	fmt.Fprintf(t.errOut, "loadtest: not passed to the collector (use -env NAME=VALUE): %s\n", strings.Join(slices.Sorted(maps.Keys(ignored)), ", "))
}

// readBack waits until a canary written after the collector stopped is
// queryable, then counts what the backend stored against the exact counts.
func (t *test) readBack(ctx context.Context, canary *runner.Canary, final runner.Final) (*runner.ReadBack, error) {
	if _, err := canary.Probe(ctx, 25*time.Millisecond, 2*time.Minute); err != nil {
		return nil, err
	}
	if t.o.settle > 0 {
		time.Sleep(t.o.settle)
	}
	plan := final.ReadBackPlan(t.launched, time.Now(), t.rec.Acked(), t.o.maxQuerySamples, t.o.maxQuerySeries)
	rb, err := t.r.Querier.ReadBack(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("the read-back could not finish: %w", err)
	}
	rb.Freshness = runner.Percentiles(canary.Freshness(t.start, time.Now()))
	rb.SamplesRead += canary.SamplesRead()
	return rb, nil
}

// cost prices the run with the prices given.
func (t *test) cost(v runner.Verdict, final runner.Final, rb *runner.ReadBack) *runner.Cost {
	c := &runner.Cost{SamplesPerHour: v.SustainedSamplesPerSecond * 3600, SamplesPerMonth: v.SustainedSamplesPerSecond * 3600 * 730,
		SamplesIngested: final.Acknowledged, SeriesWritten: final.SeriesWritten}
	if rb != nil {
		c.SamplesRead = rb.SamplesRead
	}
	c.RunUSD = c.SamplesIngested/1e7*t.o.priceIngest + c.SamplesRead/1e9*t.o.priceQuery
	c.MonthUSD = c.SamplesPerMonth / 1e7 * t.o.priceIngest
	return c
}

// observe keeps a snapshot for the report and the live page, and prints progress
// in stage i (none when i < 0).
func (t *test) observe(i int) func(runner.Snapshot) {
	return func(s runner.Snapshot) {
		t.rec.Add(s)
		if t.live != nil {
			t.live.Observe(s)
		}
		if i >= 0 && s.At.Sub(t.lastPrint) >= t.o.progress {
			t.lastPrint = s.At
			t.printProgress(i)
		}
	}
}

// stages watches the run through its plan and judges each stage at the end of
// its window, stopping after the first that fails unless -keep-going. It returns
// the results and the snapshot at the end of the last window judged.
func (t *test) stages(ctx context.Context) ([]runner.StageResult, runner.Snapshot, error) {
	var results []runner.StageResult
	failed := func(err error) {
		if t.live != nil {
			t.live.TelemetryFailed(err)
		}
	}
	t.setStage("waiting for the schedule to start")
	watch := func(until time.Time, i int) (runner.Snapshot, error) {
		s, err := t.r.Watch(ctx, until, time.Second, t.observe(i), failed)
		return s, errors.Join(err, restarted(t.r.Members)) // a pod started again: the stages cannot be judged
	}
	spanFrom, err := watch(t.start, -1)
	if err != nil {
		return nil, runner.Snapshot{}, ignoreInterrupt(err)
	}
	windowFrom, _ := t.plan.Window(0)
	from, err := watch(windowFrom, 0)
	if err != nil {
		return nil, runner.Snapshot{}, ignoreInterrupt(err)
	}
	for i, stage := range t.o.stages {
		t.setStage(fmt.Sprintf("stage %d of %d: %s", i+1, len(t.o.stages), stage))
		_, end := t.plan.Window(i)
		to, err := watch(end, i)
		if err != nil {
			return results, spanFrom, ignoreInterrupt(err)
		}
		judged, err := watch(t.plan.JudgedAt(i), min(i+1, len(t.o.stages)-1))
		if err != nil {
			return results, spanFrom, ignoreInterrupt(err)
		}
		log := t.r.Logged()
		span, window := runner.Window{From: spanFrom, To: to}, runner.Window{From: from, To: to}
		t.plan.Measured = append(t.plan.Measured, runner.Interval{From: from.At, To: to.At})
		m := t.plan.Measure(i, span, window, judged, log)
		res := t.plan.Judge(i, m, log, t.plan.MeasureMembers(i, span, window, judged, log))
		results = append(results, res)
		spanFrom, from = to, judged
		fmt.Fprintf(t.out, "stage %d (%s): %s\n", i+1, stage, stageLine(res))
		if t.live != nil {
			t.live.Update(func(s *runner.LiveState) {
				s.Verdict = append(s.Verdict, fmt.Sprintf("stage %d (%s): %s", i+1, stage, stageLine(res)))
			})
		}
		if !res.Passed && !t.o.keepGoing {
			if i < len(t.o.stages)-1 {
				fmt.Fprintln(t.out, "The stage failed: stopping the load here (-keep-going runs the rest).")
			}
			break
		}
	}
	return results, spanFrom, nil
}

// ignoreInterrupt drops the error of a watch that Ctrl-C ended: an interrupted
// run still stops, reads back and reports.
func ignoreInterrupt(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (t *test) setStage(text string) {
	if t.live != nil {
		t.live.Update(func(s *runner.LiveState) { s.Stage = text })
	}
}

// points are the run's chart points, none before its schedule began.
func (t *test) points() []runner.Moment {
	if t.rec == nil {
		return nil
	}
	return t.rec.Moments()
}

func (t *test) printProgress(i int) {
	moments := t.points()
	if len(moments) == 0 {
		return
	}
	m := moments[len(moments)-1]
	errs := 0.0
	for code, n := range m.Responses {
		if runner.FailedResponse(code) {
			errs += n
		}
	}
	fmt.Fprintf(t.out, "  %4.0fs stage %d of %d: target %s/s, acknowledged %s/s, p99 %.0f ms, errors %.1f/s, lost %s/s, shortfall %s/s, collector %.2f cores\n",
		m.Seconds, i+1, len(t.o.stages), runner.FormatCount(m.Target), runner.FormatCount(m.Sent), m.Latency.P99*1e3, errs, runner.FormatCount(m.Lost), runner.FormatCount(m.Shortfall), m.Cores)
}

func stageLine(r runner.StageResult) string {
	s := fmt.Sprintf("target %s/s, acknowledged %s/s, p50/p90/p99 %.0f/%.0f/%.0f ms, responses %s, rejected %s, lost %s, shortfall %s",
		runner.FormatCount(r.TargetSamplesPerSecond), runner.FormatCount(r.SentSamplesPerSecond), r.Latency.P50*1e3, r.Latency.P90*1e3, r.Latency.P99*1e3,
		responses(r.Responses), runner.FormatCount(r.RejectedSamples), runner.FormatCount(r.LostSamples), runner.FormatCount(r.ShortfallSamples))
	if r.Passed {
		return s + " - passed"
	}
	return s + " - FAILED: " + r.Reason
}

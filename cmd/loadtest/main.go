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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	backend   runner.Backend
	stages    []runner.Stage
	instances int
	gen, sink int
	slo       runner.SLO
	env       map[string]string
	out       string
	progress  time.Duration
	keepGoing bool
	offset    int64
	// The read-back: how often the canary writes, how long to wait once it is
	// visible, the most samples one query may read, the prices of a managed backend.
	canaryEvery, settle     time.Duration
	maxQuerySamples         float64
	priceIngest, priceQuery float64
	// The live page: where it listens (empty: none), how often it reads back.
	web          string
	liveReadBack time.Duration
}

// defaultStages is a short ramp that a laptop's local Prometheus takes at first
// and then not: a minute and a half, to see a verdict form.
const defaultStages = "10s:20k,10s:50k,10s:100k,10s:200k,10s:400k,10s:800k"

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := runner.BackendFlags(fs)
	stages := fs.String("stages", defaultStages, "comma-separated DURATION:RATE (hold) or DURATION:FROM-TO (ramp linearly), in samples/s of this collector, e.g. 30s:10000,60s:10000-40000")
	o := &options{slo: runner.DefaultSLO}
	fs.IntVar(&o.instances, "instances", 10000, "dummy instances (two series each); a series takes at most 1,000 samples/s")
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
	fs.Float64Var(&o.maxQuerySamples, "query-max-samples", 20e6, "the most samples one read-back query may load (Prometheus's --query.max-samples is 50 million)")
	fs.Float64Var(&o.priceIngest, "price-ingest", 0, "USD per 10 million samples ingested, to price the run (docs/loadtest.md has AMP's published tiers)")
	fs.Float64Var(&o.priceQuery, "price-query", 0, "USD per billion query samples processed")
	fs.StringVar(&o.web, "web", "127.0.0.1:8080", "address of the live page (empty: none); it listens on loopback unless told otherwise")
	fs.DurationVar(&o.liveReadBack, "live-read-back", 5*time.Second, "how often the live page reads back what the backend stored over the last window (managed backends charge queries by samples read)")
	fs.StringVar(&o.out, "out", "results/loadtest", "folder that gets a <timestamp> folder with verdict.json, report.md, report.html and the charts")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "how often to print a progress line")
	var env runner.ListFlag
	fs.Var(&env, "env", "KEY=VALUE for the collector, e.g. -env SINK_BATCH_SIZE=32768 (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./cmd/loadtest [flags]\n\nRuns the built collector through -stages against a remote-write backend and gives the verdict.\n\n")
		fs.PrintDefaults()
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
	if o.stages, err = runner.ParseStages(*stages); err != nil {
		errs = append(errs, err)
	} else if err := runner.CheckStages(o.stages, o.instances); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.instances < 1:
		errs = append(errs, fmt.Errorf("-instances %d: at least 1", o.instances))
	case o.gen < 1 || o.instances%o.gen != 0:
		errs = append(errs, fmt.Errorf("-gen %d: at least 1, and -instances (%d) must be a multiple of it", o.gen, o.instances))
	}
	if o.sink < 1 {
		errs = append(errs, fmt.Errorf("-sink %d: at least 1", o.sink))
	}
	if o.slo.AckRatio <= 0 || o.slo.AckRatio > 1 || o.slo.ErrorRatio < 0 || o.slo.ErrorRatio > 1 || o.slo.P99 <= 0 || o.slo.Lost < 0 {
		errs = append(errs, errors.New("-slo-ack and -slo-errors must be in (0, 1] and [0, 1], -slo-p99 positive, -slo-lost not negative"))
	}
	o.env = map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("-env %q is not KEY=VALUE", kv))
			continue
		}
		o.env[k] = v
	}
	return o, errors.Join(errs...)
}

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
	t := &test{o: o, out: stdout}
	verdict, err := t.run(ctx)
	if t.dir != "" {
		if werr := writeReport(t.dir, o, verdict, t.snaps, t.start); werr != nil {
			fmt.Fprintln(stderr, "loadtest: writing the report:", werr)
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "\nVerdict: %s\nReport: %s\n", verdict.Summary(), filepath.Join(t.dir, "report.html"))
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "loadtest: interrupted; what was measured is in the report")
		return 130
	case err != nil:
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	case verdict.ReadBack != nil && verdict.ReadBack.Problem != "":
		fmt.Fprintln(stderr, "loadtest: the backend lost data:", verdict.ReadBack.Problem)
		return 1
	}
	return 0
}

// test is one load test as it runs.
type test struct {
	o    *options
	out  io.Writer
	dir  string
	r    *runner.Run
	live *runner.Live
	// launched is when the collector was started, start when its schedule began.
	launched, start time.Time
	snaps           []runner.Snapshot
}

// exporterLag is how long after a sample is generated the exporter reports it:
// the batch processor's timeout and a request. Windows of the exporter's counters
// are shifted by it, so that a stage is not judged by what the previous one sent.
const exporterLag = 1500 * time.Millisecond

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
	if o.web != "" {
		live, err := runner.StartLive(o.web, "Load test: "+filepath.Base(dir))
		if err != nil {
			return runner.Verdict{}, err
		}
		t.live = live
		defer live.Close()
		fmt.Fprintf(t.out, "Live page: %s\n", live.URL)
	}
	t.launched = time.Now()
	r, err := runner.Start(ctx, runner.Options{
		Backend: o.backend,
		BeforeCollector: func(ctx context.Context, r *runner.Run) error {
			return r.Querier.CheckNoOtherWriter(ctx, o.offset, int64(o.instances))
		},
		Collector: runner.CollectorOptions{
			Env:     env,
			Configs: []string{"collector-config-detailed.yaml", runner.StagesConfig(o.stages)},
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
	fmt.Fprintf(t.out, "Load test against %s: %d stages, %s in all; results in %s\n", r.Backend.WriteURL, len(o.stages), total(o.stages), dir)
	canary, err := r.Backend.NewCanary(r.Querier, filepath.Base(dir))
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
		go t.live.ReadBackLive(canaryCtx, r.Querier, o.offset, int64(o.instances), o.liveReadBack, 5*time.Second)
	}

	results, err := t.stages(ctx)
	stopCanary()
	<-canaryDone
	var rb *runner.ReadBack
	if err == nil {
		rb, err = t.readBack(ctx, canary)
	}
	stopErr := r.Stop(time.Minute)
	log := r.Collector.Logged()
	ends := t.start
	for i := range results {
		from := ends
		ends = ends.Add(o.stages[i].Duration)
		res := runner.Judge(results[i].Stage, results[i].Measurement, log.Causes(from, ends.Add(exporterLag)), o.slo, runner.Parallelism{Generator: o.gen, Sink: o.sink})
		res.Freshness = runner.Percentiles(canary.Freshness(from, ends))
		results[i] = res
	}
	v := runner.Decide(results)
	v.WithReadBack(rb)
	v.Cost = t.cost(v, rb)
	return v, errors.Join(err, stopErr)
}

// readBack waits for the pipeline to drain and for a canary written after the
// last sample to be queryable, then counts what the backend stored.
func (t *test) readBack(ctx context.Context, canary *runner.Canary) (*runner.ReadBack, error) {
	final, err := t.r.Drain(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	t.snaps = append(t.snaps, final)
	if _, err := canary.Probe(ctx, 25*time.Millisecond, 2*time.Minute); err != nil {
		return nil, err
	}
	if t.o.settle > 0 {
		time.Sleep(t.o.settle)
	}
	c := final.Collector
	plan := runner.ReadBackPlan{
		First: t.o.offset, Instances: int64(t.o.instances), From: t.launched, To: time.Now(),
		Sent: c.Sum(runner.MetricSent, nil), Failed: c.Sum(runner.MetricSendFailed, nil),
		SeriesExpected: c.Sum(runner.MetricSeriesWritten, nil), Expected: c.By(runner.MetricAcceptedByBlock, "instances", nil),
		MaxSamplesPerQuery: t.o.maxQuerySamples,
	}
	for _, s := range t.snaps {
		plan.Acked = append(plan.Acked, runner.Acked{At: s.At, Samples: s.Collector.Sum(runner.MetricSent, nil)})
	}
	rb, err := t.r.Querier.ReadBack(ctx, plan)
	if rb != nil {
		rb.Freshness = runner.Percentiles(canary.Freshness(t.start, time.Now()))
		rb.SamplesRead += canary.SamplesRead()
	}
	return rb, err
}

// cost prices the run with the prices given.
func (t *test) cost(v runner.Verdict, rb *runner.ReadBack) *runner.Cost {
	c := &runner.Cost{SamplesPerHour: v.SustainedSamplesPerSecond * 3600, SamplesPerMonth: v.SustainedSamplesPerSecond * 3600 * 730}
	if len(t.snaps) > 0 {
		last := t.snaps[len(t.snaps)-1].Collector
		c.SamplesIngested, c.SeriesWritten = last.Sum(runner.MetricSent, nil), last.Sum(runner.MetricSeriesWritten, nil)
	}
	if rb != nil {
		c.SamplesRead = rb.SamplesRead
	}
	c.RunUSD = c.SamplesIngested/1e7*t.o.priceIngest + c.SamplesRead/1e9*t.o.priceQuery
	c.MonthUSD = c.SamplesPerMonth / 1e7 * t.o.priceIngest
	return c
}

// stages watches the run through its schedule and measures each stage, stopping
// after the first that fails unless -keep-going.
func (t *test) stages(ctx context.Context) ([]runner.StageResult, error) {
	var results []runner.StageResult
	lastPrint := time.Now()
	observe := func(i int) func(runner.Snapshot) {
		return func(s runner.Snapshot) {
			t.snaps = append(t.snaps, s)
			if t.live != nil {
				t.live.Observe(s)
			}
			if time.Since(lastPrint) >= t.o.progress && i >= 0 {
				lastPrint = time.Now()
				t.printProgress(i)
			}
		}
	}
	failed := func(err error) {
		if t.live != nil {
			t.live.TelemetryFailed(err)
		}
	}
	t.setStage("waiting for the schedule to start")
	// Each boundary is read twice: at the boundary, and once the exporter caught
	// up with it. The generator's counts are the stage's between its boundaries;
	// the requests' latency and answers between the exporter catching up with its
	// start and its end: what the exporter sends after the end mixes the next
	// stage's samples in, which could blame a stage for the next one's 429s.
	end := t.start
	watch := func(until time.Time, i int) (runner.Snapshot, error) {
		return t.r.Watch(ctx, until, time.Second, observe(i), failed)
	}
	from, err := watch(end, -1)
	if err != nil {
		return nil, err
	}
	fromLag, err := watch(end.Add(exporterLag), -1)
	if err != nil {
		return nil, err
	}
	for i, stage := range t.o.stages {
		end = end.Add(stage.Duration)
		t.setStage(fmt.Sprintf("stage %d of %d: %s", i+1, len(t.o.stages), stage))
		to, err := watch(end, i)
		if err != nil {
			return results, err
		}
		toLag, err := watch(end.Add(exporterLag), i)
		if err != nil {
			return results, err
		}
		m := stageMeasurement(runner.Window{From: from, To: to}, runner.Window{From: fromLag, To: to}, i)
		from, fromLag = to, toLag
		res := runner.Judge(stage, m, nil, t.o.slo, runner.Parallelism{Generator: t.o.gen, Sink: t.o.sink})
		results = append(results, res)
		fmt.Fprintf(t.out, "stage %d (%s): %s\n", i+1, stage, stageLine(res))
		if t.live != nil {
			t.live.Update(func(s *runner.LiveState) {
				s.Verdict = append(s.Verdict, fmt.Sprintf("stage %d (%s): %s", i+1, stage, stageLine(res)))
			})
		}
		if !res.Passed && !t.o.keepGoing && i < len(t.o.stages)-1 {
			fmt.Fprintln(t.out, "The stage failed: stopping here (-keep-going runs the rest).")
			break
		}
	}
	return results, nil
}

// stageMeasurement is what stage i measured: the requests, their answers and
// what was lost over the window the exporter sent only the stage's samples in, and the
// generator's counts over the stage itself, exactly, by its stage attribute. The
// acknowledged samples of the stage are those it handed to the pipeline, less
// what was lost: every sample handed over is either acknowledged or counted lost
// (docs/counters.md), and the read-back checks that at the end.
func stageMeasurement(stage, exporter runner.Window, i int) runner.Measurement {
	m := runner.Measure(exporter)
	generator := runner.Measure(stage)
	attr := map[string]string{"stage": strconv.Itoa(i)}
	m.Scheduled = stage.To.Collector.Sum(runner.MetricScheduled, attr)
	m.Shortfall = stage.To.Collector.Sum(runner.MetricShortfall, attr)
	m.Seconds, m.Emitted, m.Refused = generator.Seconds, generator.Emitted, generator.Refused
	m.HeldBackSeconds, m.CollectorCPU, m.OtherCPU = generator.HeldBackSeconds, generator.CollectorCPU, generator.OtherCPU
	m.Sent = max(0, generator.Emitted-generator.Refused-m.SendFailed-m.EnqueueFailed)
	return m
}

func (t *test) setStage(text string) {
	if t.live != nil {
		t.live.Update(func(s *runner.LiveState) { s.Stage = text })
	}
}

func (t *test) printProgress(i int) {
	moments := runner.Timeline(t.snaps[max(0, len(t.snaps)-6):], t.start, 5*time.Second)
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
	s := fmt.Sprintf("target %s/s, acknowledged %s/s, p50/p90/p99 %.0f/%.0f/%.0f ms, responses %s, lost %s, shortfall %s",
		runner.FormatCount(r.TargetSamplesPerSecond), runner.FormatCount(r.SentSamplesPerSecond), r.Latency.P50*1e3, r.Latency.P90*1e3, r.Latency.P99*1e3,
		responses(r.Responses), runner.FormatCount(r.DroppedSamples), runner.FormatCount(r.ShortfallSamples))
	if r.Passed {
		return s + " - passed"
	}
	return s + " - FAILED: " + r.Reason
}

func total(stages []runner.Stage) time.Duration {
	var d time.Duration
	for _, s := range stages {
		d += s.Duration
	}
	return d
}

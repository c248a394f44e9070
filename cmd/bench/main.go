// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command bench is `make bench`: it runs the built distribution against a real
// Prometheus 3 on 127.0.0.1 for every point of a matrix (generator parallelism,
// sink parallelism, instances, pace, exporter mode), and after a warm-up measures
// what Prometheus stored, what the collector emitted, dropped and failed, what
// Prometheus rejected, and the CPU and memory both used. It writes a Markdown
// table, a JSON file, a chart (SVG and PNG) and per-point timelines into
// results/<timestamp>/ (results/latest points to it) and prints the table.
//
//	go run ./cmd/bench -gen 1,2 -sink 1,2,4,8 -instances 50000 -pace pause=0 -modes ordered,unordered
//
// Ctrl-C stops the collector and Prometheus of the running point and writes what
// was measured so far.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/procstat"
	"github.com/ampload/otelcol-dummymetrics/internal/repo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

// options are the parsed flags.
type options struct {
	matrix             Matrix
	env                map[string]string
	warmup, duration   time.Duration
	progress           time.Duration
	oooWindow          time.Duration
	outRoot, title     string
	profile, keepGoing bool
	replot, tag        string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gen := fs.String("gen", "2", "generator parallelism (GENERATOR_PARALLELISM), comma-separated list")
	sink := fs.String("sink", "1,2,4", "sink parallelism (SINK_PARALLELISM): requests in flight, comma-separated list")
	instances := fs.String("instances", "50000", "dummy instances (GENERATOR_INSTANCES), two series each, comma-separated list")
	pace := fs.String("pace", "pause=0", "generator pace, comma-separated list of pause=DURATION (per worker, after each emission; 0: as fast as the pipeline takes) or rate=SAMPLES_PER_SECOND (in all)")
	modes := fs.String("modes", "ordered,unordered", "exporter modes: ordered (one queue consumer, parallel requests per batch: the shipped mode) and/or unordered (num_consumers batches in flight behind the EnableMultipleWorkers gate, Prometheus with an out-of-order window)")
	var envFlags listFlag
	fs.Var(&envFlags, "env", "KEY=VALUE for the collector on top of the matrix, e.g. -env SINK_BATCH_SIZE=8192 (repeatable)")
	o := &options{}
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "warm-up before measuring each point")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measurement window of each point (10m for a soak run)")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "how often to print progress")
	fs.DurationVar(&o.oooWindow, "ooo-window", 10*time.Minute, "Prometheus's out-of-order window in unordered mode")
	fs.StringVar(&o.outRoot, "out", "results", "folder that gets a <timestamp> folder of results and the latest link")
	fs.StringVar(&o.tag, "tag", "", "names the variant of this run in the table and the chart legend, e.g. -tag 'queue off' with -env SINK_QUEUE_ENABLED=false")
	fs.StringVar(&o.title, "title", "", "title of the report (default: the command line)")
	fs.BoolVar(&o.profile, "profile", false, "save a CPU profile of the collector over each measurement window and a heap profile at its end (pprof extension)")
	fs.BoolVar(&o.keepGoing, "keep-going", true, "go on with the next point when one fails")
	fs.StringVar(&o.replot, "replot", "", "run nothing: redraw the chart and print the table of the results.json files of these comma-separated results folders, merged, into the first")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./cmd/bench [flags]\n\nRuns the built collector against a local Prometheus for every combination of the list flags.\n\n")
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
	if o.matrix, err = ParseMatrix(*gen, *sink, *instances, *pace, *modes); err != nil {
		errs = append(errs, err)
	}
	if o.env, err = ParseEnv(envFlags); err != nil {
		errs = append(errs, err)
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
	if o.replot != "" {
		if err := replot(splitList(o.replot), o.title, stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := newRunner(o, stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	results, runErr := r.runAll(ctx)
	if err := r.write(results, args); err != nil {
		fmt.Fprintln(os.Stderr, "bench: writing the results:", err)
		return 1
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "bench: interrupted; the collector and Prometheus were stopped")
		return 130
	case runErr != nil:
		fmt.Fprintln(os.Stderr, "bench:", runErr)
		return 1
	}
	return 0
}

// runner holds what every point needs.
type runner struct {
	o                *options
	out              io.Writer
	collector, prom  string
	baseConfig       string
	unorderedOverlay string
	dir              string // results/<timestamp>
	started          time.Time
	startLoad        float64
}

func newRunner(o *options, out io.Writer) (*runner, error) {
	r := &runner{o: o, out: out, started: time.Now()}
	var err error
	if r.collector, err = repo.CollectorBinary(); err != nil {
		return nil, err
	}
	if r.prom, err = repo.PrometheusBinary(); err != nil {
		return nil, err
	}
	if r.baseConfig, err = repo.Path("collector-config.yaml"); err != nil {
		return nil, err
	}
	if r.unorderedOverlay, err = repo.Path("bench", "collector-config-unordered.yaml"); err != nil {
		return nil, err
	}
	for _, f := range []string{r.baseConfig, r.unorderedOverlay} {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	root := o.outRoot
	if !filepath.IsAbs(root) {
		if root, err = repo.Path(root); err != nil {
			return nil, err
		}
	}
	r.dir = filepath.Join(root, r.started.Format("20060102-150405"))
	if err := os.MkdirAll(filepath.Join(r.dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	r.startLoad, _ = procstat.LoadAverage()
	return r, nil
}

func (r *runner) runAll(ctx context.Context) ([]Result, error) {
	points := r.o.matrix.Points()
	for i := range points {
		points[i].Tag = r.o.tag
	}
	perPoint := r.o.warmup + r.o.duration + 5*time.Second
	fmt.Fprintf(r.out, "bench: %d points, about %s each (%s warm-up, %s measured), about %s in all; results in %s\n",
		len(points), perPoint.Round(time.Second), r.o.warmup, r.o.duration, (time.Duration(len(points)) * perPoint).Round(time.Second), r.dir)
	if r.startLoad > 0.5 {
		fmt.Fprintf(r.out, "bench: the load average is %.2f before starting: other work on this machine will show in the 'other cores' column\n", r.startLoad)
	}
	var results []Result
	var failed []string
	for i, p := range points {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(r.out, "\n[%d/%d] %s\n", i+1, len(points), p)
		res, err := r.runPoint(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(r.out, "  failed: %v\n", err)
			res = Result{Point: p, Err: firstLine(err.Error())}
			failed = append(failed, p.String())
			results = append(results, res)
			if !r.o.keepGoing {
				break
			}
			continue
		}
		fmt.Fprintf(r.out, "  => stored %s samples/s, dropped %s, rejected %s, collector %.2f µs/sample (%.2f cores), Prometheus %.2f µs/sample, peak RSS %.0f MiB\n",
			humanCount(res.StoredPerSecond()), humanCount(res.Dropped()), humanCount(res.Rejected),
			res.CollectorMicrosPerSample(), cores(res.CollectorCPU, res.Window), res.PromMicrosPerSample(), mib(res.RSSPeak))
		results = append(results, res)
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d point(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return results, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// write saves the results and prints the table.
func (r *runner) write(results []Result, args []string) error {
	cmdline := "go run ./cmd/bench " + shellJoin(args)
	title := r.o.title
	if title == "" {
		title = strings.TrimSpace(cmdline)
	}
	var table strings.Builder
	if err := RenderTable(&table, results); err != nil {
		return err
	}
	endLoad, _ := procstat.LoadAverage()
	var md strings.Builder
	fmt.Fprintf(&md, "# Bench %s\n\n", r.started.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(&md, "- command: `%s`\n", strings.TrimSpace(cmdline))
	fmt.Fprintf(&md, "- machine: %d cores (%s/%s), %s; load average %.2f at the start, %.2f at the end\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.startLoad, endLoad)
	fmt.Fprintf(&md, "- collector: %s; Prometheus: %s\n", r.collector, r.prom)
	fmt.Fprintf(&md, "- each point: %s warm-up, then %s measured", r.o.warmup, r.o.duration)
	if len(r.o.env) > 0 {
		var kv []string
		for k, v := range r.o.env {
			kv = append(kv, k+"="+v)
		}
		fmt.Fprintf(&md, "; collector environment on top of the matrix: `%s`", strings.Join(kv, " "))
	}
	md.WriteString("\n\n")
	md.WriteString(table.String())
	md.WriteString(tableNotes)
	if err := os.WriteFile(filepath.Join(r.dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "results.json"), js, 0o644); err != nil {
		return err
	}
	chartErr := WriteChart(filepath.Join(r.dir, "chart.svg"), title, results)
	if chartErr == nil {
		chartErr = WriteChart(filepath.Join(r.dir, "chart.png"), title, results)
	}
	latest := filepath.Join(filepath.Dir(r.dir), "latest")
	_ = os.Remove(latest)
	if err := os.Symlink(filepath.Base(r.dir), latest); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "\n%s\nResults: %s (also %s)\n", table.String(), r.dir, latest)
	if chartErr != nil {
		fmt.Fprintf(r.out, "No chart: %v\n", chartErr)
	}
	return nil
}

const tableNotes = `
How to read it: *stored/s* is the rate of Prometheus's prometheus_tsdb_head_samples_appended_total over
the measurement window (after the warm-up); *emitted/s* what the receiver generated (accepted + refused
by the pipeline); *dropped* every sample the collector lost in the window (refused by the memory
limiter, failed after retries, or dropped at a full exporter queue); *rejected* the samples Prometheus
refused as out of order, too old or out of bounds; *OOO accepted* those it took inside its out-of-order
window (unordered mode only). CPU is user + system time from /proc per stored sample and in cores
(busy seconds per second); *other cores* is what the rest of the machine used meanwhile (other
processes, the bench itself): above ~0.2 the point ran under contention. RSS is the collector's
resident memory at the start and end of the window and its peak (VmHWM).
`

// replot merges the results.json of dirs, draws the chart into the first folder
// and prints the table.
func replot(dirs []string, title string, out io.Writer) error {
	var results []Result
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil {
			return err
		}
		var rs []Result
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		results = append(results, rs...)
	}
	if title == "" {
		title = "bench results"
	}
	for _, name := range []string{"chart.svg", "chart.png"} {
		if err := WriteChart(filepath.Join(dirs[0], name), title, results); err != nil {
			return err
		}
	}
	if err := RenderTable(out, results); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nChart: %s\n", filepath.Join(dirs[0], "chart.svg"))
	return nil
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

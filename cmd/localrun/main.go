// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command localrun is `make run`: it runs the main job of the original sample with
// the shipped configuration until interrupted. Without PROMETHEUS_WRITE_URL it first
// starts a real Prometheus on 127.0.0.1 with a throwaway data folder and writes to
// it; with PROMETHEUS_WRITE_URL it writes there, signed with SigV4 for AMP.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func main() {
	runner.RunWatchdog()
	promAddr := flag.String("prometheus-addr", envOr("PROMETHEUS_ADDR", "127.0.0.1:9090"), "listen address of the local Prometheus (env PROMETHEUS_ADDR)")
	zpagesEnv, err := strconv.ParseBool(envOr("ZPAGES", "false"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "localrun: ZPAGES=%q: 1 or true adds the zPages, 0 or false does not\n", os.Getenv("ZPAGES"))
		os.Exit(2)
	}
	zpages := flag.Bool("zpages", zpagesEnv, "add the zPages status pages on 127.0.0.1:55679 (env ZPAGES=1)")
	progress := flag.Duration("progress", 10*time.Second, "how often to print what was emitted and stored; 0 turns it off")
	web := flag.String("web", envOr("WEB_ADDR", "127.0.0.1:8080"), "address of the live page, empty for none (env WEB_ADDR)")
	liveReadBack := flag.Duration("live-read-back", 5*time.Second, "how often the live page reads back what the backend stored over the last window")
	flag.Parse()
	if *liveReadBack < time.Second {
		fmt.Fprintf(os.Stderr, "localrun: -live-read-back %s: at least 1s (every query costs on a managed backend)\n", *liveReadBack)
		os.Exit(2)
	}
	if err := run(*promAddr, *zpages, *progress, *web, *liveReadBack); err != nil {
		fmt.Fprintln(os.Stderr, "localrun:", err)
		os.Exit(1)
	}
}

// envOr is the variable's value when it is set, even empty (WEB_ADDR= turns the
// live page off), else def.
func envOr(key, def string) string {
	if v, set := os.LookupEnv(key); set {
		return v
	}
	return def
}

func run(promAddr string, zpages bool, progressEvery time.Duration, web string, liveReadBack time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	backend, err := runner.BackendFromEnv()
	if err != nil {
		return err
	}
	// The parameters of the README's table come from make run's environment.
	settings, err := runner.SettingsIn(os.Environ())
	if err != nil {
		return err
	}
	effective, err := runner.SettingsOf(settings)
	if err != nil {
		return err
	}
	opts := runner.Options{
		Backend:    backend,
		Prometheus: runner.PrometheusOptions{Addr: promAddr},
		// The telemetry, health and pprof endpoints keep the configuration's
		// defaults; the HTTP client's latency and answers are for the live page.
		Collector: runner.CollectorOptions{DefaultPorts: true, Env: settings, Configs: []string{"collector-config-detailed.yaml"}},
	}
	switch {
	case backend.WriteURL == "":
		fmt.Printf("Starting Prometheus on %s (data and log in a temporary folder, removed at the end)\n", promAddr)
	case backend.SigV4Region != "":
		// Every request is signed, the runner's own too (the canary, the read-back).
		fmt.Printf("Writing to %s, signed with SigV4 (service aps, region %s) with the default AWS credentials\n", runner.DisplayURL(backend.WriteURL), backend.SigV4Region)
	default:
		fmt.Printf("Writing to %s%s\n", runner.DisplayURL(backend.WriteURL), backend.Describe())
	}
	if zpages {
		opts.Collector.Configs = append(opts.Collector.Configs, "collector-config-zpages.yaml")
		if opts.Backend.SigV4Region != "" {
			// Each overlay replaces the list of extensions: name all of them, or the
			// exporter finds no sigv4auth to sign with and the collector cannot start.
			opts.Collector.Configs = append(opts.Collector.Configs, "yaml:service::extensions: [health_check, pprof, sigv4auth, zpages]")
		}
	}
	var live *runner.Live
	if web != "" {
		var err error
		if live, err = runner.StartLive(web, "make run"); err != nil {
			return err
		}
		defer live.Close()
	}
	launched := time.Now()
	r, err := runner.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if r.Prometheus != nil {
			fmt.Println("Stopping Prometheus")
		}
		r.Close()
	}()
	printHowToLook(r, live)
	g, err := r.Generated(ctx)
	if err != nil {
		return err
	}
	canary, err := r.Backend.NewCanary(r.Querier, runner.CanaryRun("localrun-"+launched.Format("20060102-150405")))
	if err != nil {
		return err
	}
	background, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	canaryDone := make(chan struct{})
	go func() {
		defer close(canaryDone)
		canary.Run(background, 2*time.Second, 25*time.Millisecond)
	}()
	if live != nil {
		live.Start(launched)
		go live.ReadBackLive(background, r.Querier, g.Names, g.First, g.Instances, liveReadBack, 5*time.Second)
	}

	lastPrint := time.Now()
	_, err = r.Watch(ctx, time.Now().Add(365*24*time.Hour), time.Second, func(s runner.Snapshot) {
		if live != nil {
			live.Observe(s)
		}
		if progressEvery > 0 && time.Since(lastPrint) >= progressEvery {
			lastPrint = time.Now()
			printProgress(ctx, r, s, g)
		}
	}, func(err error) {
		if live != nil {
			live.TelemetryFailed(err)
		}
	})
	if ctx.Err() == nil {
		return fmt.Errorf("%w; the collector's log: %s", err, r.Collector.LogPath())
	}
	fmt.Println("Interrupted: stopping the collector")
	stopBackground()
	<-canaryDone // the probe below writes the canary's next sample: one writer at a time
	final, _, stopErr := r.StopCounting(context.Background(), effective.StopBound()+10*time.Second, nil)
	printSummary(r.Collector.Logged(), final)
	if stopErr == nil {
		readBack(r, canary, final, launched)
	}
	return stopErr
}

// readBack counts what the backend stored of the run through its query API, once
// a canary written after the collector stopped is queryable, and prints it.
func readBack(r *runner.Run, canary *runner.Canary, final runner.Final, launched time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := canary.Probe(ctx, 25*time.Millisecond, 2*time.Minute); err != nil {
		fmt.Println("No read-back:", err)
		return
	}
	rb, err := r.Querier.ReadBack(ctx, final.ReadBackPlan(launched, time.Now(), nil, 10e6, 100e3))
	if err != nil {
		fmt.Println("No read-back: it could not finish:", err)
		return
	}
	rb.Freshness = runner.Percentiles(canary.Freshness(launched, time.Now()))
	fmt.Println("Read back:", rb.Summary())
}

func printHowToLook(r *runner.Run, live *runner.Live) {
	fmt.Println()
	fmt.Println("The collector is running; Ctrl-C stops it (and Prometheus).")
	if live != nil {
		fmt.Printf("  Live page:            %s\n", live.URL)
	}
	fmt.Printf("  Collector telemetry:  %s\n", r.Collector.TelemetryURL)
	fmt.Printf("  Collector log:        %s\n", r.Collector.LogPath())
	fmt.Printf("  Flame graph (30 s):   go tool pprof -http 127.0.0.1:8081 '%sprofile?seconds=30'\n", r.Collector.PprofURL)
	if r.Prometheus != nil {
		q := func(promql string) string {
			return r.Prometheus.URL + "/api/v1/query?" + url.Values{"query": {promql}}.Encode()
		}
		fmt.Printf("  Prometheus:           %s\n", r.Prometheus.URL)
		fmt.Println("  Queries (curl them, or paste the PromQL into any Prometheus client):")
		fmt.Printf("    series stored:      count({__name__=~\"CPU|Memory\"})\n      %s\n", q(`count({__name__=~"CPU|Memory"})`))
		fmt.Printf("    one instance:       CPU{InstanceId=\"I0000000007\"}[1m]\n      %s\n", q(`CPU{InstanceId="I0000000007"}[1m]`))
		fmt.Printf("    samples/s stored:   rate(prometheus_tsdb_head_samples_appended_total[1m]) on %s/metrics\n", r.Prometheus.URL)
	}
	fmt.Println()
}

func printProgress(ctx context.Context, r *runner.Run, s runner.Snapshot, g runner.Generated) {
	m := s.Collector
	line := fmt.Sprintf("progress: emitted %.0f samples (refused %.0f), sent %.0f, failed %.0f, dropped at the queue %.0f",
		m.Sum(runner.MetricAccepted, nil)+m.Sum(runner.MetricRefused, nil), m.Sum(runner.MetricRefused, nil),
		m.Sum(runner.MetricSent, nil), m.Sum(runner.MetricSendFailed, nil), m.Sum(runner.MetricEnqueueFailed, nil))
	if r.Prometheus != nil {
		if series, err := r.Querier.Scalar(ctx, "count("+runner.RunSelector(g.First, g.Instances)+")", time.Now().Add(5*time.Second)); err == nil {
			line += fmt.Sprintf("; Prometheus holds %.0f series", series)
		}
	}
	fmt.Println(line)
}

func printSummary(log runner.Log, f runner.Final) {
	fmt.Printf("The receiver emitted %s samples: %s accepted by the pipeline, %s refused; the backend acknowledged %s, rejected %s; %s got no answer (batches count whole; docs/counters.md).\n",
		runner.FormatCount(f.Emitted), runner.FormatCount(f.Accepted), runner.FormatCount(f.Refused), runner.FormatCount(f.Acknowledged),
		runner.FormatCount(f.Rejected), runner.FormatCount(f.Unanswered+f.Dropped))
	if problems := log.Problems(); len(problems) > 0 {
		fmt.Printf("The collector logged %d warnings or errors; the first: %s\n", len(problems), problems[0].Raw)
	}
}

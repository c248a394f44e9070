// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Command localrun is `make run`: it runs the main job of the original sample with
// the shipped configuration until interrupted. Without PROMETHEUS_WRITE_URL it first
// starts a real Prometheus on 127.0.0.1 with a throwaway data folder and writes to
// it; with PROMETHEUS_WRITE_URL it writes there, signed with SigV4 for AMP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

func main() {
	promAddr := flag.String("prometheus-addr", envOr("PROMETHEUS_ADDR", "127.0.0.1:9090"), "listen address of the local Prometheus (env PROMETHEUS_ADDR)")
	zpages := flag.Bool("zpages", os.Getenv("ZPAGES") != "", "add the zPages status pages on 127.0.0.1:55679 (env ZPAGES=1)")
	progress := flag.Duration("progress", 10*time.Second, "how often to print what was emitted and stored; 0 turns it off")
	flag.Parse()
	if err := run(*promAddr, *zpages, *progress); err != nil {
		fmt.Fprintln(os.Stderr, "localrun:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(promAddr string, zpages bool, progressEvery time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := runner.Options{
		Backend:    runner.Backend{WriteURL: os.Getenv("PROMETHEUS_WRITE_URL")},
		Prometheus: runner.PrometheusOptions{Addr: promAddr},
		// The telemetry, health and pprof endpoints keep the configuration's defaults.
		Collector: runner.CollectorOptions{DefaultPorts: true},
	}
	if opts.Backend.WriteURL != "" {
		u, err := url.Parse(opts.Backend.WriteURL)
		if err != nil {
			return fmt.Errorf("PROMETHEUS_WRITE_URL: %w", err)
		}
		// AMP is signed; the query API is read only where it can be derived.
		opts.Backend.SigV4Region = os.Getenv("AWS_REGION")
		if opts.Backend.SigV4Region == "" && !runner.IsAMP(u) {
			return errors.New("AWS_REGION must be set: the SigV4 region can only be inferred from an aps-workspaces.<region>.amazonaws.com host")
		}
		fmt.Printf("Writing to %s, signed with SigV4 (service aps) with the default AWS credentials\n", opts.Backend.WriteURL)
	} else {
		fmt.Printf("Starting Prometheus on %s (data and log in a temporary folder, removed at the end)\n", promAddr)
	}
	if zpages {
		opts.Collector.Configs = append(opts.Collector.Configs, "collector-config-zpages.yaml")
		if opts.Backend.WriteURL != "" {
			// Each overlay replaces the list of extensions: name all of them, or the
			// exporter finds no sigv4auth to sign with and the collector cannot start.
			opts.Collector.Configs = append(opts.Collector.Configs, "yaml:service::extensions: [health_check, pprof, sigv4auth, zpages]")
		}
	}
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
	printHowToLook(r)

	var tick <-chan time.Time
	if progressEvery > 0 {
		ticker := time.NewTicker(progressEvery)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Println("Interrupted: stopping the collector")
			err := r.Stop(60 * time.Second)
			printSummary(r.Collector.Logged())
			return err
		case <-r.Collector.Exited():
			return fmt.Errorf("the collector exited with code %d; its log: %s", r.Collector.ExitCode(), r.Collector.LogPath())
		case <-tick:
			printProgress(ctx, r)
		}
	}
}

func printHowToLook(r *runner.Run) {
	fmt.Println()
	fmt.Println("The collector is running; Ctrl-C stops it (and Prometheus).")
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

func printProgress(ctx context.Context, r *runner.Run) {
	m, err := r.Collector.Telemetry(ctx)
	if err != nil {
		fmt.Println("progress: telemetry:", err)
		return
	}
	line := fmt.Sprintf("progress: emitted %.0f samples (refused %.0f), sent %.0f, failed %.0f, dropped at the queue %.0f",
		m.Sum(runner.MetricAccepted, nil)+m.Sum(runner.MetricRefused, nil), m.Sum(runner.MetricRefused, nil),
		m.Sum(runner.MetricSent, nil), m.Sum(runner.MetricSendFailed, nil), m.Sum(runner.MetricEnqueueFailed, nil))
	if r.Prometheus != nil {
		if series, err := r.Querier.Scalar(ctx, `count({__name__=~"CPU|Memory"})`, time.Now().Add(5*time.Second)); err == nil {
			line += fmt.Sprintf("; Prometheus holds %.0f series", series)
		}
	}
	fmt.Println(line)
}

func printSummary(log runner.Log) {
	for _, s := range log.ReceiverReports() {
		fmt.Printf("The receiver emitted %d samples: %d accepted by the pipeline, %d refused.\n", s.Emitted, s.Accepted, s.Refused)
	}
	if problems := log.Problems(); len(problems) > 0 {
		fmt.Printf("The collector logged %d warnings or errors; the first: %s\n", len(problems), problems[0].Raw)
	}
}

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

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
	"github.com/ampload/otelcol-dummymetrics/internal/endpointcheck"
	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/repo"
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

	collectorBin, err := repo.CollectorBinary()
	if err != nil {
		return err
	}
	var configs []string
	overlay := func(name string) error {
		path, err := repo.Path(name)
		configs = append(configs, path)
		return err
	}
	if err := overlay("collector-config.yaml"); err != nil {
		return err
	}
	env := map[string]string{}

	var prom *promserver.Server
	writeURL := os.Getenv("PROMETHEUS_WRITE_URL")
	if writeURL == "" {
		promBin, err := repo.PrometheusBinary()
		if err != nil {
			return err
		}
		dataDir, err := os.MkdirTemp("", "otelcol-dummymetrics-prometheus-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
		logPath := dataDir + ".log"
		promLog, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer promLog.Close()
		fmt.Printf("Starting Prometheus on %s (data in %s, log in %s)\n", promAddr, dataDir, logPath)
		prom, err = promserver.Start(ctx, promserver.Options{Binary: promBin, Addr: promAddr, DataDir: dataDir, Output: promLog})
		if err != nil {
			return fmt.Errorf("%w (is something else listening on %s? set PROMETHEUS_ADDR)", err, promAddr)
		}
		defer func() {
			fmt.Println("Stopping Prometheus")
			_ = prom.Stop()
		}()
		env["PROMETHEUS_WRITE_URL"] = prom.WriteURL
	} else {
		// The collector starts with an endpoint it cannot write to and retries
		// silently: find out now (docs/amp.md).
		u, err := endpointcheck.Parse("PROMETHEUS_WRITE_URL", writeURL)
		if err != nil {
			return err
		}
		if err := endpointcheck.AMPRegion(u, os.Getenv("AWS_REGION")); err != nil {
			return err
		}
		if err := (endpointcheck.Prober{}).Probe(ctx, u); err != nil && !errors.Is(err, endpointcheck.ErrProxied) {
			return fmt.Errorf("PROMETHEUS_WRITE_URL: %w", err)
		}
		fmt.Printf("Writing to %s, signed with SigV4 (service aps) with the default AWS credentials\n", writeURL)
		if err := overlay("collector-config-amp.yaml"); err != nil {
			return err
		}
	}
	if zpages {
		if err := overlay("collector-config-zpages.yaml"); err != nil {
			return err
		}
		if writeURL != "" {
			// Each overlay replaces the list of extensions: name all of them, or the
			// exporter finds no sigv4auth to sign with and the collector cannot start.
			configs = append(configs, "yaml:service::extensions: [health_check, pprof, sigv4auth, zpages]")
		}
	}

	if hint := fullLoadHint(os.Getenv); hint != "" {
		fmt.Println(hint)
	}

	col, err := collectorproc.Start(ctx, collectorproc.Options{
		Binary:  collectorBin,
		Configs: configs,
		Env:     env,
		Output:  os.Stdout,
		// The telemetry, health and pprof endpoints keep the configuration's defaults.
		UseDefaultPorts: true,
	}, true)
	if err != nil {
		return err
	}
	printHowToLook(col, prom)

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
			code, err := col.Stop(60 * time.Second)
			printSummary(col)
			if err != nil {
				return err
			}
			if code != 0 {
				return fmt.Errorf("the collector exited with code %d", code)
			}
			return nil
		case <-col.Exited():
			return fmt.Errorf("the collector exited with code %d", col.ExitCode())
		case <-tick:
			printProgress(ctx, col, prom)
		}
	}
}

// fullLoadHint warns of the one combination that loses most samples by design: no
// pause and no rate, with the exporter's queue, which drops batches when full
// instead of holding the generator back.
func fullLoadHint(getenv func(string) string) string {
	pause, err := time.ParseDuration(getenv("GENERATOR_PAUSE"))
	unpaced := err == nil && pause == 0 && (getenv("GENERATOR_RATE") == "" || getenv("GENERATOR_RATE") == "0")
	if !unpaced || getenv("SINK_QUEUE_ENABLED") == "false" {
		return ""
	}
	return "Note: GENERATOR_PAUSE=0 with the exporter's queue on generates faster than any backend stores;\n" +
		"the queue then drops most batches (counted as enqueue failures). For a full-load run set\n" +
		"SINK_QUEUE_ENABLED=false SINK_MAX_RETRY_TIME=1m, so that the backend's pace holds the generator back."
}

func printHowToLook(col *collectorproc.Process, prom *promserver.Server) {
	fmt.Println()
	fmt.Println("The collector is running; Ctrl-C stops it (and Prometheus).")
	fmt.Printf("  Collector telemetry:  %s\n", col.TelemetryURL)
	fmt.Printf("  Flame graph (30 s):   go tool pprof -http 127.0.0.1:8081 '%sprofile?seconds=30'\n", col.PprofURL)
	if prom != nil {
		q := func(promql string) string {
			return prom.URL + "/api/v1/query?" + url.Values{"query": {promql}}.Encode()
		}
		fmt.Printf("  Prometheus:           %s\n", prom.URL)
		fmt.Println("  Queries (curl them, or paste the PromQL into any Prometheus client):")
		fmt.Printf("    series stored:      count({__name__=~\"CPU|Memory\"})\n      %s\n", q(`count({__name__=~"CPU|Memory"})`))
		fmt.Printf("    one instance:       CPU{InstanceId=\"I0000000007\"}[1m]\n      %s\n", q(`CPU{InstanceId="I0000000007"}[1m]`))
		fmt.Printf("    samples/s stored:   rate(prometheus_tsdb_head_samples_appended_total[1m]) on %s/metrics\n", prom.URL)
	}
	fmt.Println()
}

func printProgress(ctx context.Context, col *collectorproc.Process, prom *promserver.Server) {
	m, err := col.Telemetry(ctx)
	if err != nil {
		fmt.Println("progress: telemetry:", err)
		return
	}
	line := fmt.Sprintf("progress: emitted %.0f samples (refused %.0f), sent %.0f, failed %.0f, dropped at the queue %.0f",
		m.Sum("otelcol_receiver_accepted_metric_points", nil)+m.Sum("otelcol_receiver_refused_metric_points", nil),
		m.Sum("otelcol_receiver_refused_metric_points", nil),
		m.Sum("otelcol_exporter_sent_metric_points", nil),
		m.Sum("otelcol_exporter_send_failed_metric_points", nil),
		m.Sum("otelcol_exporter_enqueue_failed_metric_points", nil))
	if prom != nil {
		if series, err := prom.Scalar(ctx, `count({__name__=~"CPU|Memory"})`); err == nil {
			line += fmt.Sprintf("; Prometheus holds %.0f series", series)
		}
	}
	fmt.Println(line)
}

func printSummary(col *collectorproc.Process) {
	for _, s := range collectorproc.Summaries(col.Log()) {
		fmt.Printf("The receiver emitted %d samples: %d accepted by the pipeline, %d refused.\n", s.Emitted, s.Accepted, s.Refused)
	}
	if errs := collectorproc.WarningsAndErrors(col.Log()); len(errs) > 0 {
		fmt.Printf("The collector logged %d warnings or errors; the first: %s\n", len(errs), errs[0])
	}
}

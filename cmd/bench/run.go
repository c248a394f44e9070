// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
	"github.com/ampload/otelcol-dummymetrics/internal/procstat"
	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
	"github.com/ampload/otelcol-dummymetrics/internal/scrape"
)

// MultipleWorkersGate lets remote_write_queue.num_consumers batches be in flight.
const MultipleWorkersGate = "exporter.prometheusremotewritexporter.EnableMultipleWorkers"

// snapshot is every counter the bench reads, at one moment.
type snapshot struct {
	at              time.Time
	prom, collector scrape.Metrics
	colCPU, promCPU time.Duration
	selfCPU         time.Duration
	machine         procstat.MachineCPU
	colMem, promMem procstat.Memory
}

func (r *runner) snapshot(ctx context.Context, col *collectorproc.Process, prom *promserver.Server) (snapshot, error) {
	s := snapshot{at: time.Now()}
	var err error
	if s.colCPU, err = procstat.CPU(col.Pid()); err != nil {
		return s, fmt.Errorf("collector CPU: %w", err)
	}
	if s.promCPU, err = procstat.CPU(prom.Pid()); err != nil {
		return s, fmt.Errorf("prometheus CPU: %w", err)
	}
	if s.selfCPU, err = procstat.CPU(os.Getpid()); err != nil {
		return s, err
	}
	if s.machine, err = procstat.Machine(); err != nil {
		return s, err
	}
	if s.colMem, err = procstat.Mem(col.Pid()); err != nil {
		return s, fmt.Errorf("collector memory: %w", err)
	}
	if s.promMem, err = procstat.Mem(prom.Pid()); err != nil {
		return s, fmt.Errorf("prometheus memory: %w", err)
	}
	// Scraping takes a moment on a loaded box; give each a bound.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if s.prom, err = scrape.Get(sctx, prom.URL+"/metrics"); err != nil {
		return s, fmt.Errorf("scraping prometheus: %w", err)
	}
	if s.collector, err = col.Telemetry(sctx); err != nil {
		return s, fmt.Errorf("scraping the collector's telemetry: %w", err)
	}
	return s, nil
}

// Counters read from the scrapes.
func (s snapshot) stored() float64 {
	return s.prom.Sum("prometheus_tsdb_head_samples_appended_total", nil)
}

func (s snapshot) oooAccepted() float64 {
	return s.prom.Sum("prometheus_tsdb_head_out_of_order_samples_appended_total", nil)
}

func (s snapshot) rejected() float64 {
	return s.prom.Sum("prometheus_tsdb_out_of_order_samples_total", nil) +
		s.prom.Sum("prometheus_tsdb_too_old_samples_total", nil) +
		s.prom.Sum("prometheus_tsdb_out_of_bound_samples_total", nil)
}

func (s snapshot) writeErrors() float64 {
	total := 0.0
	for _, code := range []string{"400", "409", "413", "422", "429", "500", "503"} {
		total += s.prom.Sum("prometheus_http_requests_total", map[string]string{"handler": "/api/v1/write", "code": code})
	}
	return total
}

func (s snapshot) col(name string) float64 { return s.collector.Sum(name, nil) }

// diff computes the result of the window between two snapshots.
func diff(p Point, a, b snapshot) Result {
	res := Result{
		Point:         p,
		Window:        b.at.Sub(a.at),
		Stored:        b.stored() - a.stored(),
		OOOAccepted:   b.oooAccepted() - a.oooAccepted(),
		Rejected:      b.rejected() - a.rejected(),
		WriteErrors:   b.writeErrors() - a.writeErrors(),
		Refused:       b.col("otelcol_receiver_refused_metric_points") - a.col("otelcol_receiver_refused_metric_points"),
		Sent:          b.col("otelcol_exporter_sent_metric_points") - a.col("otelcol_exporter_sent_metric_points"),
		SendFailed:    b.col("otelcol_exporter_send_failed_metric_points") - a.col("otelcol_exporter_send_failed_metric_points"),
		EnqueueFailed: b.col("otelcol_exporter_enqueue_failed_metric_points") - a.col("otelcol_exporter_enqueue_failed_metric_points"),
		CollectorCPU:  b.colCPU - a.colCPU,
		PromCPU:       b.promCPU - a.promCPU,
		RSSStart:      a.colMem.RSS,
		RSSEnd:        b.colMem.RSS,
		RSSPeak:       b.colMem.Peak,
		PromRSSPeak:   b.promMem.Peak,
	}
	res.Emitted = b.col("otelcol_receiver_accepted_metric_points") - a.col("otelcol_receiver_accepted_metric_points") + res.Refused
	other := (b.machine.Busy - a.machine.Busy) - res.CollectorCPU - res.PromCPU - (b.selfCPU - a.selfCPU)
	res.OtherCPU = max(other, 0)
	return res
}

// runPoint measures one point: a fresh Prometheus, the collector, a warm-up, the window.
func (r *runner) runPoint(ctx context.Context, p Point) (res Result, err error) {
	logs := filepath.Join(r.dir, "logs")
	promLog, err := os.Create(filepath.Join(logs, p.Slug()+".prometheus.log"))
	if err != nil {
		return res, err
	}
	defer promLog.Close()
	promOpts := promserver.Options{Binary: r.prom, Output: promLog}
	if p.Mode == Unordered {
		promOpts.OutOfOrderWindow = r.o.oooWindow
	}
	prom, err := promserver.Start(ctx, promOpts)
	if err != nil {
		return res, err
	}
	defer func() { _ = prom.Stop() }()

	configs := []string{r.baseConfig}
	gates := collectorproc.ShippedFeatureGates
	if p.Mode == Unordered {
		configs = append(configs, r.unorderedOverlay)
		gates += "," + MultipleWorkersGate
	}
	col, err := collectorproc.Start(ctx, collectorproc.Options{
		Binary:       r.collector,
		Configs:      configs,
		Env:          p.Env(prom.WriteURL, r.o.env),
		FeatureGates: gates,
		LogPath:      filepath.Join(logs, p.Slug()+".collector.log"),
	}, true)
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_, _ = col.Stop(30 * time.Second)
		}
	}()

	timeline, err := os.Create(filepath.Join(r.dir, p.Slug()+".timeline.csv"))
	if err != nil {
		return res, err
	}
	defer timeline.Close()
	fmt.Fprintln(timeline, "seconds,phase,stored_per_s,emitted_per_s,dropped,rejected,collector_cores,collector_rss_mib,prometheus_cores,other_cores")

	start, err := r.snapshot(ctx, col, prom)
	if err != nil {
		return res, err
	}
	prev := start
	watch := func(phase string, d time.Duration) (snapshot, error) {
		end := time.Now().Add(d)
		for {
			wait := min(r.o.progress, time.Until(end))
			if wait > 0 {
				select {
				case <-ctx.Done():
					return prev, ctx.Err()
				case <-col.Exited():
					return prev, fmt.Errorf("the collector exited with code %d during the %s: %s", col.ExitCode(), phase, lastLines(col.Log(), 5))
				case <-time.After(wait):
				}
			}
			now, err := r.snapshot(ctx, col, prom)
			if err != nil {
				return prev, err
			}
			step := diff(p, prev, now)
			elapsed := now.at.Sub(start.at)
			fmt.Fprintf(r.out, "  %-7s %4.0fs  stored %7s/s  emitted %7s/s  dropped %6s  rejected %5s  collector %.2f cores %4.0f MiB  Prometheus %.2f cores  others %.2f cores\n",
				phase, elapsed.Seconds(), humanCount(step.StoredPerSecond()), humanCount(step.EmittedPerSecond()),
				humanCount(step.Dropped()), humanCount(step.Rejected), cores(step.CollectorCPU, step.Window), mib(now.colMem.RSS),
				cores(step.PromCPU, step.Window), cores(step.OtherCPU, step.Window))
			fmt.Fprintf(timeline, "%.1f,%s,%.0f,%.0f,%.0f,%.0f,%.3f,%.1f,%.3f,%.3f\n",
				elapsed.Seconds(), phase, step.StoredPerSecond(), step.EmittedPerSecond(), step.Dropped(), step.Rejected,
				cores(step.CollectorCPU, step.Window), mib(now.colMem.RSS), cores(step.PromCPU, step.Window), cores(step.OtherCPU, step.Window))
			prev = now
			if !time.Now().Before(end) {
				return now, nil
			}
		}
	}

	if r.o.warmup > 0 {
		if _, err := watch("warm-up", r.o.warmup); err != nil {
			return res, err
		}
	}
	measureStart := prev
	profileDone := make(chan error, 1)
	if r.o.profile {
		go func() {
			seconds := int(r.o.duration.Round(time.Second).Seconds())
			profileDone <- fetch(ctx, fmt.Sprintf("%sprofile?seconds=%d", col.PprofURL, seconds), filepath.Join(r.dir, p.Slug()+".cpu.prof"))
		}()
	}
	measureEnd, err := watch("measure", r.o.duration)
	if err != nil {
		return res, err
	}
	res = diff(p, measureStart, measureEnd)
	res.LoadAverage, _ = procstat.LoadAverage()
	if r.o.profile {
		if err := <-profileDone; err != nil {
			fmt.Fprintf(r.out, "  CPU profile: %v\n", err)
		}
		if err := fetch(ctx, col.PprofURL+"heap", filepath.Join(r.dir, p.Slug()+".heap.prof")); err != nil {
			fmt.Fprintf(r.out, "  heap profile: %v\n", err)
		}
	}

	stopped = true
	code, err := col.Stop(60 * time.Second)
	if err != nil {
		return res, err
	}
	if code != 0 {
		return res, fmt.Errorf("the collector exited with code %d: %s", code, lastLines(col.Log(), 5))
	}
	if warnings := collectorproc.WarningsAndErrors(col.Log()); len(warnings) > 0 {
		res.LogWarnings = len(warnings)
		fmt.Fprintf(r.out, "  the collector logged %d warnings or errors; the first: %s\n", len(warnings), warnings[0])
	}
	return res, nil
}

// fetch saves the body of url into path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options describe a run: the backend, and the collector that writes to it.
type Options struct {
	// Backend is where the collector writes; an empty WriteURL starts a local
	// Prometheus with the Prometheus options, as `make run` does.
	Backend    Backend
	Prometheus PrometheusOptions
	// Collector runs on top of the shipped configuration; Start adds what the
	// backend needs (the endpoint, SigV4, headers).
	Collector CollectorOptions
	// BeforeCollector, when set, runs once the backend is known to answer and
	// before the collector starts; its error stops the run.
	BeforeCollector func(context.Context, *Run) error
}

// Run is a collector writing to a backend: the three steps of every command that
// starts one (make run, the load test, the bench) are Start, Snapshot while it
// runs, and Stop; what they report is computed from the snapshots afterwards.
type Run struct {
	Backend    Backend
	Prometheus *Prometheus // nil against a remote backend
	Collector  *Collector
	Querier    *Querier

	mu      sync.Mutex
	peakRSS int64 // the collector's, over the snapshots
}

// Start checks the backend (or starts the local Prometheus), then starts the collector.
func Start(ctx context.Context, opts Options) (*Run, error) {
	r := &Run{Backend: opts.Backend}
	if r.Backend.WriteURL == "" {
		prom, err := StartPrometheus(ctx, opts.Prometheus)
		if err != nil {
			return nil, err
		}
		r.Prometheus = prom
		r.Backend.WriteURL, r.Backend.QueryURL = prom.WriteURL, prom.URL
	} else {
		if r.Backend.QueryURL == "" {
			var err error
			if r.Backend.QueryURL, err = DeriveQueryURL(r.Backend.WriteURL); err != nil {
				return nil, err
			}
		}
		if err := r.Backend.Check(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if r.Querier, err = r.Backend.NewQuerier(); err != nil {
		r.Close()
		return nil, err
	}
	if opts.BeforeCollector != nil {
		if err := opts.BeforeCollector(ctx, r); err != nil {
			r.Close()
			return nil, err
		}
	}
	col := opts.Collector
	col.Env = maps.Clone(col.Env)
	if col.Env == nil {
		col.Env = map[string]string{}
	}
	col.Env["PROMETHEUS_WRITE_URL"] = r.Backend.WriteURL
	if col.Base == "" {
		col.Base = "collector-config.yaml"
	}
	col.Configs = append(append([]string{col.Base}, col.Configs...), r.Backend.collectorConfigs(col.Env)...)
	if r.Collector, err = StartCollector(ctx, col); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// collectorConfigs are the overlays that make the collector authenticate as the
// backend asks; secrets go through env, never the command line.
func (b Backend) collectorConfigs(env map[string]string) []string {
	var out []string
	u, _ := url.Parse(b.WriteURL)
	if b.SigV4Region != "" || IsAMP(u) {
		out = append(out, "collector-config-amp.yaml")
		if b.SigV4Region != "" {
			env["AWS_REGION"] = b.SigV4Region
		}
	}
	headers := maps.Clone(b.Headers)
	if b.BearerToken != "" {
		if headers == nil {
			headers = map[string]string{}
		}
		headers["Authorization"] = "Bearer " + b.BearerToken
	}
	// One overlay per header: an ${env:...} inside a YAML flow mapping is not
	// resolved, a whole value is.
	for i, name := range slices.Sorted(maps.Keys(headers)) {
		variable := secretPrefix + strconv.Itoa(i)
		env[variable] = headers[name]
		out = append(out, "yaml:exporters::prometheus_remote_write::http::headers::"+name+": ${env:"+variable+"}")
	}
	return out
}

// Stop stops the collector, waiting up to timeout; the local Prometheus keeps
// running for the read-back until Close.
func (r *Run) Stop(timeout time.Duration) error {
	code, err := r.Collector.Stop(timeout)
	if err == nil && code != 0 {
		err = fmt.Errorf("the collector exited with code %d:\n%s", code, lastLines(r.Collector.Log(), 5))
	}
	return err
}

// Close stops the local Prometheus, if any.
func (r *Run) Close() {
	if r.Prometheus != nil {
		_ = r.Prometheus.Stop()
	}
}

// Watch snapshots the run every `every` and once more at until, handing each
// snapshot to observe, and returns the last one. It ends early when ctx ends or
// the collector exits, with an error. A snapshot that fails (a scrape timing out
// on a loaded machine) goes to failed, when set, and the watch goes on, for
// maxFailing at most; otherwise it ends the watch.
func (r *Run) Watch(ctx context.Context, until time.Time, every time.Duration, observe func(Snapshot), failed func(error)) (Snapshot, error) {
	var last Snapshot
	var failingSince time.Time
	for {
		wait := min(every, time.Until(until))
		if !failingSince.IsZero() {
			// A snapshot that failed is tried again each `every`, not at once.
			wait = max(wait, every)
		}
		select {
		case <-ctx.Done():
			return Snapshot{}, ctx.Err()
		case <-r.Collector.Exited():
			return Snapshot{}, fmt.Errorf("the collector exited with code %d:\n%s", r.Collector.ExitCode(), lastLines(r.Collector.Log(), 5))
		case <-time.After(max(wait, 0)):
		}
		s, err := r.Snapshot(ctx)
		switch {
		case err != nil && failed == nil:
			return s, err
		case err != nil:
			failed(err)
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) >= maxFailing {
				return s, fmt.Errorf("no snapshot for %s: %w", maxFailing, err)
			}
		default:
			last, failingSince = s, time.Time{}
			if observe != nil {
				observe(s)
			}
		}
		if !time.Now().Before(until) && last.Collector != nil && failingSince.IsZero() {
			return last, nil
		}
	}
}

// maxFailing is how long Watch goes on while every snapshot fails: a loaded
// machine answers within seconds; longer, something is wrong, and waiting for
// ever would hang the run. A variable for the tests.
var maxFailing = 30 * time.Second

// ScheduleStart is when the receiver's schedule (its stages) began, as its start
// log line says.
func (r *Run) ScheduleStart(ctx context.Context) (time.Time, error) {
	e, err := r.waitLogged(ctx, "its schedule began", func(e LogEntry) bool { return e.ScheduleStart != "" })
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, e.ScheduleStart)
}

// waitLogged waits for the first line of the collector's log that found accepts.
func (r *Run) waitLogged(ctx context.Context, what string, found func(LogEntry) bool) (LogEntry, error) {
	for {
		logged := r.Collector.Logged()
		if i := slices.IndexFunc(logged, found); i >= 0 {
			return logged[i], nil
		}
		select {
		case <-ctx.Done():
			return LogEntry{}, ctx.Err()
		case <-r.Collector.Exited():
			return LogEntry{}, fmt.Errorf("the collector exited before %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopCounting stops the load: it sends the collector SIGTERM, which stops the
// receiver at once and then drains the pipeline, snapshotting it meanwhile (for
// observe, when set), and kills it when it has not exited within timeout (the
// stop bound, Settings.StopBound). It returns the exact counts of the stopped
// collector's log, and the last snapshot.
func (r *Run) StopCounting(ctx context.Context, timeout time.Duration, observe func(Snapshot)) (Final, Snapshot, error) {
	if err := r.Collector.Terminate(); err != nil {
		return Final{}, Snapshot{}, err
	}
	var last Snapshot
	deadline := time.After(timeout)
	killed := false
	for exited := false; !exited; {
		select {
		case <-r.Collector.Exited():
			exited = true
		case <-deadline:
			_, _ = r.Collector.Wait(0)
			killed, exited = true, true
		case <-time.After(500 * time.Millisecond):
			if s, err := r.Snapshot(ctx); err == nil {
				last = s
				if observe != nil {
					observe(s)
				}
			}
		}
	}
	final, err := FinalCounts(r.Collector.Logged(), last, killed)
	if err == nil && !killed && r.Collector.ExitCode() != 0 {
		err = fmt.Errorf("the collector exited with code %d:\n%s", r.Collector.ExitCode(), lastLines(r.Collector.Log(), 5))
	}
	return final, last, err
}

// Instances is the range of instances the receiver generates, [first, first+n),
// as its start log line says.
func (r *Run) Instances(ctx context.Context) (first, n int64, err error) {
	e, err := r.waitLogged(ctx, "its receiver started", func(e LogEntry) bool { return e.FirstInstance != "" && e.LastInstance != "" })
	if err != nil {
		return 0, 0, err
	}
	first, err1 := strconv.ParseInt(strings.TrimPrefix(e.FirstInstance, "I"), 10, 64)
	last, err2 := strconv.ParseInt(strings.TrimPrefix(e.LastInstance, "I"), 10, 64)
	return first, last - first + 1, errors.Join(err1, err2)
}

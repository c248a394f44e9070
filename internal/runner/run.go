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
	// Collectors is how many collectors to start on this machine (1 when 0),
	// collector k with GENERATOR_REPLICA_INDEX k, so that each writes its own
	// instances. StartMembers, when set, starts them elsewhere instead (a
	// Kubernetes Job), with the configuration and environment Start made
	// (configs: files of the repository, absolute paths and yaml: snippets, in
	// order), and returns what removes them, which Close calls.
	Collectors   int
	StartMembers func(ctx context.Context, configs []string, env map[string]string) ([]Member, func(), error)
}

// Run is collectors writing to a backend: the three steps of every command that
// starts them (make run, the load test, the bench) are Start, Snapshot while
// they run, and Stop; what they report is computed from the snapshots afterwards.
type Run struct {
	Backend    Backend
	Prometheus *Prometheus // nil against a remote backend
	Querier    *Querier
	// Members are the collectors; Collector is the first when it runs on this
	// machine (make run prints where to look at it).
	Members   []Member
	Collector *Collector

	mu      sync.Mutex
	peakRSS []int64 // each member's, over the snapshots
	cleanup func()  // removes members started elsewhere
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
	if opts.StartMembers != nil {
		if r.Members, r.cleanup, err = opts.StartMembers(ctx, col.Configs, col.Env); err != nil {
			r.Close()
			return nil, err
		}
	} else if r.Members, err = startCollectors(ctx, col, max(opts.Collectors, 1)); err != nil {
		r.Close()
		return nil, err
	}
	r.Collector, _ = r.Members[0].(*Collector)
	r.peakRSS = make([]int64, len(r.Members))
	return r, nil
}

// startCollectors starts n collectors side by side, collector k as replica k;
// when one fails, the others are stopped.
func startCollectors(ctx context.Context, col CollectorOptions, n int) ([]Member, error) {
	members := make([]Member, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		opts := col
		if n > 1 {
			opts.Env = maps.Clone(col.Env)
			opts.Env["GENERATOR_REPLICA_INDEX"] = strconv.Itoa(k)
			if col.LogPath != "" {
				opts.LogPath = strings.TrimSuffix(col.LogPath, ".log") + "-" + strconv.Itoa(k) + ".log"
			}
		}
		wg.Go(func() {
			c, err := StartCollector(ctx, opts)
			if err != nil {
				errs[k] = fmt.Errorf("collector %d: %w", k+1, err)
				return
			}
			c.name = fmt.Sprintf("collector %d", k+1)
			if n == 1 {
				c.name = "the collector"
			}
			members[k] = c
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, m := range members {
			if m != nil {
				_ = m.Terminate()
			}
		}
		return nil, err
	}
	return members, nil
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
		variable := SecretPrefix + strconv.Itoa(i)
		env[variable] = headers[name]
		out = append(out, "yaml:exporters::prometheus_remote_write::http::headers::"+name+": ${env:"+variable+"}")
	}
	return out
}

// Stop stops the collectors, waiting up to timeout; the local Prometheus keeps
// running for the read-back until Close.
func (r *Run) Stop(timeout time.Duration) error {
	var errs []error
	for _, m := range r.Members {
		_ = m.Terminate()
	}
	deadline := time.After(timeout)
	for _, m := range r.Members {
		select {
		case <-m.Exited():
			if code := m.ExitCode(); code != 0 {
				errs = append(errs, fmt.Errorf("%s exited with code %d:\n%s", m.Name(), code, lastLines(m.Log(), 5)))
			}
		case <-deadline:
			m.Kill()
			errs = append(errs, fmt.Errorf("%s did not exit within %s and was killed", m.Name(), timeout))
		}
	}
	return errors.Join(errs...)
}

// Logged is the log of every member, one after the other, each line with its member.
func (r *Run) Logged() Log {
	var all Log
	for i, m := range r.Members {
		for _, e := range m.Logged() {
			e.Member = i
			all = append(all, e)
		}
	}
	return all
}

// exited is closed when a member exits, which then says which; the watch ends
// with stop.
func (r *Run) exited() (exited <-chan struct{}, which func() Member, stop func()) {
	anyExit, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var first Member
	for _, m := range r.Members {
		go func() {
			select {
			case <-m.Exited():
				once.Do(func() { first = m; close(anyExit) })
			case <-done:
			}
		}()
	}
	return anyExit, func() Member { return first }, func() { close(done) }
}

// Close removes the members started elsewhere and stops the local Prometheus, if any.
func (r *Run) Close() {
	if r.cleanup != nil {
		r.cleanup()
		r.cleanup = nil
	}
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
	exited, which, stop := r.exited()
	defer stop()
	for {
		wait := min(every, time.Until(until))
		if !failingSince.IsZero() {
			// A snapshot that failed is tried again each `every`, not at once.
			wait = max(wait, every)
		}
		select {
		case <-ctx.Done():
			return Snapshot{}, ctx.Err()
		case <-exited:
			m := which()
			return Snapshot{}, fmt.Errorf("%s exited with code %d:\n%s", m.Name(), m.ExitCode(), lastLines(m.Log(), 5))
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

// ScheduleStart is when the receivers' schedule (their stages) began, as their
// start log lines say; it is an error when the members' differ (their
// align_start did not line them up).
func (r *Run) ScheduleStart(ctx context.Context) (time.Time, error) {
	var start time.Time
	for _, m := range r.Members {
		e, err := waitLogged(ctx, m, "its schedule began", func(e LogEntry) bool { return e.ScheduleStart != "" })
		if err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, e.ScheduleStart)
		if err != nil {
			return time.Time{}, err
		}
		if !start.IsZero() && !t.Equal(start) {
			return time.Time{}, fmt.Errorf("%s began its schedule at %s, not at %s with the others", m.Name(), t.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
		}
		start = t
	}
	return start, nil
}

// waitLogged waits for the first line of a member's log that found accepts.
func waitLogged(ctx context.Context, m Member, what string, found func(LogEntry) bool) (LogEntry, error) {
	for {
		logged := m.Logged()
		if i := slices.IndexFunc(logged, found); i >= 0 {
			return logged[i], nil
		}
		select {
		case <-ctx.Done():
			return LogEntry{}, ctx.Err()
		case <-m.Exited():
			return LogEntry{}, fmt.Errorf("%s exited before %s:\n%s", m.Name(), what, lastLines(m.Log(), 5))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopCounting stops the load: it sends every collector SIGTERM, which stops
// its receiver at once and then drains its pipeline, snapshotting the run
// meanwhile (for observe, when set), and kills those that have not exited
// within timeout (the stop bound, Settings.StopBound). It returns the exact
// counts of the stopped collectors' logs, summed, and the last snapshot.
func (r *Run) StopCounting(ctx context.Context, timeout time.Duration, observe func(Snapshot)) (Final, Snapshot, error) {
	for _, m := range r.Members {
		if err := m.Terminate(); err != nil {
			return Final{}, Snapshot{}, err
		}
	}
	all := make(chan struct{})
	go func() {
		for _, m := range r.Members {
			<-m.Exited()
		}
		close(all)
	}()
	var last Snapshot
	// Each member's newest counts: once one has exited, a snapshot of the fleet
	// fails, and those still draining are read one by one.
	lastOf := make([]Snapshot, len(r.Members))
	deadline := time.After(timeout)
	killed := make([]bool, len(r.Members))
	for done := false; !done; {
		select {
		case <-all:
			done = true
		case <-deadline:
			for i, m := range r.Members {
				select {
				case <-m.Exited():
				default:
					m.Kill()
					killed[i] = true
				}
			}
			<-all
			done = true
		case <-time.After(500 * time.Millisecond):
			if s, err := r.Snapshot(ctx); err == nil {
				last = s
				for i := range r.Members {
					lastOf[i] = s.Of(i)
				}
				if observe != nil {
					observe(s)
				}
				continue
			}
			for i, m := range r.Members {
				select {
				case <-m.Exited():
					continue
				default:
				}
				scrapeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if c, err := m.Telemetry(scrapeCtx); err == nil {
					lastOf[i] = Snapshot{At: time.Now(), Collector: c}
				}
				cancel()
			}
		}
	}
	var finals []Final
	var errs []error
	for i, m := range r.Members {
		f, err := FinalCounts(m.Logged(), lastOf[i], killed[i])
		if err == nil && !killed[i] && m.ExitCode() != 0 {
			err = fmt.Errorf("exited with code %d:\n%s", m.ExitCode(), lastLines(m.Log(), 5))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name(), err))
		}
		finals = append(finals, f)
	}
	return SumFinals(finals), last, errors.Join(errs...)
}

// Generated is what the receiver generates, as its start line says: its range
// of instances [First, First+Instances), and what the backend stores them under.
type Generated struct {
	First, Instances  int64
	Names             []string
	SeriesPerInstance int
	// SamplesPerPoint converts the exporter's data points into samples: a
	// classic histogram's point is its B + 3 samples.
	SamplesPerPoint float64
}

// Generated waits for the receivers' start lines and reads them: the members'
// ranges of instances, which follow each other, as one.
func (r *Run) Generated(ctx context.Context) (Generated, error) {
	var all Generated
	for i, m := range r.Members {
		e, err := waitLogged(ctx, m, "its receiver started", func(e LogEntry) bool { return e.FirstInstance != "" && e.LastInstance != "" })
		if err != nil {
			return Generated{}, err
		}
		g, err := e.Generated()
		if err != nil {
			return Generated{}, err
		}
		if i == 0 {
			all = g
			continue
		}
		if g.First != all.First+all.Instances {
			return Generated{}, fmt.Errorf("%s writes the instances from I%010d, not from I%010d after the others", m.Name(), g.First, all.First+all.Instances)
		}
		all.Instances += g.Instances
	}
	return all, nil
}

// Generated reads a receiver's start line.
func (e LogEntry) Generated() (Generated, error) {
	first, err1 := strconv.ParseInt(strings.TrimPrefix(e.FirstInstance, "I"), 10, 64)
	last, err2 := strconv.ParseInt(strings.TrimPrefix(e.LastInstance, "I"), 10, 64)
	g := Generated{First: first, Instances: last - first + 1, Names: StoredNames(e.Metrics), SeriesPerInstance: max(e.SeriesPerInstance, 2), SamplesPerPoint: 1}
	if len(e.Metrics) > 0 && e.SeriesPerInstance > 0 {
		g.SamplesPerPoint = float64(e.SeriesPerInstance) / float64(len(e.Metrics))
	}
	return g, errors.Join(err1, err2)
}

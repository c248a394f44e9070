// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

//go:embed live.html
var livePage []byte

// Live is the live page of a run, served on loopback: one self-contained page
// that polls the run's state every second, with the same charts as the reports.
type Live struct {
	URL string

	mu    sync.Mutex
	state LiveState
	// points are the charts' points; charts the last ones drawn, and of how
	// many points, so that every open tab's polls draw nothing new.
	points   *Recorder
	previous Snapshot // the last observed, for the collectors' cores
	charts   []Chart
	drawn    map[string][]byte
	drawnAt  int
	started  time.Time
	srv      *http.Server
	// storedRates is the read-back rate of each second since the start.
	storedRates map[int]float64
}

// LiveState is what the page shows.
type LiveState struct {
	Title   string    `json:"title"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Stage is the schedule's current stage, Verdict the verdict so far.
	Stage   string   `json:"stage"`
	Verdict []string `json:"verdict"`
	// Totals since the start: from the collector's telemetry (the exporter's
	// counts; docs/counters.md has the words). With several collectors,
	// Collectors has each one's, which a fleet's totals hide.
	Emitted float64 `json:"emitted"`
	Sent    float64 `json:"sent"`
	// Failed the backend rejected or did not answer; Dropped the collector
	// refused or dropped at its queue (the log, not read live, tells more).
	Failed     float64         `json:"failed"`
	Dropped    float64         `json:"dropped"`
	Collectors []LiveCollector `json:"collectors,omitempty"`
	// Stored is read back: the samples the backend holds with timestamps from the
	// start to StoredUntil, summed over short windows; SeriesStored the series with
	// a sample in the last five minutes; SeriesWritten the series the run wrote.
	Stored        float64   `json:"stored"`
	StoredUntil   time.Time `json:"stored_until"`
	StoredRate    float64   `json:"stored_rate"`
	SeriesStored  float64   `json:"series_stored"`
	SeriesWritten float64   `json:"series_written"`
	// Now is the latest moment: rates, latency, answers, queue, CPU, memory.
	Now *Moment `json:"now"`
	// Problems name the sources that cannot be read, by source.
	Problems map[string]string `json:"problems"`
}

// LiveCollector is one collector's totals, and its use now.
type LiveCollector struct {
	Name         string  `json:"name"`
	Acknowledged float64 `json:"acknowledged"`
	Failed       float64 `json:"failed"`
	Dropped      float64 `json:"dropped"`
	Cores        float64 `json:"cores"`
	RSSMiB       float64 `json:"rss_mib"`
}

// StartLive serves the live page at addr (host:port; port 0 picks one), or on
// another port of the host when that one is taken: URL says where.
func StartLive(addr, title string) (*Live, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		// Another run's page, most likely: a page elsewhere beats no run.
		host, _, _ := net.SplitHostPort(addr)
		l, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("the live page's address %s: %w", addr, err)
	}
	lv := &Live{URL: "http://" + l.Addr().String() + "/", started: time.Now(), state: LiveState{Title: title, Problems: map[string]string{}}}
	lv.points = NewRecorder(lv.started, 5*time.Second, livePoints)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(livePage)
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		lv.mu.Lock()
		defer lv.mu.Unlock()
		_ = json.NewEncoder(w).Encode(lv.state)
	})
	mux.HandleFunc("GET /chart/{name}", lv.chart)
	lv.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = lv.srv.Serve(l) }()
	return lv, nil
}

// Close stops serving the page.
func (lv *Live) Close() { _ = lv.srv.Close() }

// Start sets when the run's schedule began, the origin of the charts' time axis.
func (lv *Live) Start(at time.Time) {
	// Whole milliseconds, as the query API takes times: consecutive windows of
	// the read-back then neither overlap nor leave a gap.
	at = at.Truncate(time.Millisecond)
	lv.mu.Lock()
	lv.points.Restart(at)
	lv.started = at
	lv.mu.Unlock()
	lv.Update(func(s *LiveState) { s.Started = at })
}

// Update changes the state under the page's lock.
func (lv *Live) Update(change func(*LiveState)) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	change(&lv.state)
	lv.state.Updated = time.Now()
}

// Problem records that source cannot be read (err), or can again (nil).
func (lv *Live) Problem(source string, err error) {
	lv.Update(func(s *LiveState) {
		if err == nil {
			delete(s.Problems, source)
		} else {
			s.Problems[source] = err.Error()
		}
	})
}

// telemetrySource names the collector's telemetry among the page's problems.
const telemetrySource = "the collector's telemetry"

// TelemetryFailed records that the collector's telemetry could not be read; the
// next snapshot observed clears it.
func (lv *Live) TelemetryFailed(err error) { lv.Problem(telemetrySource, err) }

// SetSamplesPerPoint converts the exporter's data points into samples.
func (lv *Live) SetSamplesPerPoint(perPoint float64) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	lv.points.SetSamplesPerPoint(perPoint)
}

// livePoints is the most points the live page's charts hold: a run of hours
// draws no more than one of minutes.
const livePoints = 1000

// Observe adds a snapshot of the run.
func (lv *Live) Observe(snap Snapshot) {
	lv.mu.Lock()
	m := lv.points.Add(snap)
	perPoint := lv.points.perPoint
	var now *Moment
	if m != nil {
		c := *m
		now = &c
	}
	lv.mu.Unlock()
	total := Window{To: snap} // from nothing: the run's totals
	var fleet []LiveCollector
	if len(snap.Members) > 1 {
		for k := range snap.Members {
			own := Window{From: lv.previous.Of(k), To: snap.Of(k)}
			fleet = append(fleet, LiveCollector{
				Name: fmt.Sprintf("collector %d", k+1), Acknowledged: own.To.Collector.Sum(MetricSent, nil) * perPoint,
				Failed:  own.To.Collector.Sum(MetricSendFailed, nil) * perPoint,
				Dropped: own.To.Collector.Sum(MetricRefused, nil) + own.To.Collector.Sum(MetricEnqueueFailed, nil)*perPoint,
				Cores:   own.Cores(own.CollectorCPU()), RSSMiB: float64(own.To.CollectorUsage.RSS) / (1 << 20),
			})
		}
	}
	lv.previous = snap
	lv.Update(func(s *LiveState) {
		s.Emitted, s.Dropped = total.Emitted(), total.Collector(MetricRefused)+total.Collector(MetricEnqueueFailed)*perPoint
		s.Failed, s.Collectors = total.Collector(MetricSendFailed)*perPoint, fleet
		s.Sent, s.SeriesWritten = total.Collector(MetricSent)*perPoint, total.Collector(MetricSeriesWritten)
		if now != nil {
			s.Now = now
		}
		delete(s.Problems, telemetrySource)
	})
}

// chart serves one of the charts, drawn again only when there are new points.
func (lv *Live) chart(w http.ResponseWriter, r *http.Request) {
	index := map[string]int{"rates.svg": 0, "latency.svg": 1, "responses.svg": 2}
	i, ok := index[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	lv.mu.Lock()
	moments := lv.points.Moments()
	if lv.drawn == nil || lv.drawnAt != len(moments)+len(lv.storedRates) {
		lv.drawn, lv.drawnAt = map[string][]byte{}, len(moments)+len(lv.storedRates)
		lv.charts = TimelineCharts(lv.storedMoments(moments))
	}
	name := r.PathValue("name")
	b, drawn := lv.drawn[name]
	if !drawn {
		var err error
		if b, err = Render("svg", lv.charts[i]); err != nil {
			lv.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		lv.drawn[name] = b
	}
	lv.mu.Unlock()
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// storedMoments puts the read-back rate on the moments it covers.
func (lv *Live) storedMoments(moments []Moment) []Moment {
	for i := range moments {
		moments[i].Stored = math.NaN() // not read back yet: no point drawn
		if rate, ok := lv.storedRates[int(moments[i].Seconds)]; ok {
			moments[i].Stored = rate
		}
	}
	return moments
}

// ReadBackLive counts, every `every`, the samples the backend stored with
// timestamps in the window since its last count: an aggregate over a short window
// each time, since managed backends charge queries by samples read. The window
// ends lag before now, so that samples still on their way are counted in it.
func (lv *Live) ReadBackLive(ctx context.Context, q *Querier, names []string, first, n int64, every, lag time.Duration) {
	lv.mu.Lock()
	from := lv.started
	lv.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		to := time.Now().Add(-lag).Truncate(time.Millisecond)
		if !to.After(from) {
			continue
		}
		count, err := q.Scalar(ctx, StoredIn(names, first, n, to.Sub(from)), to)
		if err == nil {
			var series float64
			series, err = q.Scalar(ctx, fmt.Sprintf("count(%s)", RunSelector(first, n)), time.Now().Add(time.Second))
			lv.Update(func(s *LiveState) {
				s.Stored += count
				s.StoredUntil = to
				s.StoredRate = count / to.Sub(from).Seconds()
				s.SeriesStored = series
			})
			lv.mu.Lock()
			if lv.storedRates == nil {
				lv.storedRates = map[int]float64{}
			}
			for t := from; t.Before(to); t = t.Add(time.Second) {
				lv.storedRates[int(t.Sub(lv.started).Seconds())] = count / to.Sub(from).Seconds()
			}
			lv.mu.Unlock()
			from = to
		}
		lv.Problem("the backend's query API", err)
	}
}

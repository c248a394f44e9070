// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCollector serves a collector's telemetry: its CPU seconds and resident
// memory, which go up by a second and down by 10 MiB at every scrape after the
// second; failing makes it answer 503.
type fakeCollector struct {
	scrapes atomic.Int64
	failing atomic.Bool
}

func (f *fakeCollector) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if f.failing.Load() {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	n := f.scrapes.Add(1)
	rss := int64(100 << 20)
	if n == 2 {
		rss = 300 << 20
	}
	fmt.Fprintf(w, "# TYPE otelcol_process_cpu_seconds counter\notelcol_process_cpu_seconds %d\n# TYPE otelcol_process_memory_rss gauge\notelcol_process_memory_rss %d\n", n, rss)
}

// runOf is a Run whose collector is only its telemetry, as on a platform
// without /proc: nothing of the process is read but what it reports itself.
func runOf(t *testing.T, h http.Handler) *Run {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &Collector{process: &process{name: "the collector", exited: make(chan struct{})}, TelemetryURL: srv.URL}
	return &Run{Collector: c, Members: []Member{c}, peakRSS: make([]int64, 1)}
}

// TestSnapshotWithoutProc reads the collector's usage from its telemetry, the
// peak from the snapshots, and says the machine's CPU is not measured where
// the platform does not tell.
func TestSnapshotWithoutProc(t *testing.T) {
	machineBusy = func() (time.Duration, bool) { return 0, false }
	t.Cleanup(func() { machineBusy = procMachineBusy })
	r := runOf(t, &fakeCollector{})
	var snaps []Snapshot
	for range 3 {
		s, err := r.Snapshot(t.Context())
		require.NoError(t, err)
		snaps = append(snaps, s)
	}
	assert.Equal(t, 3*time.Second, snaps[2].CollectorUsage.CPU)
	assert.Equal(t, int64(100<<20), snaps[2].CollectorUsage.RSS)
	assert.Equal(t, int64(300<<20), snaps[2].CollectorUsage.PeakRSS, "the largest of the snapshots")
	assert.False(t, snaps[2].MachineMeasured)
	m := Measure(Window{From: snaps[0], To: snaps[2]})
	assert.InDelta(t, 2, m.CollectorCPU, 1e-9)
	assert.False(t, m.OtherCPUMeasured, "not measured, rather than 0")
}

// TestWatchGivesUpWhenSnapshotsFail: a telemetry endpoint that keeps failing
// ends the watch with the reason, instead of retrying for ever.
func TestWatchGivesUpWhenSnapshotsFail(t *testing.T) {
	maxFailing = 300 * time.Millisecond
	t.Cleanup(func() { maxFailing = 30 * time.Second })
	f := &fakeCollector{}
	f.failing.Store(true)
	r := runOf(t, f)
	failures := 0
	began := time.Now()
	_, err := r.Watch(t.Context(), time.Now().Add(time.Hour), 10*time.Millisecond, nil, func(error) { failures++ })
	require.ErrorContains(t, err, "no snapshot for 300ms")
	require.ErrorContains(t, err, "503")
	assert.Positive(t, failures)
	assert.Less(t, time.Since(began), 10*time.Second)
}

// TestSnapshotOfSeveralCollectors merges the collectors' telemetry: sums over
// all of them, and each one's share again with Of.
func TestSnapshotOfSeveralCollectors(t *testing.T) {
	one, two := runOf(t, &fakeCollector{}), runOf(t, &fakeCollector{})
	r := &Run{Members: []Member{one.Members[0], two.Members[0]}, peakRSS: make([]int64, 2)}
	_, err := two.Members[0].Telemetry(t.Context()) // the second collector is a scrape ahead
	require.NoError(t, err)
	s, err := r.Snapshot(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, s.CollectorUsage.CPU, "1 s and 2 s")
	assert.InDelta(t, 3, s.Collector.Sum(metricCollectorCPU, nil), 0)
	assert.InDelta(t, 1, s.Of(0).Collector.Sum(metricCollectorCPU, nil), 0)
	assert.InDelta(t, 2, s.Of(1).Collector.Sum(metricCollectorCPU, nil), 0)
	assert.Equal(t, int64(300<<20), s.Of(1).CollectorUsage.RSS)
	assert.Equal(t, int64(400<<20), s.CollectorUsage.RSS, "summed")
}

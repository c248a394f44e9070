// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get fetches the live page's path, returning the status, content type and body.
func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func state(t *testing.T, lv *Live) LiveState {
	t.Helper()
	code, kind, body := get(t, lv.URL+"state")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/json", kind)
	var s LiveState
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	return s
}

func TestLive(t *testing.T) {
	lv, err := StartLive("127.0.0.1:0", "Load test: x")
	require.NoError(t, err)
	defer lv.Close()
	require.True(t, strings.HasPrefix(lv.URL, "http://127.0.0.1:"), lv.URL)

	code, kind, page := get(t, lv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "text/html; charset=utf-8", kind)
	assert.Contains(t, page, `"chart/" + name + ".svg`)
	assert.Contains(t, page, `id="chart-rates"`)

	s := state(t, lv)
	assert.Equal(t, "Load test: x", s.Title)
	assert.Nil(t, s.Now)
	assert.Empty(t, s.Problems)

	start := time.Now().Add(-3 * time.Second).Truncate(time.Millisecond)
	lv.Start(start)
	lv.Update(func(s *LiveState) { s.Stage, s.Verdict = "stage 1 of 3", []string{"stage 0 passed"} })
	lv.Problem("the backend's query API", errors.New("connection refused"))
	lv.TelemetryFailed(errors.New("timeout"))
	for _, snap := range snapshots(t, start) {
		lv.Observe(snap)
	}
	s = state(t, lv)
	assert.True(t, s.Started.Equal(start), s.Started)
	assert.Equal(t, "stage 1 of 3", s.Stage)
	assert.Equal(t, []string{"stage 0 passed"}, s.Verdict)
	assert.Equal(t, []float64{3010, 2800, 100, 60}, []float64{s.Emitted, s.Sent, s.Failed, s.Dropped})
	assert.Empty(t, s.Collectors, "one collector: no table of them")
	assert.Equal(t, map[string]string{"the backend's query API": "connection refused"}, s.Problems, "an observation clears the telemetry's problem")
	require.NotNil(t, s.Now)
	assert.InDelta(t, 2, s.Now.Seconds, 1e-9)
	assert.InDelta(t, 1400, s.Now.Sent, 1e-9, "over the last five seconds")
	lv.Problem("the backend's query API", nil)
	assert.Empty(t, state(t, lv).Problems)

	code, kind, svg := get(t, lv.URL+"chart/rates.svg")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "image/svg+xml", kind)
	assert.Contains(t, svg, "<svg")
	assert.Contains(t, svg, ">acknowledged<")
	for _, name := range []string{"latency.svg", "responses.svg"} {
		code, _, _ = get(t, lv.URL+"chart/"+name)
		assert.Equal(t, http.StatusOK, code, name)
	}
	code, _, _ = get(t, lv.URL+"chart/rates.png")
	assert.Equal(t, http.StatusNotFound, code)

	lv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, lv.URL, http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "closed")
}

func TestLiveAddressTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	lv, err := StartLive(l.Addr().String(), "x")
	require.NoError(t, err, "a taken port is no reason to abort a run")
	defer lv.Close()
	assert.NotEqual(t, "http://"+l.Addr().String()+"/", lv.URL, "another port")
	assert.True(t, strings.HasPrefix(lv.URL, "http://127.0.0.1:"), "on the same host: %s", lv.URL)
	resp, err := http.Get(lv.URL) //nolint:noctx // a test
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestReadBackLive(t *testing.T) {
	var failing atomic.Bool
	prom := fakeQueryAPI(t, func(_ *http.Request, promql string) map[string]any {
		switch {
		case failing.Load():
			return nil
		case strings.HasPrefix(promql, "count("):
			return vector(sample{value: 60})
		default:
			return vector(sample{value: 500})
		}
	})
	lv, err := StartLive("127.0.0.1:0", "x")
	require.NoError(t, err)
	defer lv.Close()
	lv.Start(time.Now().Add(-2 * time.Second))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lv.ReadBackLive(ctx, querier(t, prom.URL), nil, 0, 30, time.Millisecond, 0)
	}()
	require.Eventually(t, func() bool { s := state(t, lv); return s.Stored >= 1000 && s.SeriesStored == 60 }, 10*time.Second, time.Millisecond)
	failing.Store(true)
	require.Eventually(t, func() bool { return state(t, lv).Problems["the backend's query API"] != "" }, 10*time.Second, time.Millisecond)
	failing.Store(false)
	require.Eventually(t, func() bool { return len(state(t, lv).Problems) == 0 }, 10*time.Second, time.Millisecond)
	cancel()
	<-done
	s := state(t, lv)
	assert.Zero(t, int(s.Stored)%500, "whole counts")
	assert.False(t, s.StoredUntil.IsZero())
}

// TestLiveFleet: with several collectors the page gets each one's totals and use.
func TestLiveFleet(t *testing.T) {
	lv, err := StartLive("127.0.0.1:0", "fleet")
	require.NoError(t, err)
	defer lv.Close()
	start := time.Now().Truncate(time.Millisecond)
	lv.Start(start)
	for i, cpu := range []time.Duration{0, 2 * time.Second} {
		one, two := telemetry(t, 1000, 0, float64(900*i), 0, 0, 1000, 9, 0), telemetry(t, 1000, 0, float64(500*i), 100, 0, 1000, 9, 0)
		lv.Observe(Snapshot{At: start.Add(time.Duration(i) * time.Second), Collector: merge([]Metrics{one, two}),
			Members: []Usage{{CPU: cpu, RSS: 100 << 20}, {CPU: cpu / 2, RSS: 50 << 20}}})
	}
	s := state(t, lv)
	require.Len(t, s.Collectors, 2)
	assert.Equal(t, LiveCollector{Name: "collector 1", Acknowledged: 900, Cores: 2, RSSMiB: 100}, s.Collectors[0])
	assert.Equal(t, LiveCollector{Name: "collector 2", Acknowledged: 500, Failed: 100, Cores: 1, RSSMiB: 50}, s.Collectors[1])
	assert.InDelta(t, 1400, s.Sent, 0, "the fleet's total")
}

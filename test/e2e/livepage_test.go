// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// browser starts a headless Chromium (Debian's package, which `make test`
// installs) for the test. A missing browser fails the test: only
// LIVEPAGE_SKIP_BROWSER=1 skips it, and says so.
func browser(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("LIVEPAGE_SKIP_BROWSER") == "1" {
		t.Skip("SKIPPED ON PURPOSE: LIVEPAGE_SKIP_BROWSER=1 - the live page is NOT tested in a browser in this run")
	}
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the live page is tested in Debian's chromium: `make test` installs it (apt-get install chromium)")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// dataLine is a data line of a chart: the axes' and legend's paths are thinner.
var dataLine = regexp.MustCompile(`<path d="([^"]*)" style="[^"]*stroke-width:1.5`)

// TestLivePage starts make run's runner against a local Prometheus, opens its
// live page in a real browser and checks that it updates, that its figures lie
// between the collector's and Prometheus's read just before and just after, and
// that it says so when the backend goes away.
func TestLivePage(t *testing.T) {
	ctx := browser(t)
	lr := startLocalRun(t, nil, "-live-read-back", "1s")
	go func() {
		for lr.out.Scan() {
		}
	}()
	pageURL, promAddr := lr.page, lr.promAddr
	collector := lr.telemetry
	prom := &runner.Prometheus{URL: "http://" + promAddr}
	q := querier(t, prom)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(pageURL)))
	attribute := func(id, name string) string {
		a, err := chromedp.Run(ctx, chromedp.AttributeValue("#"+id, name))
		require.NoError(t, err)
		return a.Value
	}
	figure := func(id string) float64 {
		f, _ := strconv.ParseFloat(attribute(id, "data-value"), 64)
		return f
	}
	chartPoints := func() int {
		svg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("chart/rates.svg").then(r => r.text())`, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		// The most points on one data line (the axes' and legend's paths are thinner or single segments).
		most := 0
		for _, m := range dataLine.FindAllStringSubmatch(svg, -1) {
			most = max(most, strings.Count(m[1], "L")+1)
		}
		return most
	}
	sent := func() float64 {
		m, err := runner.Scrape(t.Context(), collector)
		require.NoError(t, err)
		return m.Sum(runner.MetricSent, nil)
	}

	var lastStored, lastPoints float64
	for update := range 2 {
		// Figures read just before; then the page updates; then just after.
		sentBefore := sent()
		seriesBefore, err := q.Scalar(t.Context(), `count({__name__=~"CPU|Memory"})`, time.Now())
		require.NoError(t, err)
		require.Eventually(t, func() bool { return figure("stored") > lastStored && figure("sent") >= sentBefore }, 30*time.Second, 200*time.Millisecond,
			"update %d: the stored samples figure grows", update)
		pageSent, pageStored, pageSeries := figure("sent"), figure("stored"), figure("series-stored")
		until, started := attribute("stored-until", "data-ms"), attribute("title", "data-started")
		sentAfter := sent()
		seriesAfter, err := q.Scalar(t.Context(), `count({__name__=~"CPU|Memory"})`, time.Now())
		require.NoError(t, err)
		untilMs, _ := strconv.ParseInt(until, 10, 64)
		startedMs, _ := strconv.ParseInt(started, 10, 64)
		at := time.UnixMilli(untilMs)
		storedAt, err := q.Scalar(t.Context(), runner.StoredIn(nil, 0, 60, at.Sub(time.UnixMilli(startedMs))), at)
		require.NoError(t, err)

		assert.GreaterOrEqual(t, pageSent, sentBefore, "acknowledged, against the collector before")
		assert.LessOrEqual(t, pageSent, sentAfter, "acknowledged, against the collector after")
		assert.GreaterOrEqual(t, pageSeries, seriesBefore, "series stored, against Prometheus before")
		assert.LessOrEqual(t, pageSeries, seriesAfter, "series stored, against Prometheus after")
		assert.Equal(t, storedAt, pageStored, "the stored samples up to the time the page gives, against Prometheus")
		points := float64(chartPoints())
		assert.Greater(t, points, lastPoints, "the chart's data grows")
		lastStored, lastPoints = pageStored, points
	}
	if path := os.Getenv("LIVEPAGE_SCREENSHOT"); path != "" {
		time.Sleep(3 * time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}

	// The backend goes away: the page says it cannot read it, and keeps working.
	out, err := exec.Command("pkill", "-KILL", "-f", "web.listen-address="+promAddr).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Eventually(t, func() bool {
		text, _ := chromedp.Run(ctx, chromedp.Text("#problems"))
		return strings.Contains(text, "Cannot read the backend's query API")
	}, 30*time.Second, 500*time.Millisecond, "the page says the backend cannot be read")
}

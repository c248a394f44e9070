// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// writeReport writes verdict.json, the charts (SVG and PNG), report.md and a
// self-contained report.html into dir.
func writeReport(dir string, o *options, v runner.Verdict, moments []runner.Moment) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "verdict.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	charts := runner.TimelineCharts(moments)
	names := []string{"rates", "latency", "responses"}
	svgs := make([]template.HTML, len(charts))
	for i, c := range charts {
		for _, format := range []string{"svg", "png"} {
			b, err := runner.Render(format, c)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, names[i]+"."+format), b, 0o644); err != nil {
				return err
			}
			if format == "svg" {
				svgs[i] = template.HTML(b) //nolint:gosec // drawn by gonum/plot from numbers, not user input
			}
		}
	}
	md := markdown(o, v, names)
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	err = page.Execute(f, struct {
		Title, Summary string
		Verdict        runner.Verdict
		Header         []string
		Table          [][]string
		Cost           []string
		Charts         []template.HTML
	}{title(o), v.Summary(), v, tableHeader, table(v), costLines(v.Cost), svgs})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func title(o *options) string {
	backend := o.backend.WriteURL
	if backend == "" {
		backend = "a local Prometheus"
	}
	return fmt.Sprintf("Load test of %s, %s", backend, time.Now().Format("2006-01-02 15:04 MST"))
}

var tableHeader = []string{"stage", "target/s", "acknowledged/s", "latency p50 / p90 / p99", "queryable after p50 / p99", "responses", "rejected", "lost", "shortfall", "collector cores", "verdict"}

// table is the stages as rows of text.
func table(v runner.Verdict) [][]string {
	rows := make([][]string, 0, len(v.Stages))
	for i, s := range v.Stages {
		verdict := "passed"
		if !s.Passed {
			verdict = "failed: " + s.Reason
		}
		rows = append(rows, []string{
			fmt.Sprintf("%d: %s", i+1, s.Stage), runner.FormatCount(s.TargetSamplesPerSecond), runner.FormatCount(s.SentSamplesPerSecond),
			fmt.Sprintf("%.0f / %.0f / %.0f ms", s.Latency.P50*1e3, s.Latency.P90*1e3, s.Latency.P99*1e3), freshness(s.Freshness),
			responses(s.Responses), runner.FormatCount(s.RejectedSamples), runner.FormatCount(s.LostSamples), runner.FormatCount(s.ShortfallSamples), fmt.Sprintf("%.2f", s.CollectorCores), verdict,
		})
	}
	return rows
}

func freshness(q *runner.Quantiles) string {
	if q == nil {
		return "–"
	}
	if q.P99 < 1 {
		return fmt.Sprintf("%.0f / %.0f ms", q.P50*1e3, q.P99*1e3)
	}
	return fmt.Sprintf("%.2f / %.2f s", q.P50, q.P99)
}

// costLines are the figures a managed backend charges and limits by.
func costLines(c *runner.Cost) []string {
	if c == nil {
		return nil
	}
	lines := []string{
		fmt.Sprintf("samples ingested: %s; series written: %s; samples read by the read-back: %s", runner.FormatCount(c.SamplesIngested), runner.FormatCount(c.SeriesWritten), runner.FormatCount(c.SamplesRead)),
		fmt.Sprintf("the sustained rate is %s samples per hour, %s per month (730 h)", runner.FormatCount(c.SamplesPerHour), runner.FormatCount(c.SamplesPerMonth)),
	}
	if c.RunUSD > 0 {
		lines = append(lines, fmt.Sprintf("at the prices given: this run USD %.4f; a month at the sustained rate USD %.2f", c.RunUSD, c.MonthUSD))
	}
	return lines
}

func responses(r map[string]float64) string {
	codes := slices.Sorted(maps.Keys(r))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s: %.0f", c, r[c])
	}
	return strings.Join(parts, ", ")
}

func markdown(o *options, v runner.Verdict, charts []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n**Verdict: %s.**\n\n", title(o), v.Summary())
	fmt.Fprintf(&b, "%d instances, generator parallelism %d, sink parallelism %d; SLO per stage: acknowledged ≥ %.0f %% of the target, p99 ≤ %s, ≤ %.1f %% of requests failed, ≤ %.0f samples lost.\n\n",
		o.instances, o.gen, o.sink, 100*o.slo.AckRatio, o.slo.P99, 100*o.slo.ErrorRatio, o.slo.Lost)
	fmt.Fprintf(&b, "Collector settings passed: %s (the shipped defaults for the rest; verdict.json has them all).\n\n", v.Settings)
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n|" + strings.Repeat("---|", len(tableHeader)) + "\n")
	for _, row := range table(v) {
		b.WriteString("| " + strings.ReplaceAll(strings.Join(row, " | "), "\n", " ") + " |\n")
	}
	for _, s := range v.Stages {
		for cause, n := range s.Causes {
			fmt.Fprintf(&b, "\n- %s: %.0f failed write attempts (%s)", s.Stage, n, cause)
		}
	}
	if v.ReadBack != nil {
		fmt.Fprintf(&b, "\n\n**Read back:** %s.\n", v.ReadBack.Summary())
	}
	if lines := costLines(v.Cost); len(lines) > 0 {
		b.WriteString("\n**Cost and quota:** " + strings.Join(lines, "; ") + ".\n")
	}
	b.WriteString("\n\n")
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s.png)\n\n", c, c)
	}
	return b.String()
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,td:last-child{text-align:left}
.verdict{font-size:1.3em;padding:.6em;background:#eef6ee;border-left:.4em solid #2ca02c;white-space:pre-line}
.charts svg{max-width:100%;height:auto}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="verdict" id="verdict">{{.Summary}}</p>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Table}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .Verdict.ReadBack}}<p id="readback"><b>Read back:</b> {{.Verdict.ReadBack.Summary}}</p>{{end}}
{{if .Cost}}<ul id="cost">{{range .Cost}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
</body></html>
`))

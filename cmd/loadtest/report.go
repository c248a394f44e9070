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
	var readBack string
	if v.ReadBack != nil {
		readBack = v.ReadBack.Summary()
	}
	err = page.Execute(f, struct {
		Title, Headline, Setup, ReadBack string
		Verdict                          runner.Verdict
		Details, Causes, Cost            []string
		Header                           []string
		Table                            [][]string
		Charts                           []template.HTML
	}{title(o), v.Headline(), setup(o, v), readBack, v, v.Details(), v.CauseLines(), costLines(v.Cost), tableHeader, table(v), svgs})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func title(o *options) string {
	backend := runner.DisplayURL(o.backend.WriteURL)
	if backend == "" {
		backend = "a local Prometheus"
	}
	return fmt.Sprintf("Load test of %s, %s", backend, time.Now().Format("2006-01-02 15:04 MST"))
}

// setup says what ran: the collectors, the instances, the parallelism and the SLO.
func setup(o *options, v runner.Verdict) string {
	fleet := fmt.Sprintf("One collector of %s instances", runner.FormatCount(float64(o.instances)))
	if v.Collectors > 1 {
		fleet = fmt.Sprintf("%d collectors side by side, %s instances each", v.Collectors, runner.FormatCount(float64(o.instances)))
	}
	return fmt.Sprintf("%s (%s shape), generator parallelism %d, sink parallelism %d; SLO per stage: acknowledged ≥ %.0f %% of the target, "+
		"p99 ≤ %s, ≤ %.1f %% of requests failed, ≤ %.0f samples lost. Collector settings passed: %s (the shipped defaults for the rest; verdict.json has them all).",
		fleet, shapeName(o.shape), o.gen, o.sink, 100*o.slo.AckRatio, o.slo.P99, 100*o.slo.ErrorRatio, o.slo.Lost, v.Settings)
}

func shapeName(s runner.Shape) string {
	if s.Scrape {
		return "scrape, every " + s.Interval.String()
	}
	return "seed"
}

var tableHeader = []string{"stage", "target/s", "acknowledged/s", "latency p50 / p90 / p99", "queryable after p50 / p99", "responses", "rejected", "lost", "shortfall", "collector cores", "verdict"}

// table is the stages as rows of text, and under each stage of a fleet a row
// per collector.
func table(v runner.Verdict) [][]string {
	var rows [][]string
	for i, s := range v.Stages {
		verdict := "passed"
		if !s.Passed {
			verdict = "failed: " + s.Short
		}
		rows = append(rows, []string{
			fmt.Sprintf("%d: %s", i+1, s.Stage), runner.FormatCount(s.TargetSamplesPerSecond), runner.FormatCount(s.SentSamplesPerSecond),
			fmt.Sprintf("%.0f / %.0f / %.0f ms", s.Latency.P50*1e3, s.Latency.P90*1e3, s.Latency.P99*1e3), freshness(s.Freshness),
			responses(s.Responses), runner.FormatCount(s.RejectedSamples), runner.FormatCount(s.LostSamples), runner.FormatCount(s.ShortfallSamples), fmt.Sprintf("%.2f", s.CollectorCores), verdict,
		})
		for _, c := range s.Collectors {
			state := "kept up"
			if c.CollectorLimit != "" {
				state = "fell behind: " + c.CollectorLimit
			}
			rows = append(rows, []string{"↳ " + c.Name, runner.FormatCount(c.TargetSamplesPerSecond), runner.FormatCount(c.SentSamplesPerSecond), "", "", "",
				runner.FormatCount(c.RejectedSamples), runner.FormatCount(c.LostSamples), runner.FormatCount(c.ShortfallSamples), fmt.Sprintf("%.2f", c.Cores), state})
		}
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
	result := "PASSED"
	if !v.Passed {
		result = "FAILED"
	}
	fmt.Fprintf(&b, "# %s\n\n**%s: %s**\n\n", title(o), result, v.Headline())
	for _, d := range v.Details() {
		fmt.Fprintf(&b, "- %s\n", d)
	}
	fmt.Fprintf(&b, "\n%s\n\n", setup(o, v))
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n|" + strings.Repeat("---|", len(tableHeader)) + "\n")
	for _, row := range table(v) {
		b.WriteString("| " + strings.ReplaceAll(strings.Join(row, " | "), "\n", " ") + " |\n")
	}
	if causes := v.CauseLines(); len(causes) > 0 {
		b.WriteString("\n**Rejected by the backend, by cause:**\n\n")
		for _, c := range causes {
			fmt.Fprintf(&b, "- %s\n", c)
		}
	}
	if v.ReadBack != nil {
		fmt.Fprintf(&b, "\n**Read back:** %s.\n", v.ReadBack.Summary())
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
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:90em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,td:last-child{text-align:left}
.verdict{font-size:1.4em;padding:.6em .8em;margin:0}
.passed{background:#e8f5e9;border-left:.4em solid #2e7d32}
.failed{background:#fdecea;border-left:.4em solid #c62828}
#details{margin:.4em 0 1.2em 0}
.charts svg{max-width:100%;height:auto}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="verdict {{if .Verdict.Passed}}passed{{else}}failed{{end}}" id="verdict"><span id="headline">{{.Headline}}</span></p>
{{if .Details}}<ul id="details">{{range .Details}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p id="setup">{{.Setup}}</p>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Table}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .Causes}}<h2>Rejected by the backend, by cause</h2><ul id="causes">{{range .Causes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .ReadBack}}<p id="readback"><b>Read back:</b> {{.ReadBack}}</p>{{end}}
{{if .Cost}}<ul id="cost">{{range .Cost}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
</body></html>
`))

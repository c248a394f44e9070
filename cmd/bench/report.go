// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// Result is what one point measured over its measurement window.
type Result struct {
	Point Point `json:"point"`
	runner.Measurement
	// LogProblems is the number of warnings and errors the collector logged.
	LogProblems int `json:"log_problems"`
	// LimitedBy names the part of the collector that held the point back
	// (runner.CollectorLimit), empty when the backend did.
	LimitedBy string `json:"limited_by,omitempty"`
	// Err is set when the point could not be measured.
	Err string `json:"error,omitempty"`
}

// Summary is the one-line progress report of a window.
func (r Result) Summary() string {
	m := r.Measurement
	s := fmt.Sprintf("acknowledged %s/s, emitted %s/s, lost %s, p99 %s, collector %.2f cores %.2f µs/sample",
		humanCount(m.Rate(m.Sent)), humanCount(m.Rate(m.Emitted)), humanCount(m.Lost()), seconds(m.Latency.P99),
		m.Rate(m.CollectorCPU), m.MicrosPerSample(m.CollectorCPU))
	if m.PrometheusCPU > 0 {
		s += fmt.Sprintf("; Prometheus stored %s/s, refused %s, %.2f cores", humanCount(m.Rate(m.Stored)), humanCount(m.TSDBRefused), m.Rate(m.PrometheusCPU))
	}
	return s + "; others " + otherCores(m)
}

// tableHeader is the Markdown table's header.
var tableHeader = []string{
	"gen", "sink", "instances", "pace", "mode", "protocol",
	"acknowledged/s", "stored/s", "rejected", "lost", "TSDB refused", "p50 / p99 latency", "bytes/sample", "limited by",
	"collector µs/sample", "collector cores", "collector RSS MiB (peak)",
	"Prometheus µs/sample", "other cores", "log warn/err",
}

// RenderTable writes the results as a Markdown table.
func RenderTable(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---:|", len(tableHeader)) + "\n")
	for _, r := range results {
		p, m := r.Point, r.Measurement
		cells := []string{strconv.Itoa(p.GenParallelism), strconv.Itoa(p.SinkParallelism), strconv.Itoa(p.Instances), p.Pace.String(), modeCell(p), string(p.Protocol)}
		if r.Err != "" {
			cells = append(cells, "error: "+strings.ReplaceAll(r.Err, "|", "\\|"))
		} else {
			stored := "–"
			if m.PrometheusCPU > 0 {
				stored = humanCount(m.Rate(m.Stored))
			}
			cells = append(cells,
				humanCount(m.Rate(m.Sent)), stored, humanCount(m.Rejected), humanCount(m.Lost()), humanCount(m.TSDBRefused),
				seconds(m.Latency.P50)+" / "+seconds(m.Latency.P99), bytesPerSample(m), limitedBy(r),
				fmt.Sprintf("%.2f", m.MicrosPerSample(m.CollectorCPU)), fmt.Sprintf("%.2f", m.Rate(m.CollectorCPU)),
				fmt.Sprintf("%.0f", float64(m.PeakRSS)/(1<<20)), fmt.Sprintf("%.2f", m.MicrosPerSample(m.PrometheusCPU)),
				otherCores(m), strconv.Itoa(r.LogProblems))
		}
		for len(cells) < len(tableHeader) {
			cells = append(cells, "")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const tableNotes = `
How to read it (docs/counters.md defines each word): *acknowledged/s* is what the backend answered 2xx
(the exporter's sent samples) over the measurement window, after the warm-up; *stored/s* what a local
Prometheus appended; *rejected* the samples of batches the backend answered with an error status;
*lost* what the collector failed to deliver (refused by the memory limiter, unanswered, dropped at a
full queue; a failed batch counts whole); *TSDB refused* the samples a local Prometheus refused as out
of order, too old or out of bounds. Latency is per write request. *limited by* applies the load test's
rule: when the backend answered in time and refused nothing while the generator fell behind its
schedule or, at pause 0, the requests in flight waited on the backend less than half the time, the
collector is the limit, and the part of it: *sending* (requests in flight nearly all the time: the
latency and the sink parallelism set the rate), *export* (the export path's CPU, one batch at a time),
*generator*; otherwise the *backend*. CPU is user + system time per acknowledged sample and in cores;
*other cores* is what the rest of the machine used meanwhile: above ~0.2 the point ran under contention.
`

// limitedBy names what held the point back, by the load test's rule.
func limitedBy(r Result) string {
	if r.LimitedBy != "" {
		return r.LimitedBy
	}
	return "backend"
}

// otherCores is what the rest of the machine used, in cores, where the platform
// tells (Linux).
func otherCores(m runner.Measurement) string {
	if !m.OtherCPUMeasured {
		return "not measured"
	}
	return fmt.Sprintf("%.2f", m.Rate(m.OtherCPU))
}

// bytesPerSample is the compressed request bytes per acknowledged sample; – when
// nothing was acknowledged.
func bytesPerSample(m runner.Measurement) string {
	if m.Sent <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", m.Bytes/m.Sent)
}

func modeCell(p Point) string {
	if p.Tag == "" {
		return string(p.Mode)
	}
	return string(p.Mode) + ", " + p.Tag
}

// seconds writes a latency in ms.
func seconds(s float64) string {
	if s == 0 || math.IsNaN(s) {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", s*1e3)
}

// humanCount writes 0, 950, 12.3k, 456k, 1.23M.
func humanCount(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a < 1000:
		return fmt.Sprintf("%.0f", v)
	case a < 10_000:
		return fmt.Sprintf("%.2fk", v/1e3)
	case a < 100_000:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a < 1e6:
		return fmt.Sprintf("%.0fk", v/1e3)
	default:
		return fmt.Sprintf("%.2fM", v/1e6)
	}
}

// write saves the results (results.md, results.json, chart.svg, chart.png) and
// prints the table.
func write(dir string, results []Result, cmdline string, out io.Writer) error {
	var table strings.Builder
	if err := RenderTable(&table, results); err != nil {
		return err
	}
	md := fmt.Sprintf("# Bench %s\n\n- command: `%s`\n- machine: %d cores (%s/%s), %s\n\n%s%s",
		time.Now().Format("2006-01-02 15:04:05 MST"), strings.TrimSpace(cmdline), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), table.String(), tableNotes)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\nResults: %s\n", table.String(), dir)
	charts := charts(results)
	if len(charts) == 0 {
		return nil
	}
	for _, name := range []string{"chart.svg", "chart.png"} {
		if err := runner.WriteChart(filepath.Join(dir, name), charts...); err != nil {
			return err
		}
	}
	return nil
}

// charts draws acknowledged samples/s, the collector's CPU per sample and the
// compressed bytes per sample against the sink parallelism, one line per
// everything else.
func charts(results []Result) []runner.Chart {
	const x = "sink parallelism (requests in flight)"
	rate := runner.Chart{XLabel: x, YLabel: "acknowledged samples/s (thousands)"}
	cpu := runner.Chart{XLabel: x, YLabel: "collector CPU µs per acknowledged sample"}
	wire := runner.Chart{XLabel: x, YLabel: "bytes on the wire per acknowledged sample"}
	lines := map[string]int{}
	for _, r := range results {
		if r.Err != "" {
			continue
		}
		p := r.Point
		label := fmt.Sprintf("gen=%d %s %s instances=%d %s", p.GenParallelism, modeCell(p), p.Protocol, p.Instances, p.Pace)
		i, ok := lines[label]
		if !ok {
			i = len(rate.Lines)
			lines[label] = i
			for _, c := range []*runner.Chart{&rate, &cpu, &wire} {
				c.Lines = append(c.Lines, runner.Line{Label: label, Dashed: p.Mode == Unordered, Points: true})
			}
		}
		sink := float64(p.SinkParallelism)
		for c, y := range map[*runner.Chart]float64{&rate: r.Rate(r.Sent) / 1e3, &cpu: r.MicrosPerSample(r.CollectorCPU), &wire: r.Bytes / r.Sent} {
			c.Lines[i].X, c.Lines[i].Y = append(c.Lines[i].X, sink), append(c.Lines[i].Y, y)
		}
		if !slices.Contains(rate.XTicks, sink) {
			rate.XTicks = append(rate.XTicks, sink)
		}
	}
	if len(rate.Lines) == 0 {
		return nil
	}
	slices.Sort(rate.XTicks)
	cpu.XTicks, wire.XTicks = rate.XTicks, rate.XTicks
	return []runner.Chart{rate, cpu, wire}
}

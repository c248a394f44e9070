// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Result is what one point measured, over its measurement window (after the warm-up).
type Result struct {
	Point Point `json:"point"`
	// Window is the length of the measurement window.
	Window time.Duration `json:"window_ns"`

	// Stored is the number of samples Prometheus appended (in order or inside
	// the out-of-order window) during the window.
	Stored float64 `json:"stored"`
	// OOOAccepted are the stored samples that arrived out of order (unordered mode).
	OOOAccepted float64 `json:"ooo_accepted"`
	// Rejected are the samples Prometheus refused: out of order, too old, out of bounds.
	Rejected float64 `json:"rejected"`
	// WriteErrors are the remote-write requests answered 4xx or 5xx.
	WriteErrors float64 `json:"write_errors"`

	// From the collector's telemetry.
	Emitted       float64 `json:"emitted"`        // accepted + refused by the pipeline
	Refused       float64 `json:"refused"`        // refused by the pipeline (memory limiter)
	Sent          float64 `json:"sent"`           // sent by the exporter
	SendFailed    float64 `json:"send_failed"`    // failed after retries
	EnqueueFailed float64 `json:"enqueue_failed"` // dropped at a full queue

	CollectorCPU time.Duration `json:"collector_cpu_ns"`
	PromCPU      time.Duration `json:"prometheus_cpu_ns"`
	// OtherCPU is what the rest of the machine used during the window (other
	// engineers, CI, the bench program itself): a measure of contention.
	OtherCPU time.Duration `json:"other_cpu_ns"`

	// Resident memory of the collector, in bytes.
	RSSStart    int64 `json:"rss_start"`
	RSSEnd      int64 `json:"rss_end"`
	RSSPeak     int64 `json:"rss_peak"`
	PromRSSPeak int64 `json:"prometheus_rss_peak"`

	// LogWarnings is the number of warnings and errors the collector logged.
	LogWarnings int `json:"log_warnings"`

	// LoadAverage at the end of the window (one minute).
	LoadAverage float64 `json:"load_average"`

	// Err is set when the point could not be measured.
	Err string `json:"error,omitempty"`
}

// StoredPerSecond is the stored throughput.
func (r Result) StoredPerSecond() float64 { return perSecond(r.Stored, r.Window) }

// EmittedPerSecond is the generated throughput.
func (r Result) EmittedPerSecond() float64 { return perSecond(r.Emitted, r.Window) }

func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// CollectorMicrosPerSample is the collector's CPU per stored sample, in µs.
func (r Result) CollectorMicrosPerSample() float64 { return microsPer(r.CollectorCPU, r.Stored) }

// PromMicrosPerSample is Prometheus's CPU per stored sample, in µs.
func (r Result) PromMicrosPerSample() float64 { return microsPer(r.PromCPU, r.Stored) }

func microsPer(cpu time.Duration, n float64) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return float64(cpu.Microseconds()) / n
}

// cores is how many cores a CPU time kept busy over the window.
func cores(cpu, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return cpu.Seconds() / window.Seconds()
}

// Dropped is every sample lost between the receiver and Prometheus that the
// collector counted: refused by the pipeline, failed, or dropped at a full queue.
func (r Result) Dropped() float64 { return r.Refused + r.SendFailed + r.EnqueueFailed }

// tableHeader is the Markdown table's header; a test keeps the rows in step with it.
var tableHeader = []string{
	"gen", "sink", "instances", "pace", "mode",
	"stored/s", "emitted/s", "dropped", "rejected (OOO…)", "OOO accepted",
	"collector µs/sample", "collector cores", "collector RSS MiB (start→end, peak)",
	"Prometheus µs/sample", "Prometheus cores", "other cores", "load", "log warn/err",
}

// RenderTable writes the results as a Markdown table.
func RenderTable(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---:|", len(tableHeader)) + "\n")
	for _, r := range results {
		p := r.Point
		cells := []string{
			strconv.Itoa(p.GenParallelism), strconv.Itoa(p.SinkParallelism), strconv.Itoa(p.Instances), p.Pace.String(), modeCell(p),
		}
		if r.Err != "" {
			cells = append(cells, "error: "+strings.ReplaceAll(r.Err, "|", "\\|"))
			for len(cells) < len(tableHeader) {
				cells = append(cells, "")
			}
		} else {
			cells = append(cells,
				humanCount(r.StoredPerSecond()),
				humanCount(r.EmittedPerSecond()),
				humanCount(r.Dropped()),
				humanCount(r.Rejected),
				humanCount(r.OOOAccepted),
				fmt.Sprintf("%.2f", r.CollectorMicrosPerSample()),
				fmt.Sprintf("%.2f", cores(r.CollectorCPU, r.Window)),
				fmt.Sprintf("%.0f→%.0f, %.0f", mib(r.RSSStart), mib(r.RSSEnd), mib(r.RSSPeak)),
				fmt.Sprintf("%.2f", r.PromMicrosPerSample()),
				fmt.Sprintf("%.2f", cores(r.PromCPU, r.Window)),
				fmt.Sprintf("%.2f", cores(r.OtherCPU, r.Window)),
				fmt.Sprintf("%.1f", r.LoadAverage),
				strconv.Itoa(r.LogWarnings),
			)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func modeCell(p Point) string {
	if p.Tag == "" {
		return string(p.Mode)
	}
	return string(p.Mode) + ", " + p.Tag
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

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

// series is one line of the chart: the points sharing everything but the sink parallelism.
type series struct {
	label  string
	points []Result
}

// chartSeries groups the measured results into the lines of the chart, sorted by
// sink parallelism; the label names what distinguishes the lines.
func chartSeries(results []Result) []series {
	var distinct struct{ gen, inst, pace, mode map[string]bool }
	distinct.gen, distinct.inst, distinct.pace, distinct.mode = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range results {
		distinct.gen[strconv.Itoa(r.Point.GenParallelism)] = true
		distinct.inst[strconv.Itoa(r.Point.Instances)] = true
		distinct.pace[r.Point.Pace.String()] = true
		distinct.mode[string(r.Point.Mode)] = true
	}
	byLabel := map[string]*series{}
	var order []string
	for _, r := range results {
		if r.Err != "" {
			continue
		}
		p := r.Point
		parts := []string{fmt.Sprintf("gen=%d", p.GenParallelism), string(p.Mode)}
		if len(distinct.inst) > 1 {
			parts = append(parts, fmt.Sprintf("instances=%d", p.Instances))
		}
		if len(distinct.pace) > 1 {
			parts = append(parts, p.Pace.String())
		}
		if p.Tag != "" {
			parts = append(parts, "("+p.Tag+")")
		}
		label := strings.Join(parts, " ")
		s, ok := byLabel[label]
		if !ok {
			s = &series{label: label}
			byLabel[label] = s
			order = append(order, label)
		}
		s.points = append(s.points, r)
	}
	out := make([]series, 0, len(order))
	for _, label := range order {
		s := byLabel[label]
		sort.Slice(s.points, func(i, j int) bool { return s.points[i].Point.SinkParallelism < s.points[j].Point.SinkParallelism })
		out = append(out, *s)
	}
	return out
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// WriteChart draws two panels side by side, stored samples/s and the collector's
// CPU per stored sample against the sink parallelism, one line per generator
// parallelism and mode, as an SVG or PNG file (by the extension of path).
func WriteChart(path, title string, results []Result) error {
	lines := chartSeries(results)
	if len(lines) == 0 {
		return errors.New("no measured point to chart")
	}
	throughput, err := panel(title, "stored samples/s (thousands)", lines, func(r Result) float64 { return r.StoredPerSecond() / 1e3 })
	if err != nil {
		return err
	}
	cpu, err := panel("", "collector CPU µs per stored sample", lines, Result.CollectorMicrosPerSample)
	if err != nil {
		return err
	}
	const w, h = 11 * vg.Inch, 4.5 * vg.Inch
	var canvas vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg":
		// Fonts named, not embedded: a few kilobytes instead of hundreds.
		canvas = vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(false))
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}
	default:
		return fmt.Errorf("chart %s: the file name must end in .svg or .png", path)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
	throughput.Draw(tiles.At(dc, 0, 0))
	cpu.Draw(tiles.At(dc, 1, 0))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func panel(title, yLabel string, lines []series, value func(Result) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "sink parallelism (requests in flight)"
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	// Bottom left: the lines of both panels are mostly well above zero.
	p.Legend.Top = false
	p.Legend.Left = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Millimeter*3, vg.Millimeter*3
	p.Add(plotter.NewGrid())
	var ticks []plot.Tick
	seen := map[int]bool{}
	for i, s := range lines {
		xys := make(plotter.XYs, 0, len(s.points))
		for _, r := range s.points {
			v := value(r)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(r.Point.SinkParallelism), Y: v})
			if !seen[r.Point.SinkParallelism] {
				seen[r.Point.SinkParallelism] = true
				ticks = append(ticks, plot.Tick{Value: float64(r.Point.SinkParallelism), Label: strconv.Itoa(r.Point.SinkParallelism)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		c := palette[i%len(palette)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		if strings.Contains(s.label, string(Unordered)) {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(s.label, line, points)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	return p, nil
}

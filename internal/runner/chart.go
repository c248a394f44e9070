// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is a line chart: the one renderer of the reports, the bench and the live
// page, drawn on the server with gonum/plot.
type Chart struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	// XTicks, when set, are the only ticks of the x axis (the bench's parallelisms).
	XTicks []float64
}

// Line is one line of a chart.
type Line struct {
	Label  string
	X, Y   []float64
	Dashed bool
	// Points marks every point with a dot.
	Points bool
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

func (c Chart) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = c.Title, c.XLabel, c.YLabel
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs, p.Legend.Padding = vg.Millimeter*3, -vg.Millimeter*2, vg.Points(2)
	p.Add(plotter.NewGrid())
	for i, l := range c.Lines {
		xys := make(plotter.XYs, 0, len(l.X))
		for j := range l.X {
			if !math.IsNaN(l.Y[j]) && !math.IsInf(l.Y[j], 0) {
				xys = append(xys, plotter.XY{X: l.X[j], Y: l.Y[j]})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = palette[i%len(palette)], vg.Points(1.5)
		if l.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(l.Label, line)
		if l.Points {
			dots, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			dots.Color, dots.Shape = line.Color, draw.CircleGlyph{}
			p.Add(dots)
		}
	}
	// Room above the highest point for the legend, so that it hides no line.
	if ymax := c.maxY(); ymax > 0 {
		p.Y.Max = ymax * (1 + 0.09*float64(len(c.Lines)))
	}
	if len(c.XTicks) > 0 {
		ticks := make([]plot.Tick, len(c.XTicks))
		for i, x := range c.XTicks {
			ticks[i] = plot.Tick{Value: x, Label: fmt.Sprint(x)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	return p, nil
}

// Render draws the charts side by side as SVG or PNG.
func Render(format string, charts ...Chart) ([]byte, error) {
	w, h := vg.Length(len(charts))*5.5*vg.Inch, 4*vg.Inch
	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		// Fonts named, not embedded: a few kilobytes instead of hundreds.
		canvas = vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(false))
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}
	default:
		return nil, fmt.Errorf("chart format %q: svg or png", format)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 1, Cols: len(charts), PadX: vg.Millimeter * 6, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
	for i, c := range charts {
		p, err := c.plot()
		if err != nil {
			return nil, err
		}
		p.Draw(tiles.At(dc, i, 0))
	}
	var b bytes.Buffer
	_, err := canvas.WriteTo(&b)
	return b.Bytes(), err
}

// WriteChart renders the charts into path, as SVG or PNG by its extension.
func WriteChart(path string, charts ...Chart) error {
	b, err := Render(strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."), charts...)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func (c Chart) maxY() float64 {
	m := 0.0
	for _, l := range c.Lines {
		for _, y := range l.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				m = max(m, y)
			}
		}
	}
	return m
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode is how the exporter sends the batches.
type Mode string

const (
	// Ordered is the shipped mode: one queue consumer, so batches leave one after
	// the other, and the requests of one batch go out in parallel
	// (max_batch_request_parallelism = sink parallelism). Every series stays in order.
	Ordered Mode = "ordered"
	// Unordered turns on the exporter's multiple-workers gate: num_consumers = sink
	// parallelism batches in flight, one request at a time each. A series can
	// arrive out of order, so Prometheus gets an out-of-order window.
	Unordered Mode = "unordered"
)

// multipleWorkersGate lets remote_write_queue.num_consumers batches be in flight.
const multipleWorkersGate = "exporter.prometheusremotewritexporter.EnableMultipleWorkers"

// overlays are the collector configuration of the mode: unordered sends one
// request at a time of each of sink batches in flight, so that as many requests
// are in flight as in the ordered mode. The queue must be on for its consumers.
func (m Mode) overlays(sink int) []string {
	if m != Unordered {
		return nil
	}
	return []string{
		"yaml:exporters::prometheus_remote_write::max_batch_request_parallelism: 1",
		fmt.Sprintf("yaml:exporters::prometheus_remote_write::remote_write_queue: {enabled: true, num_consumers: %d}", sink),
	}
}

// Protocol is the remote-write protocol the exporter speaks.
type Protocol string

const (
	// RW1 is remote write 1.0, the shipped protocol.
	RW1 Protocol = "rw1"
	// RW2 is remote write 2.0, behind the exporter's feature gate; a local
	// Prometheus accepts both.
	RW2 Protocol = "rw2"
)

// rw2Gate turns on the exporter's remote-write 2.0.
const rw2Gate = "exporter.prometheusremotewritexporter.enableSendingRW2"

// overlays are the collector configuration of the protocol.
func (p Protocol) overlays() []string {
	if p != RW2 {
		return nil
	}
	return []string{"yaml:exporters::prometheus_remote_write::protobuf_message: io.prometheus.write.v2.Request"}
}

// Pace is how the generator is paced, in the seed shape a pause after each
// emission per worker or a total rate in samples per second, or the scrape
// shape: every series of every instance one sample per Scrape interval, so
// that the translator's cost per sample compares between the seed's many
// samples per series in a batch and the scrape's one.
type Pace struct {
	Pause  time.Duration
	Rate   float64
	Scrape time.Duration `json:",omitempty"`
}

func (p Pace) String() string {
	switch {
	case p.Scrape > 0:
		return "scrape=" + p.Scrape.String()
	case p.Rate > 0:
		return "rate=" + strconv.FormatFloat(p.Rate, 'f', -1, 64)
	}
	return "pause=" + formatDuration(p.Pause)
}

// overlays are the collector configuration of the pace: the scrape shape.
func (p Pace) overlays() []string {
	if p.Scrape <= 0 {
		return nil
	}
	return []string{fmt.Sprintf("yaml:receivers::dummymetrics: {shape: scrape, scrape: {interval: %s}}", p.Scrape)}
}

func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// Point is one run of the matrix.
type Point struct {
	GenParallelism  int
	SinkParallelism int
	Instances       int
	Pace            Pace
	Mode            Mode
	Protocol        Protocol
	// Tag names the variant of the run (the -tag flag, e.g. "queue off") in the
	// table and the chart's legend.
	Tag string `json:",omitempty"`
}

func (p Point) String() string {
	s := fmt.Sprintf("gen=%d sink=%d instances=%d %s mode=%s %s", p.GenParallelism, p.SinkParallelism, p.Instances, p.Pace, p.Mode, p.Protocol)
	if p.Tag != "" {
		s += " (" + p.Tag + ")"
	}
	return s
}

// Slug names the point's files.
func (p Point) Slug() string {
	return fmt.Sprintf("gen%d-sink%d-inst%d-%s-%s-%s", p.GenParallelism, p.SinkParallelism, p.Instances,
		strings.NewReplacer("=", "", ".", "_").Replace(p.Pace.String()), p.Mode, p.Protocol)
}

// Matrix is what the flags ask for: every combination of its lists.
type Matrix struct {
	Gen, Sink, Instances []int
	Paces                []Pace
	Modes                []Mode
	Protocols            []Protocol
}

// ParseMatrix parses the comma-separated lists of the flags.
func ParseMatrix(gen, sink, instances, paces, modes, protocols string) (Matrix, error) {
	var m Matrix
	var errs []error
	var err error
	if m.Gen, err = parseInts("-gen", gen); err != nil {
		errs = append(errs, err)
	}
	if m.Sink, err = parseInts("-sink", sink); err != nil {
		errs = append(errs, err)
	}
	if m.Instances, err = parseInts("-instances", instances); err != nil {
		errs = append(errs, err)
	}
	if m.Paces, err = parsePaces(paces); err != nil {
		errs = append(errs, err)
	}
	if m.Modes, err = parseModes(modes); err != nil {
		errs = append(errs, err)
	}
	if m.Protocols, err = parseProtocols(protocols); err != nil {
		errs = append(errs, err)
	}
	for _, n := range m.Instances {
		for _, g := range m.Gen {
			if n%g != 0 {
				errs = append(errs, fmt.Errorf("-instances %d is not a multiple of -gen %d: each generator worker owns instances/parallelism instances", n, g))
			}
		}
	}
	return m, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parseInts(flagName, s string) ([]int, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: empty list", flagName)
	}
	out := make([]int, 0, len(items))
	for _, item := range items {
		n, err := strconv.Atoi(strings.ReplaceAll(item, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, item)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%s: %d is listed twice", flagName, n)
		}
		out = append(out, n)
	}
	return out, nil
}

// parsePaces parses items such as "pause=0", "pause=1ms", "rate=450000" (samples/s).
func parsePaces(s string) ([]Pace, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, errors.New("-pace: empty list")
	}
	out := make([]Pace, 0, len(items))
	for _, item := range items {
		kind, value, ok := strings.Cut(item, "=")
		var p Pace
		switch {
		case !ok:
			return nil, fmt.Errorf("-pace: %q is neither pause=DURATION nor rate=SAMPLES_PER_SECOND", item)
		case kind == "pause":
			d, err := time.ParseDuration(value)
			if value == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 {
				return nil, fmt.Errorf("-pace: %q: the pause must be a non-negative duration such as 0 or 1ms", item)
			}
			p.Pause = d
		case kind == "rate":
			r, err := strconv.ParseFloat(strings.ReplaceAll(value, "_", ""), 64)
			if err != nil || r <= 0 {
				return nil, fmt.Errorf("-pace: %q: the rate must be a positive number of samples per second", item)
			}
			p.Rate = r
		case kind == "scrape":
			d, err := time.ParseDuration(value)
			if err != nil || d < time.Second {
				return nil, fmt.Errorf("-pace: %q: the scrape interval must be a duration of at least 1s", item)
			}
			p.Scrape = d
		default:
			return nil, fmt.Errorf("-pace: %q: unknown kind %q (pause, rate or scrape)", item, kind)
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("-pace: %s is listed twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProtocols(s string) ([]Protocol, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, errors.New("-protocols: empty list")
	}
	out := make([]Protocol, 0, len(items))
	for _, item := range items {
		p := Protocol(item)
		if p != RW1 && p != RW2 {
			return nil, fmt.Errorf("-protocols: %q is neither %s nor %s", item, RW1, RW2)
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("-protocols: %s is listed twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseModes(s string) ([]Mode, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, errors.New("-modes: empty list")
	}
	out := make([]Mode, 0, len(items))
	for _, item := range items {
		m := Mode(item)
		if m != Ordered && m != Unordered {
			return nil, fmt.Errorf("-modes: %q is neither %s nor %s", item, Ordered, Unordered)
		}
		if slices.Contains(out, m) {
			return nil, fmt.Errorf("-modes: %s is listed twice", m)
		}
		out = append(out, m)
	}
	return out, nil
}

// Points lists the matrix's points, the protocol varying fastest, then the sink
// parallelism, so that the points of one line of the chart run close together.
func (m Matrix) Points() []Point {
	var out []Point
	for _, mode := range m.Modes {
		for _, inst := range m.Instances {
			for _, pace := range m.Paces {
				for _, gen := range m.Gen {
					for _, sink := range m.Sink {
						// The protocols of one point run one after the other, so that
						// a drift of the machine affects both alike.
						for _, proto := range m.Protocols {
							out = append(out, Point{GenParallelism: gen, SinkParallelism: sink, Instances: inst, Pace: pace, Mode: mode, Protocol: proto})
						}
					}
				}
			}
		}
	}
	return out
}

// ParseEnv parses KEY=VALUE items of the -env flag.
func ParseEnv(items []string) (map[string]string, error) {
	env := map[string]string{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("-env: %q is not KEY=VALUE", item)
		}
		if reserved[k] {
			return nil, fmt.Errorf("-env: %s is set by the bench itself from the matrix; use the matrix flags", k)
		}
		env[k] = v
	}
	return env, nil
}

// reserved are the variables that the matrix sets.
var reserved = map[string]bool{
	"GENERATOR_PARALLELISM": true,
	"GENERATOR_INSTANCES":   true,
	"GENERATOR_PAUSE":       true,
	"GENERATOR_RATE":        true,
	"SINK_PARALLELISM":      true,
	"PROMETHEUS_WRITE_URL":  true,
}

// Env is the collector's environment for the point.
func (p Point) Env(extra map[string]string) map[string]string {
	env := maps.Clone(extra)
	if env == nil {
		env = map[string]string{}
	}
	env["GENERATOR_PARALLELISM"] = strconv.Itoa(p.GenParallelism)
	env["GENERATOR_INSTANCES"] = strconv.Itoa(p.Instances)
	env["SINK_PARALLELISM"] = strconv.Itoa(p.SinkParallelism)
	if p.Pace.Scrape > 0 { // the interval paces the scrape shape: no pause, no rate
		env["GENERATOR_PAUSE"], env["GENERATOR_RATE"] = "", ""
		return env
	}
	env["GENERATOR_PAUSE"] = formatDuration(p.Pace.Pause)
	env["GENERATOR_RATE"] = strconv.FormatFloat(p.Pace.Rate, 'f', -1, 64)
	return env
}

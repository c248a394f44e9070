// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stage is one step of a load test's schedule: a rate held, or ramped linearly
// from From to To, over Duration. From and To are samples per second of one
// collector, or, with an Interval (the scrape shape), active series.
type Stage struct {
	Duration time.Duration `json:"duration_ns"`
	From     float64       `json:"from"`
	To       float64       `json:"to"`
	Interval time.Duration `json:"interval_ns,omitempty"`
}

// Target is the stage's mean rate in samples per second: what it offers in all,
// per second.
func (s Stage) Target() float64 {
	if s.Interval > 0 {
		return s.TargetSeries() / s.Interval.Seconds()
	}
	return (s.From + s.To) / 2
}

// TargetSeries is the stage's mean active series (0 in the seed shape).
func (s Stage) TargetSeries() float64 {
	if s.Interval <= 0 {
		return 0
	}
	return (s.From + s.To) / 2
}

func (s Stage) String() string {
	unit := "/s"
	if s.Interval > 0 {
		unit = " active series"
	}
	if s.From == s.To {
		return fmt.Sprintf("%s at %s%s", s.Duration, formatRate(s.From), unit)
	}
	return fmt.Sprintf("%s ramping %s%s to %s%s", s.Duration, formatRate(s.From), unit, formatRate(s.To), unit)
}

// ParseStages parses comma-separated DURATION:RATE (hold) and DURATION:FROM-TO
// (ramp) items, e.g. "30s:10000,60s:10000-40000"; rates may use _ and k/M.
func ParseStages(text string) ([]Stage, error) {
	var stages []Stage
	var errs []error
	for item := range strings.SplitSeq(text, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		d, rates, ok := strings.Cut(item, ":")
		duration, err := time.ParseDuration(d)
		if !ok || err != nil || duration <= 0 {
			errs = append(errs, fmt.Errorf("-stages: %q is not DURATION:RATE or DURATION:FROM-TO with a positive duration such as 30s", item))
			continue
		}
		from, to, ramp := strings.Cut(rates, "-")
		if !ramp {
			to = from
		}
		s := Stage{Duration: duration}
		var errFrom, errTo error
		s.From, errFrom = parseRate(from)
		s.To, errTo = parseRate(to)
		if errFrom != nil || errTo != nil {
			errs = append(errs, fmt.Errorf("-stages: %q: rates must be 0 (idle) or at least 1 sample/s, e.g. 10000, 10k or 1.5M", item))
			continue
		}
		stages = append(stages, s)
	}
	if len(stages) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("-stages: no stage"))
	}
	return stages, errors.Join(errs...)
}

func parseRate(s string) (float64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "M"):
		s, mult = strings.TrimSuffix(s, "M"), 1e6
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (v > 0 && v*mult < 1) {
		return 0, errors.New("bad rate")
	}
	return v * mult, nil
}

func formatRate(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// CheckStages refuses stages that the instances cannot carry: one sample per
// millisecond per series, two series per instance.
func CheckStages(stages []Stage, instances int) error {
	limit := float64(2*instances) * 1000
	var errs []error
	for i, s := range stages {
		if m := max(s.From, s.To); m > limit {
			errs = append(errs, fmt.Errorf("-stages: stage %d (%s) asks for %s samples/s, more than the %d instances carry (%s: one sample per millisecond per series); raise -instances to at least %d",
				i+1, s, formatRate(m), instances, formatRate(limit), int(math.Ceil(m/2000))))
		}
	}
	return errors.Join(errs...)
}

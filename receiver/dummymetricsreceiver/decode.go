// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

var _ confmap.Unmarshaler = (*Config)(nil)

// decoded is what the raw configuration said that the decoded values no longer show.
type decoded struct {
	pauseSet, rateSet bool // set to a value, not left out or empty

	// problems found in the raw values, reported by Validate with all the others.
	problems []string
}

// Unmarshal decodes the configuration after looking at the raw values, which the
// decoding hides: a duration given as a bare number would become nanoseconds, and
// an empty value (what ${env:VAR:-} expands to when VAR is unset) would become 0.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	cfg.decoded = decoded{}
	// conf is the decoder's own copy of the configuration, so keys can be dropped.
	for _, key := range []string{"pause", "rate"} {
		if v := conf.Get(key); conf.IsSet(key) && (v == nil || v == "") {
			conf.Delete(key) // not set: the default stays
		}
	}
	cfg.decoded.pauseSet, cfg.decoded.rateSet = conf.IsSet("pause"), conf.IsSet("rate")

	problems := []string{
		unitless("pause", conf.Get("pause"), "ms", " (the original's GeneratorPauseBetweenTimeSeriesMs was in milliseconds)"),
		unitless("align_start", conf.Get("align_start"), "s", ""),
	}
	scrape, _ := conf.Get("scrape").(map[string]any)
	problems = append(problems,
		unitless("scrape.interval", scrape["interval"], "s", ""),
		unitless("scrape.churn", scrape["churn"], "s", ""))
	stages, _ := conf.Get("stages").([]any)
	for i, stage := range stages {
		if stage, ok := stage.(map[string]any); ok {
			problems = append(problems, unitless(fmt.Sprintf("stages[%d].duration", i), stage["duration"], "s", ""))
		}
	}
	for _, problem := range problems {
		if problem != "" {
			cfg.decoded.problems = append(cfg.decoded.problems, problem)
		}
	}
	if text, ok := conf.Get("replica_index").(string); ok && strings.TrimSpace(text) != "" {
		if _, err := parseReplicaIndex(strings.TrimSpace(text)); err != nil {
			cfg.decoded.problems = append(cfg.decoded.problems, fmt.Sprintf("replica_index (%q) %v", text, err))
			conf.Delete("replica_index")
		}
	}

	type plain Config // without methods, so that decoding does not call Unmarshal again
	if err := conf.Unmarshal((*plain)(cfg)); err != nil {
		return err
	}
	cfg.decoded.problems = append(cfg.decoded.problems, misplaced(cfg.Shape, scrape, stages)...)
	return nil
}

// misplaced returns the problems of keys that belong to the other shape and that
// the decoded values cannot show: a scrape block, or a stage's rate or
// active_series set to 0. Validate finds the non-zero ones itself.
func misplaced(shape Shape, scrape map[string]any, stages []any) []string {
	var problems []string
	if shape != ShapeScrape && len(scrape) > 0 {
		problems = append(problems, fmt.Sprintf("scrape (%s) is set, but shape is %q: the scrape block belongs to shape: scrape",
			strings.Join(slices.Sorted(maps.Keys(scrape)), ", "), shape.String()))
	}
	for i, stage := range stages {
		stage, _ := stage.(map[string]any)
		other := "active_series" // the other shape's key
		if shape == ShapeScrape {
			other = "rate"
		}
		if v, ok := stage[other]; ok && isZero(v) {
			problems = append(problems, fmt.Sprintf("stages[%d].%s (%v) is set, but shape is %q", i, other, v, shape.String()))
		}
	}
	return problems
}

// isZero tells whether a raw value decodes to the number 0, which Validate cannot
// tell from a key left out.
func isZero(v any) bool {
	switch v := v.(type) {
	case int:
		return v == 0
	case int64:
		return v == 0
	case uint64:
		return v == 0
	case float64:
		return v == 0
	case string:
		return strings.TrimSpace(v) == "0"
	}
	return false
}

// unitless returns the problem of a duration given as a bare number, which the
// decoder would read as nanoseconds, or "" when value is not one. 0 needs no unit.
func unitless(key string, value any, unit, why string) string {
	var number float64
	switch v := value.(type) {
	case int:
		number = float64(v)
	case int64:
		number = float64(v)
	case uint64:
		number = float64(v)
	case float64:
		number = v
	default:
		return ""
	}
	if number == 0 {
		return ""
	}
	return fmt.Sprintf("%s (%v) has no unit: write %v%s%s; a bare number would be nanoseconds", key, value, value, unit, why)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"fmt"
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
	if stages, ok := conf.Get("stages").([]any); ok {
		for i, stage := range stages {
			if stage, ok := stage.(map[string]any); ok {
				problems = append(problems, unitless(fmt.Sprintf("stages[%d].duration", i), stage["duration"], "s", ""))
			}
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
	return conf.Unmarshal((*plain)(cfg))
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

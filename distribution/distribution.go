// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package distribution holds what the otelcol-dummymetrics distribution adds to
// the collector besides its components, as a confmap converter that ocb wires into
// the binary (builder-config.yaml, converters):
//
//   - the feature gates every run needs are on by default, so that no command
//     line, image or deployment has to repeat them (--feature-gates still turns
//     them off);
//   - a duration given as a bare number stops the collector at start-up with the
//     unit to write, instead of being read as nanoseconds: GENERATOR_PAUSE=100 or
//     SINK_REQUEST_TIMEOUT=30 are mistakes, not 100 ns and 30 ns;
//   - the garbage collector runs less often than Go's default, since a load
//     generator's live heap is small and its CPU is what the user pays for
//     (GOGC and GOMEMLIMIT still decide when set).
package distribution // import "github.com/ampload/otelcol-dummymetrics/distribution"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/featuregate"
)

// DefaultFeatureGates are on unless the command line says otherwise: the
// remote-write exporter retries 429 answers, as the original sample did.
var DefaultFeatureGates = []string{"exporter.prometheusremotewritexporter.RetryOn429"}

// durationKeys are the keys that hold durations in the distribution's components
// (the receiver checks its own too, for collectors without this converter).
var durationKeys = []string{
	"timeout", "check_interval", "initial_interval", "max_interval", "max_elapsed_time",
	"pause", "duration", "align_start", "interval", "tick",
}

// The garbage collector's defaults: a target of 10 times the live heap instead of
// 2, which took a quarter off the collector's CPU per sample at full load
// (docs/performance.md), held to half the memory there is by a soft limit.
const (
	defaultGCPercent   = 1000
	memoryLimitPercent = 50
)

// NewFactory returns the converter's factory. It turns the default feature gates
// on and sets the garbage collector's defaults as it is called, which is before
// the command line is parsed and anything runs.
func NewFactory() confmap.ConverterFactory {
	setGCDefaults()
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if slices.Contains(DefaultFeatureGates, g.ID()) {
			_ = featuregate.GlobalRegistry().Set(g.ID(), true)
		}
	})
	return confmap.NewConverterFactory(func(confmap.ConverterSettings) confmap.Converter { return converter{} })
}

type converter struct{}

// Convert refuses every duration key whose value is a number other than 0; it
// runs after the environment variables are expanded.
func (converter) Convert(_ context.Context, conf *confmap.Conf) error {
	var errs []error
	walk("", conf.ToStringMap(), &errs)
	return errors.Join(errs...)
}

func walk(path string, node any, errs *[]error) {
	switch n := node.(type) {
	case map[string]any:
		for _, k := range sortedKeys(n) {
			p := k
			if path != "" {
				p = path + "::" + k
			}
			if slices.Contains(durationKeys, k) {
				if err := checkDuration(p, n[k]); err != nil {
					*errs = append(*errs, err)
				}
			}
			walk(p, n[k], errs)
		}
	case []any:
		for i, v := range n {
			walk(fmt.Sprintf("%s[%d]", path, i), v, errs)
		}
	}
}

// checkDuration refuses a number other than 0 (the same in every unit).
func checkDuration(path string, v any) error {
	var text string
	switch n := v.(type) {
	case int, int64, uint64, float64:
		text = fmt.Sprint(n)
	default:
		return nil
	}
	if strings.Trim(text, "0.") == "" {
		return nil
	}
	return fmt.Errorf("%s: %s has no unit: write %sms, %ss or %sm (a bare number would be read as nanoseconds)", path, text, text, text, text)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

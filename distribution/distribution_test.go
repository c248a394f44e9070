// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package distribution

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/featuregate"
)

func TestNewFactoryTurnsTheDefaultGatesOn(t *testing.T) {
	gate := featuregate.GlobalRegistry().MustRegister(DefaultFeatureGates[0], featuregate.StageAlpha)
	require.False(t, gate.IsEnabled(), "an alpha gate starts off")
	NewFactory()
	assert.True(t, gate.IsEnabled())
	// The command line comes after and still decides.
	require.NoError(t, featuregate.GlobalRegistry().Set(gate.ID(), false))
	assert.False(t, gate.IsEnabled())
}

func TestConvertRefusesUnitlessDurations(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]any
		want []string
	}{
		{name: "units", conf: map[string]any{
			"receivers":  map[string]any{"dummymetrics": map[string]any{"pause": "100ms", "stages": []any{map[string]any{"duration": "30s", "rate": 1000}}}},
			"processors": map[string]any{"batch": map[string]any{"timeout": "1s", "send_batch_size": 16384}},
		}},
		{name: "zero needs no unit", conf: map[string]any{"receivers": map[string]any{"dummymetrics": map[string]any{"pause": 0}}}},
		{name: "bare numbers, every one named", conf: map[string]any{
			"receivers": map[string]any{"dummymetrics": map[string]any{"pause": 100, "stages": []any{map[string]any{"duration": 30}}}},
			"exporters": map[string]any{"prometheus_remote_write": map[string]any{
				"http":             map[string]any{"timeout": 30},
				"retry_on_failure": map[string]any{"max_elapsed_time": 2.5},
			}},
		}, want: []string{
			"exporters::prometheus_remote_write::http::timeout: 30 has no unit: write 30ms, 30s or 30m",
			"exporters::prometheus_remote_write::retry_on_failure::max_elapsed_time: 2.5 has no unit",
			"receivers::dummymetrics::pause: 100 has no unit: write 100ms",
			"receivers::dummymetrics::stages[0]::duration: 30 has no unit",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conv := NewFactory().Create(confmap.ConverterSettings{})
			err := conv.Convert(t.Context(), confmap.NewFromStringMap(tt.conf))
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

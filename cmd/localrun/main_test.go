// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFullLoadHint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		hint bool
	}{
		{name: "defaults", env: map[string]string{}},
		{name: "a pause", env: map[string]string{"GENERATOR_PAUSE": "10ms"}},
		{name: "no pause, queue on", env: map[string]string{"GENERATOR_PAUSE": "0"}, hint: true},
		{name: "no pause, rate 0", env: map[string]string{"GENERATOR_PAUSE": "0s", "GENERATOR_RATE": "0"}, hint: true},
		{name: "no pause, paced by rate", env: map[string]string{"GENERATOR_PAUSE": "0", "GENERATOR_RATE": "100000"}},
		{name: "no pause, queue off", env: map[string]string{"GENERATOR_PAUSE": "0", "SINK_QUEUE_ENABLED": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hint := fullLoadHint(func(k string) string { return tt.env[k] })
			if tt.hint {
				assert.Contains(t, hint, "SINK_QUEUE_ENABLED=false")
			} else {
				assert.Empty(t, hint)
			}
		})
	}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// TestMainJob runs the main job as `make run` does, with the parameters,
// and checks from what Prometheus stored that every emitted sample arrived, once,
// in order, as exactly the series of the original sample.
func TestMainJob(t *testing.T) {
	ctx := context.Background()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	col := startCollector(t, map[string]string{
		"PROMETHEUS_WRITE_URL":  prom.WriteURL,
		"GENERATOR_INSTANCES":   "12",
		"GENERATOR_PARALLELISM": "3",
		"SINK_PARALLELISM":      "4",
		"GENERATOR_PAUSE":       "2ms",
	})

	time.Sleep(15 * time.Second)
	telemetry, err := col.Telemetry(ctx)
	require.NoError(t, err)
	code, err := col.Stop(30 * time.Second)
	require.NoError(t, err)
	require.Zero(t, code, "a SIGTERM ends the collector cleanly")

	log := col.Log()
	assert.Empty(t, problems(log), "the shipped configuration runs without a warning")
	report := receiverReport(t, log)
	emitted := report.Emitted
	assert.Zero(t, report.Refused)
	assert.Greater(t, emitted, int64(10_000), "a 2 ms pause over 15 s")

	// The exporter sent what it was given, in one piece.
	// (Scraped while running: the counters are positive, which also proves their names.)
	assert.Positive(t, telemetry.Sum("otelcol_receiver_accepted_metric_points", map[string]string{"receiver": "dummymetrics"}))
	assert.Positive(t, telemetry.Sum("otelcol_exporter_sent_metric_points", map[string]string{"exporter": "prometheus_remote_write"}))
	assert.Zero(t, telemetry.Sum("otelcol_exporter_send_failed_metric_points", nil))
	assert.Zero(t, telemetry.Sum("otelcol_exporter_enqueue_failed_metric_points", nil))
	assert.Equal(t, 4.0, telemetry.Sum("otelcol_exporter_prometheusremotewrite_consumers", nil),
		"the sink parallelism is the exporter's request parallelism")

	// What Prometheus stored: exactly the 24 series of 12 instances.
	series := storedSeries(t, prom, `{__name__=~".+"}`)
	var stored int64
	names := map[string]int{}
	ids := map[string]bool{}
	for _, s := range series {
		labelNames := make([]string, 0, len(s.Metric))
		for name := range s.Metric {
			labelNames = append(labelNames, string(name))
		}
		sort.Strings(labelNames)
		require.Equal(t, []string{"InstanceId", "__name__"}, labelNames, "no job, instance, scope or other label: %v", s.Metric)
		names[string(s.Metric["__name__"])]++
		ids[string(s.Metric["InstanceId"])] = true
		for _, sample := range s.Values {
			require.GreaterOrEqual(t, float64(sample.Value), 0.0)
			require.Less(t, float64(sample.Value), 1.0)
		}
		stored += int64(len(s.Values))
	}
	assert.Len(t, series, 24)
	assert.Equal(t, map[string]int{"CPU": 12, "Memory": 12}, names)
	wantIDs := map[string]bool{}
	for i := range 12 {
		wantIDs[fmt.Sprintf("I%010d", i)] = true
	}
	assert.Equal(t, wantIDs, ids)

	// Accounting: every emitted sample was stored, to the sample.
	assert.Equal(t, emitted, stored, "samples emitted by the receiver and stored by Prometheus")
	promMetrics := scrapePrometheus(t, prom)
	assert.Equal(t, float64(emitted), promMetrics.Sum("prometheus_tsdb_head_samples_appended_total", nil),
		"Prometheus appended exactly the emitted samples")

	// Prometheus rejected nothing: no out-of-order, duplicate or too-old sample.
	for _, counter := range []string{
		"prometheus_tsdb_out_of_order_samples_total",
		"prometheus_tsdb_out_of_bound_samples_total",
		"prometheus_tsdb_too_old_samples_total",
	} {
		assert.Zero(t, promMetrics.Sum(counter, nil), counter)
	}
	assert.Positive(t, promMetrics.Sum("prometheus_http_requests_total", map[string]string{"handler": "/api/v1/write", "code": "204"}))
	for _, code := range []string{"400", "409", "413", "429", "500", "503"} {
		assert.Zero(t, promMetrics.Sum("prometheus_http_requests_total", map[string]string{"handler": "/api/v1/write", "code": code}), "HTTP %s", code)
	}
}

// TestBadConfigurationStopsTheCollector checks that a configuration the collector
// cannot honour stops it at start-up, and fails `validate`, with a message naming
// the field and its value: the receiver's own checks, and durations without a
// unit, which upstream components would read as nanoseconds.
func TestBadConfigurationStopsTheCollector(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "instances not a multiple", env: map[string]string{"GENERATOR_INSTANCES": "10", "GENERATOR_PARALLELISM": "3"}, want: "instances (10) must be a multiple of parallelism (3)"},
		{name: "the original's pause in milliseconds", env: map[string]string{"GENERATOR_PAUSE": "100"}, want: "pause: 100 has no unit: write 100ms"},
		{name: "a request timeout in seconds", env: map[string]string{"SINK_REQUEST_TIMEOUT": "30"}, want: "exporters::prometheus_remote_write::http::timeout: 30 has no unit"},
		{name: "a batch timeout", env: map[string]string{"SINK_BATCH_TIMEOUT": "1"}, want: "processors::batch::timeout: 1 has no unit"},
	}
	bin, err := runner.CollectorBinary()
	require.NoError(t, err)
	config := shippedConfig(t, "collector-config.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := runCollector(t, runner.CollectorOptions{Configs: []string{config}, Env: tt.env, NoWait: true})
			code, err := proc.Wait(10 * time.Second)
			require.NoError(t, err, "the collector must exit by itself within seconds")
			assert.NotZero(t, code)
			assert.Contains(t, proc.Log(), tt.want)

			validate := exec.Command(bin, "validate", "--config", config)
			for k, v := range tt.env {
				validate.Env = append(validate.Environ(), k+"="+v)
			}
			out, err := validate.CombinedOutput()
			require.Error(t, err, "validate must fail: %s", out)
			assert.Contains(t, string(out), tt.want)
		})
	}
}

// TestShippedConfigurationsValidate checks that the shipped files, alone and merged
// with their overlays, pass `validate`.
func TestShippedConfigurationsValidate(t *testing.T) {
	bin, err := runner.CollectorBinary()
	require.NoError(t, err)
	main := shippedConfig(t, "collector-config.yaml")
	tests := [][]string{
		{main},
		{main, shippedConfig(t, "collector-config-zpages.yaml")},
		{main, shippedConfig(t, "collector-config-amp.yaml")},
	}
	for _, configs := range tests {
		args := []string{"validate"}
		for _, c := range configs {
			args = append(args, "--config", c)
		}
		cmd := exec.Command(bin, args...)
		// The SigV4 extension looks credentials up when it is validated: static test
		// credentials, and no instance metadata lookup.
		cmd.Env = append(cmd.Environ(),
			"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=eu-west-1")
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: %s", strings.Join(configs, " + "), out)
	}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// fullLoad is the README's full-load recipe: the shipped files, at full speed,
// with 50,000 instances.
var fullLoad = map[string]string{"GENERATOR_PAUSE": "0", "GENERATOR_INSTANCES": "50000"}

// BenchmarkFullLoadCost runs the distribution binary with the shipped
// configuration files and the full-load recipe against a local Prometheus 3, for a
// warm-up and then a measured window per iteration, and reports the collector's
// CPU per stored sample and the stored rate. With BASELINE_DIR set to another
// checkout with a built distribution, it runs that checkout's binary with that
// checkout's shipped files and BASELINE_ENV (space-separated KEY=VALUE: its own
// full-load recipe) in alternation, on the same Prometheus build:
//
//	BASELINE_DIR=/tmp/wt-base BASELINE_ENV='GENERATOR_PAUSE=0 GENERATOR_INSTANCES=50000 SINK_QUEUE_ENABLED=false SINK_MAX_RETRY_TIME=1m' \
//	  go test -run '^$' -bench BenchmarkFullLoadCost -benchtime 5x ./e2e/
func BenchmarkFullLoadCost(b *testing.B) {
	type build struct {
		name, binary, config string
		env                  map[string]string
	}
	current, err := runner.CollectorBinary()
	require.NoError(b, err)
	builds := []build{{name: "current", binary: current, env: fullLoad}}
	if dir := os.Getenv("BASELINE_DIR"); dir != "" {
		env := map[string]string{}
		for kv := range strings.FieldsSeq(os.Getenv("BASELINE_ENV")) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		builds = append(builds, build{name: "baseline", binary: filepath.Join(dir, "_build", "otelcol-dummymetrics"),
			config: filepath.Join(dir, "collector-config.yaml"), env: env})
	}
	totals := map[string]*runner.Measurement{}
	for range b.N {
		for _, bd := range builds {
			m := measureFullLoad(b, bd.binary, bd.config, bd.env)
			t := totals[bd.name]
			if t == nil {
				t = &runner.Measurement{}
				totals[bd.name] = t
			}
			t.Seconds += m.Seconds
			t.Stored += m.Stored
			t.CollectorCPU += m.CollectorCPU
			b.Logf("%s: stored %.0f/s, collector %.3f µs/stored sample, %.2f cores, others %.2f cores, peak RSS %d MiB",
				bd.name, m.Stored/m.Seconds, m.CollectorCPU*1e6/m.Stored, m.CollectorCPU/m.Seconds, m.OtherCPU/m.Seconds, m.PeakRSS>>20)
		}
	}
	for name, t := range totals {
		b.ReportMetric(t.CollectorCPU*1e6/t.Stored, name+"-cpu-µs/sample")
		b.ReportMetric(t.Stored/t.Seconds, name+"-stored/s")
	}
}

// measureFullLoad runs one binary for 10 s of warm-up and 30 s measured against a
// fresh local Prometheus; an empty config means this checkout's shipped file.
func measureFullLoad(b *testing.B, binary, config string, env map[string]string) runner.Measurement {
	ctx := context.Background()
	r, err := runner.Start(ctx, runner.Options{Collector: runner.CollectorOptions{Binary: binary, Base: config, Env: env, LogPath: filepath.Join(b.TempDir(), "collector.log")}})
	require.NoError(b, err)
	defer r.Close()
	defer func() { _ = r.Stop(time.Minute) }()
	from, err := r.Watch(ctx, time.Now().Add(10*time.Second), 5*time.Second, nil, nil)
	require.NoError(b, err)
	to, err := r.Watch(ctx, time.Now().Add(30*time.Second), 5*time.Second, nil, nil)
	require.NoError(b, err)
	return runner.Measure(runner.Window{From: from, To: to})
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// BenchmarkScaleUp runs the distribution with the shipped files at full speed,
// with one generator worker and then two, into a backend on this machine that
// decodes every write, keeps each series' newest timestamp and answers 204 (so
// its CPU shares the cores), and reports what each acknowledged per second, the
// ratio, and the samples that arrived out of order (none may). With one batcher
// per worker, two workers export two batches at once:
//
//	go test -run '^$' -bench BenchmarkScaleUp -benchtime 3x ./e2e/
func BenchmarkScaleUp(b *testing.B) {
	rates := map[int]float64{}
	var outOfOrder int64
	for range b.N {
		for _, gen := range []int{1, 2} {
			rate, late, cores := scaleUpPoint(b, gen)
			rates[gen] += rate / float64(b.N)
			outOfOrder += late
			b.Logf("generator parallelism %d: %.0f samples/s acknowledged, collector %.2f cores, %d out of order", gen, rate, cores, late)
		}
	}
	b.ReportMetric(rates[1], "gen1-samples/s")
	b.ReportMetric(rates[2], "gen2-samples/s")
	b.ReportMetric(rates[2]/rates[1], "gen2/gen1")
	b.ReportMetric(float64(outOfOrder), "out-of-order")
	require.Zero(b, outOfOrder, "every series stays in order")
}

// scaleUpPoint runs one collector for 10 s of warm-up and 20 s measured.
func scaleUpPoint(b *testing.B, gen int) (rate float64, outOfOrder int64, cores float64) {
	sink := backend.NewOrdered()
	srv, err := backend.Serve(sink)
	require.NoError(b, err)
	defer srv.Close()
	env := withEnv(fullLoad, map[string]string{"PROMETHEUS_WRITE_URL": srv.WriteURL, "GENERATOR_PARALLELISM": strconv.Itoa(gen)})
	col, err := runner.StartCollector(context.Background(), runner.CollectorOptions{Env: env, LogPath: filepath.Join(b.TempDir(), "collector.log")})
	require.NoError(b, err)
	defer func() { _, _ = col.Stop(time.Minute) }()
	time.Sleep(10 * time.Second)
	from, fromSamples, fromCPU := time.Now(), sink.Samples(), usage(b, col)
	time.Sleep(20 * time.Second)
	seconds := time.Since(from).Seconds()
	return float64(sink.Samples()-fromSamples) / seconds, sink.OutOfOrder(), (usage(b, col) - fromCPU).Seconds() / seconds
}

func usage(b *testing.B, col *runner.Collector) time.Duration {
	u, err := runner.ProcessUsage(col.Pid())
	require.NoError(b, err)
	return u.CPU
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

var (
	buildOnce sync.Map // command name -> *builtCommand
)

type builtCommand struct {
	once sync.Once
	path string
	err  error
}

// command builds one of the repository's commands (cmd/<name>) once per test run.
func command(t *testing.T, name string) string {
	t.Helper()
	v, _ := buildOnce.LoadOrStore(name, &builtCommand{})
	b := v.(*builtCommand)
	b.once.Do(func() {
		root, err := runner.RepoPath()
		if err != nil {
			b.err = err
			return
		}
		dir, err := os.MkdirTemp("", "otelcol-dummymetrics-cmd-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", b.path, "./cmd/"+name)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			b.err = errors.New(string(out))
		}
	})
	require.NoError(t, b.err)
	return b.path
}

// loadTest runs cmd/loadtest with args (and -out, -web set) and returns its exit
// code, its output and its verdict, if it wrote one.
func loadTest(t *testing.T, env map[string]string, args ...string) (int, string, *runner.Verdict) {
	t.Helper()
	out := t.TempDir()
	web, err := runner.FreeAddr()
	require.NoError(t, err)
	cmd := exec.Command(command(t, "loadtest"), append([]string{"-out", out, "-web", web, "-progress", "2s"}, args...)...)
	cmd.Env = cmd.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	output, err := cmd.CombinedOutput()
	code := 0
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("loadtest %s:\n%s", strings.Join(args, " "), output)
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "verdict.json"))
	if len(dirs) == 0 {
		return code, string(output), nil
	}
	b, err := os.ReadFile(dirs[0])
	require.NoError(t, err)
	var v runner.Verdict
	require.NoError(t, json.Unmarshal(b, &v))
	for _, f := range []string{"report.md", "report.html", "rates.svg", "rates.png", "latency.svg", "responses.svg"} {
		assert.FileExists(t, filepath.Join(filepath.Dir(dirs[0]), f))
	}
	return code, string(output), &v
}

// standIn serves a stand-in for a managed backend in front of prom.
func standIn(t *testing.T, h http.Handler) *backend.Server {
	t.Helper()
	srv, err := backend.Serve(h)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// TestLoadTestFindsTheIngestionRateLimit puts a quota of 20,000 samples/s, as
// AMP words it, in front of a real Prometheus: the verdict sustains the last stage
// below the quota and names the rate limit at the first above it; and what was
// acknowledged is read back to the sample.
func TestLoadTestFindsTheIngestionRateLimit(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	quota := backend.LimitIngestion(backend.QuotaOptions{SamplesPerSecond: 20000}, backend.Forward(prom.URL))
	srv := standIn(t, quota)
	code, _, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "2000", "-stages", "8s:5000,8s:15000,8s:40000")
	require.NotNil(t, v)
	assert.Equal(t, 0, code, "a verdict was given")
	require.Len(t, v.Stages, 3)
	assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
	assert.True(t, v.Stages[1].Passed, v.Stages[1].Reason)
	assert.InDelta(t, 15000, v.SustainedSamplesPerSecond, 1500, "the last stage below the quota")
	assert.Equal(t, 3, v.Limit.Stage)
	assert.Contains(t, v.Limit.Reason, "429 ingestion rate limit exceeded")
	assert.Positive(t, quota.Throttled())
	require.NotNil(t, v.ReadBack)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "every acknowledged sample read back")
	assert.Equal(t, v.ReadBack.SeriesExpected, v.ReadBack.SeriesFound)
}

// TestLoadTestFindsTheSeriesLimit limits the backend to 1,500 series while the
// run writes 2,000: the reason names the series limit, not the rate.
func TestLoadTestFindsTheSeriesLimit(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.LimitIngestion(backend.QuotaOptions{Series: 1500}, backend.Forward(prom.URL)))
	_, _, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "1000", "-stages", "5s:200,10s:20000")
	require.NotNil(t, v)
	require.NotEmpty(t, v.Stages)
	assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
	assert.Equal(t, 2, v.Limit.Stage)
	assert.Contains(t, v.Limit.Reason, "series limit")
	assert.NotContains(t, v.Limit.Reason, "rate limit")
}

// TestLoadTestFindsSlowAnswers delays every answer by 1.5 s: the latency SLO is
// what breaks.
func TestLoadTestFindsSlowAnswers(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.Slow(1500*time.Millisecond, backend.Forward(prom.URL)))
	_, _, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "1000", "-stages", "10s:1000")
	require.NotNil(t, v)
	assert.Equal(t, 1, v.Limit.Stage)
	assert.Contains(t, v.Limit.Reason, "p99 write latency")
	assert.GreaterOrEqual(t, v.Stages[0].Latency.P99, 1.5)
}

// TestLoadTestBlamesTheGenerator asks one generator worker for far more than it
// can make, against a local Prometheus that answers in time: the verdict says the
// generator is the limit, not the backend.
func TestLoadTestBlamesTheGenerator(t *testing.T) {
	_, _, v := loadTest(t, nil, "-instances", "2000", "-gen", "1", "-stages", "10s:3M")
	require.NotNil(t, v)
	require.Len(t, v.Stages, 1)
	assert.False(t, v.Stages[0].Passed)
	assert.True(t, v.Stages[0].GeneratorLimited, v.Stages[0].Reason)
	assert.Contains(t, v.Limit.Reason, "the generator fell behind")
	assert.Positive(t, v.Stages[0].ShortfallSamples)
}

// TestLoadTestReadBackFindsSilentLoss puts a backend in front of Prometheus that
// acknowledges every write but drops one series entry in ten: the read-back finds
// the loss, within 1 % of what was dropped, and the verdict fails naming it.
func TestLoadTestReadBackFindsSilentLoss(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	dropper := backend.DropSeries(10, backend.Forward(prom.URL))
	srv := standIn(t, dropper)
	code, _, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "1000", "-stages", "8s:5000")
	require.NotNil(t, v)
	assert.NotEqual(t, 0, code, "missing samples fail the run")
	assert.False(t, v.Passed)
	require.NotNil(t, v.ReadBack)
	dropped := float64(dropper.Dropped())
	assert.InEpsilon(t, dropped, v.ReadBack.MissingSamples, 0.01, "missing samples found against dropped")
	assert.Contains(t, v.ReadBack.Problem, "acknowledged samples are missing")
	assert.NotEmpty(t, v.ReadBack.MissingByInstances)
}

// TestCanaryOutlivesALostSample: the backend acknowledges the canary's first write
// and drops it. The probe writes another after a few seconds and times the one it
// sees, instead of waiting out its timeout (which held a read-back for minutes).
func TestCanaryOutlivesALostSample(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	forward := backend.Forward(prom.URL)
	dropAll := backend.DropSeries(1, forward)
	var writes atomic.Int64
	srv := standIn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && writes.Add(1) == 1 {
			dropAll.ServeHTTP(w, r)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	canary, err := runner.Backend{WriteURL: srv.WriteURL}.NewCanary(querier(t, prom), "lost-canary")
	require.NoError(t, err)

	began := time.Now()
	delay, err := canary.Probe(t.Context(), 25*time.Millisecond, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(1), dropAll.Dropped(), "the first write was dropped")
	assert.Less(t, time.Since(began), 30*time.Second, "the probe did not wait out its timeout")
	assert.Less(t, delay, time.Since(began)-time.Second, "the delay is timed from the sample seen, not the one lost")
	assert.Len(t, canary.Freshness(began, time.Now()), 1)
}

// TestLoadTestSignsQueriesForAMP puts AWS's signature check in front of both the
// writes and the query API: the collector's writes, the canary's writes and the
// read-back's queries are all signed and verify, and the read-back is exact.
func TestLoadTestSignsQueriesForAMP(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	creds := aws.Credentials{AccessKeyID: "AKIAE2ELOADTEST00001", SecretAccessKey: "e2eLoadtestSecret/Zq8Xc6Vb4Nm2As1Df3Gh5Jk7Lz9"}
	check := backend.SigV4(&backend.Verifier{Credentials: creds, Region: sigv4Region, Service: "aps"}, backend.Record(backend.Forward(prom.URL)))
	srv := standIn(t, check)
	env := awsEnv(t, credentialsEnv(creds))
	_, _, v := loadTest(t, env, "-url", srv.WriteURL, "-aws-region", sigv4Region, "-instances", "100", "-stages", "6s:2000")
	require.NotNil(t, v)
	assert.Zero(t, check.Rejected(), "rejections: %v", check.Reasons())
	assert.Positive(t, check.Verified())
	require.NotNil(t, v.ReadBack)
	assert.Positive(t, v.ReadBack.StoredSamples)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples)
	require.NotNil(t, v.ReadBack.Freshness, "the canary was written and read, signed")
}

// TestLoadTestSendsTheTenantHeader runs the README's Mimir example against a
// backend that refuses every write and query without the tenant's header: the
// collector's writes, the canary and the read-back all carry it.
func TestLoadTestSendsTheTenantHeader(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	tenant := backend.RequireHeader("X-Scope-OrgID", "loadtest", backend.Forward(prom.URL))
	srv := standIn(t, tenant)
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-header", "X-Scope-OrgID: loadtest", "-instances", "100", "-stages", "5s:2000")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	assert.True(t, v.Passed, v.Summary())
	assert.Zero(t, tenant.Unmet(), "no request went without the header")
	assert.Positive(t, tenant.Passed(), "the run wrote and read through the stand-in")
	require.NotNil(t, v.ReadBack)
	assert.Positive(t, v.ReadBack.StoredSamples)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "read back exactly, with the header")
	require.NotNil(t, v.ReadBack.Freshness, "the canary wrote and read with the header")
}

// TestLoadTestSendsTheBearerToken: the same against a backend that requires a
// bearer token, read from -bearer-token-file.
func TestLoadTestSendsTheBearerToken(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	const token = "e2e-token-4f1c9a"
	guard := backend.RequireHeader("Authorization", "Bearer "+token, backend.Forward(prom.URL))
	srv := standIn(t, guard)
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(token+"\n"), 0o600))
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-bearer-token-file", file, "-instances", "100", "-stages", "5s:2000")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	assert.Zero(t, guard.Unmet(), "no request went without the token")
	assert.Positive(t, guard.Passed(), "the run wrote and read through the stand-in")
	assert.NotContains(t, out, token, "the token is not printed")
	require.NotNil(t, v.ReadBack)
	assert.Positive(t, v.ReadBack.StoredSamples)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples)
}

// TestLoadTestMeasuresFreshness makes writes queryable only a second after they
// are acknowledged: the canary measures it.
func TestLoadTestMeasuresFreshness(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.DelayVisible(time.Second, backend.Forward(prom.URL)))
	_, _, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "100", "-stages", "10s:200", "-canary-every", "500ms")
	require.NotNil(t, v)
	require.NotNil(t, v.ReadBack)
	require.NotNil(t, v.ReadBack.Freshness)
	assert.InEpsilon(t, 1.0, v.ReadBack.Freshness.P50, 0.2, "p50 of ack-to-visible against the 1 s delay")
}

// TestLoadTestRefusesBadInput checks that bad input gets a clear error and a
// non-zero exit before anything starts.
func TestLoadTestRefusesBadInput(t *testing.T) {
	closed, err := runner.FreeAddr()
	require.NoError(t, err)
	notPrometheus := standIn(t, http.NotFoundHandler())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unparsable stages", args: []string{"-stages", "30s,10000"}, want: "is not DURATION:RATE"},
		{name: "a negative rate", args: []string{"-stages", "30s:-5"}, want: "rates must be 0 (idle) or at least 1"},
		{name: "more than the instances carry", args: []string{"-instances", "10", "-stages", "10s:50000"}, want: "more than the 10 instances carry"},
		{name: "an unreachable URL", args: []string{"-url", "http://" + closed + "/api/v1/write", "-stages", "5s:10"}, want: "cannot connect to " + closed},
		{name: "a query URL that is not a Prometheus API", args: []string{"-url", notPrometheus.WriteURL, "-stages", "5s:10"}, want: "not a Prometheus query API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			code, out, v := loadTest(t, nil, tt.args...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, out, tt.want)
			assert.Nil(t, v, "nothing ran")
			assert.Less(t, time.Since(began), 15*time.Second)
		})
	}
}

// TestBenchAgainstARemoteURL runs the bench's matrix, two sink parallelisms,
// against a stand-in in front of Prometheus instead of a Prometheus of its own.
func TestBenchAgainstARemoteURL(t *testing.T) {
	prom := startPrometheus(t, runner.PrometheusOptions{})
	rec := backend.Record(backend.Forward(prom.URL))
	srv := standIn(t, rec)
	out := t.TempDir()
	cmd := exec.Command(command(t, "bench"), "-url", srv.WriteURL, "-gen", "1", "-sink", "1,2", "-instances", "1000", "-pace", "rate=5000",
		"-warmup", "3s", "-duration", "5s", "-out", out)
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", output)
	files, _ := filepath.Glob(filepath.Join(out, "*", "results.json"))
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var results []struct {
		Point struct{ SinkParallelism int }
		Sent  float64 `json:"sent_samples"`
		Err   string  `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &results))
	require.Len(t, results, 2)
	for i, r := range results {
		assert.Equal(t, i+1, r.Point.SinkParallelism)
		assert.Empty(t, r.Err)
		assert.InDelta(t, 5*5000, r.Sent, 5*5000*0.2, "five seconds at 5,000 samples/s acknowledged")
	}
	assert.Positive(t, rec.Stats()[204].Requests, "the points wrote to the stand-in")
}

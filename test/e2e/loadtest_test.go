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
	"strconv"
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
	lt := runLoadTest(t, env, args...)
	return lt.code, lt.out, lt.verdict
}

// loadTestRun is what a load test left: its exit code, output, verdict and folder.
type loadTestRun struct {
	code    int
	out     string
	verdict *runner.Verdict
	dir     string
}

// runLoadTest runs cmd/loadtest with args (and -out, -web set).
func runLoadTest(t *testing.T, env map[string]string, args ...string) loadTestRun {
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
	lt := loadTestRun{out: string(output)}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		lt.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("loadtest %s:\n%s", strings.Join(args, " "), output)
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "verdict.json"))
	if len(dirs) == 0 {
		return lt
	}
	lt.dir = filepath.Dir(dirs[0])
	b, err := os.ReadFile(dirs[0])
	require.NoError(t, err)
	lt.verdict = &runner.Verdict{}
	require.NoError(t, json.Unmarshal(b, lt.verdict))
	for _, f := range []string{"report.md", "report.html", "rates.svg", "rates.png", "latency.svg", "responses.svg"} {
		assert.FileExists(t, filepath.Join(lt.dir, f))
	}
	return lt
}

// collectorReport is the receiver's report at the stop in a load test's collector log.
func (lt loadTestRun) collectorReport(t *testing.T) runner.LogEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lt.dir, "collector.log"))
	require.NoError(t, err)
	return receiverReport(t, string(b))
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
	t.Parallel()
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
	assert.Empty(t, v.ReadBack.Problem)
	// The batches still throttled when the load stopped are rejected, counted
	// whole: what is stored lies between what was acknowledged and that.
	assert.LessOrEqual(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "every acknowledged sample read back")
	assert.LessOrEqual(t, v.ReadBack.StoredSamples, v.ReadBack.SentSamples+v.ReadBack.FailedSamples)
}

// TestLoadTestSeriesLimitIsRejectedNotLost limits the backend to 1,500 series
// while the run writes 2,000, answered 400 as Mimir and AMP do, and 429 as a
// throttling gateway would: the reason names the series limit, the refused
// samples are rejected, not missing, the load stops at the failed stage, and
// the exit code says the verdict was reached (3 with a -require above it).
func TestLoadTestSeriesLimitIsRejectedNotLost(t *testing.T) {
	for _, tc := range []struct {
		status  int
		require string
		code    int
	}{{http.StatusBadRequest, "", 0}, {http.StatusTooManyRequests, "1000000", 3}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			prom := startPrometheus(t, runner.PrometheusOptions{})
			quota := backend.LimitIngestion(backend.QuotaOptions{Series: 1500, SeriesStatus: tc.status}, backend.Forward(prom.URL))
			srv := standIn(t, quota)
			args := []string{"-url", srv.WriteURL, "-instances", "1000", "-stages", "5s:200,10s:20000,10s:20000,10s:20000"}
			if tc.require != "" {
				args = append(args, "-require", tc.require)
			}
			lt := runLoadTest(t, nil, args...)
			v := lt.verdict
			require.NotNil(t, v)
			assert.Equal(t, tc.code, lt.code)
			require.NotEmpty(t, v.Stages)
			assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
			assert.Equal(t, 2, v.Limit.Stage)
			assert.Contains(t, v.Limit.Reason, strconv.Itoa(tc.status)+" series limit exceeded (per user)")
			assert.NotContains(t, v.Limit.Reason, "rate limit")
			assert.Positive(t, quota.OverSeries())
			require.NotNil(t, v.ReadBack)
			assert.Empty(t, v.ReadBack.Problem, "rejected is not missing")
			assert.False(t, v.ReadBack.Exact, "batches counted whole make the read-back a bound")
			assert.LessOrEqual(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "everything acknowledged is stored")
			assert.NotContains(t, lt.out, "lost data")
			// No stage after the failed one ran: the load stopped at most a little into the next.
			require.NotNil(t, v.Outside)
			assert.LessOrEqual(t, v.Outside.StageAtStop, 3)
			assert.LessOrEqual(t, v.Outside.EmittedAfter, 3*20000.0, "at most a few seconds of the next stage")
			assert.LessOrEqual(t, lt.collectorReport(t).StageAtStop, 2, "the receiver stopped in stage 3 (index 2) at the latest")
			assert.Len(t, v.Stages, 2)
		})
	}
}

// TestLoadTestNamesLatencyBoundSending puts every write 300 ms away, as a
// workspace in another region: with the default sink parallelism a batch of 8
// requests takes 4 rounds, so one batcher cannot send 20,000 samples/s. The
// verdict says so with the ceiling and the sink parallelism that lifts it, not
// that the generator is slow, and the read-back completes.
func TestLoadTestNamesLatencyBoundSending(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.Slow(300*time.Millisecond, backend.Forward(prom.URL)))
	// One generator worker: one batcher, one batch at a time.
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-gen", "1", "-instances", "5000", "-stages", "8s:4000,8s:20000")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	require.Len(t, v.Stages, 2)
	assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
	assert.Equal(t, 2, v.Limit.Stage)
	s := v.Stages[1]
	assert.Equal(t, runner.LimitSending, s.CollectorLimit, s.Reason)
	assert.Regexp(t, `sending was latency-bound: at 3\d\d ms per request and 2 in flight, one collector sends at most about [\d,]+ samples/s; -sink \d+ \(a whole batch at once\) raises that to about [\d,]+`, s.Reason)
	assert.Less(t, s.Sending.Ceiling, 20000.0)
	assert.Greater(t, s.Sending.WholeBatch, 20000.0, "a whole batch at once would carry the stage")
	assert.GreaterOrEqual(t, s.Sending.PathBusy, 0.8)
	require.NotNil(t, v.ReadBack)
	assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples, "read back exactly")
	assert.NotContains(t, out, "did not drain")
}

// TestLoadTestFailsOnALossAfterTheLastStage: the last batch, held by the batch
// processor until the stop, is refused after the last stage ended. The stages
// pass, but the verdict fails and says when.
func TestLoadTestFailsOnALossAfterTheLastStage(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	faults := backend.InjectFaults(backend.Forward(prom.URL))
	faults.Inject(backend.Fault{Status: http.StatusBadRequest, Body: "out of order sample", MinSeries: 2})
	srv := standIn(t, faults)
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "100", "-stages", "6s:1000",
		"-env", "SINK_BATCH_SIZE=100000", "-env", "SINK_BATCH_TIMEOUT=10s")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code, "the verdict was reached and nothing acknowledged is missing")
	require.Len(t, v.Stages, 1)
	assert.True(t, v.Stages[0].Passed, v.Stages[0].Reason)
	assert.False(t, v.Passed)
	require.NotNil(t, v.Outside)
	assert.Regexp(t, `outside the stages' windows 0 samples were lost and [\d,]+ rejected by the backend, from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d, after the last stage`, v.Outside.Problem)
	assert.Contains(t, out, "every stage passed, but samples were lost or rejected outside them")
	assert.Contains(t, out, "Outside the stages: outside the stages' windows")
	assert.Equal(t, "100000", v.Settings.Env["SINK_BATCH_SIZE"], "the settings are recorded")
}

// TestLoadTestNamesAFailedQuery: the backend's query API fails the read-back's
// queries (503, retried, then given up): the run cannot complete, exit 2, and
// the error names the answer.
func TestLoadTestNamesAFailedQuery(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	srv := standIn(t, backend.FailQueries("count_over_time(CPU", http.StatusServiceUnavailable, "storage unavailable: ingester ring unhealthy", backend.Forward(prom.URL)))
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-instances", "100", "-stages", "4s:1000", "-web", "")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "the read-back could not finish")
	assert.Contains(t, out, "503")
	assert.Contains(t, out, "storage unavailable: ingester ring unhealthy")
	require.NotNil(t, v, "the report is still written")
	assert.Nil(t, v.ReadBack)
}

// TestTwoLoadTestsAtOnce runs two load tests on different instance offsets
// against one Prometheus: each reads back exactly what it wrote.
func TestTwoLoadTestsAtOnce(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	for _, offset := range []string{"0", "100000"} {
		t.Run("offset "+offset, func(t *testing.T) {
			t.Parallel()
			code, out, v := loadTest(t, nil, "-url", prom.WriteURL, "-instance-offset", offset, "-instances", "1000", "-stages", "6s:5000")
			require.NotNil(t, v, out)
			assert.Equal(t, 0, code)
			require.NotNil(t, v.ReadBack)
			assert.True(t, v.ReadBack.Exact)
			assert.Positive(t, v.ReadBack.StoredSamples)
			assert.Equal(t, v.ReadBack.SentSamples, v.ReadBack.StoredSamples)
			assert.Equal(t, v.ReadBack.SeriesExpected, v.ReadBack.SeriesFound)
		})
	}
}

// TestLoadTestFindsSlowAnswers delays every answer by 1.5 s: the latency SLO is
// what breaks.
func TestLoadTestFindsSlowAnswers(t *testing.T) {
	t.Parallel()
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
	assert.Contains(t, v.Limit.Reason, "the collector fell behind")
	assert.NotEmpty(t, v.Stages[0].CollectorLimit)
	assert.NotEqual(t, runner.LimitSending, v.Stages[0].CollectorLimit, "a local Prometheus answers at once")
	assert.Positive(t, v.Stages[0].ShortfallSamples)
}

// TestLoadTestReadBackFindsSilentLoss puts a backend in front of Prometheus that
// acknowledges every write but drops one series entry in ten: the read-back finds
// the loss, within 1 % of what was dropped, and the verdict fails naming it.
func TestLoadTestReadBackFindsSilentLoss(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	tenant := backend.RequireHeader("X-Scope-OrgID", "loadtest", backend.Forward(prom.URL))
	srv := standIn(t, tenant)
	code, out, v := loadTest(t, nil, "-url", srv.WriteURL, "-header", "X-Scope-OrgID: loadtest", "-instances", "100", "-stages", "5s:2000")
	require.NotNil(t, v, out)
	assert.Equal(t, 0, code)
	assert.True(t, v.Passed, v.Headline())
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

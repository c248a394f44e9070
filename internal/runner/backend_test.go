// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ampWrite = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write"

func TestDeriveQueryURL(t *testing.T) {
	for write, want := range map[string]string{
		ampWrite:                                "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234",
		"http://127.0.0.1:9090/api/v1/write":    "http://127.0.0.1:9090",
		"https://vm.example.com/api/v1/write":   "https://vm.example.com",
		"http://mimir:8080/api/v1/push":         "http://mimir:8080/prometheus",
		"http://cortex:9009/tenant/api/v1/push": "http://cortex:9009/tenant/prometheus",
	} {
		got, err := DeriveQueryURL(write)
		require.NoError(t, err, write)
		assert.Equal(t, want, got, write)
	}
	_, err := DeriveQueryURL("http://example.com/ingest")
	require.ErrorContains(t, err, "cannot tell the query API of http://example.com/ingest")

	for host, want := range map[string]bool{
		"aps-workspaces.eu-west-1.amazonaws.com": true, "aps-workspaces.example.com": false, "prometheus.amazonaws.com": false,
	} {
		assert.Equal(t, want, IsAMP(&url.URL{Scheme: "https", Host: host}), host)
	}
}

func TestBackendCheck(t *testing.T) {
	// Backend.Client authenticates the queries (and the canary's writes) as asked.
	queries := make(chan string, 10)
	prom := fakeQueryAPI(t, func(r *http.Request, promql string) map[string]any {
		queries <- promql
		assert.Equal(t, "loadtest", r.Header.Get("X-Scope-OrgID"))
		assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
		return vector(sample{value: 1})
	})
	notProm := httptest.NewServer(http.NotFoundHandler())
	defer notProm.Close()
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the check refuses
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	write := prom.URL + "/api/v1/write"

	for _, tc := range []struct {
		name string
		b    Backend
		want string // "" passes
	}{
		{"a fake Prometheus", Backend{WriteURL: write, QueryURL: prom.URL, Headers: map[string]string{"X-Scope-OrgID": "loadtest"}, BearerToken: "s3cret"}, ""},
		{"no query URL", Backend{WriteURL: write}, ""},
		{"nothing listens", Backend{WriteURL: "http://" + closed + "/api/v1/write"}, "cannot connect to " + closed},
		{"untrusted certificate", Backend{WriteURL: tlsSrv.URL + "/api/v1/write"}, "TLS handshake with " + strings.TrimPrefix(tlsSrv.URL, "https://") + " failed"},
		{"bad scheme", Backend{WriteURL: "ftp://example.com/api/v1/write"}, "must start with https://"},
		{"no host", Backend{WriteURL: "http:///api/v1/write"}, "has no host"},
		{"AMP in another region", Backend{WriteURL: ampWrite, SigV4Region: "eu-west-1"}, "AWS_REGION (eu-west-1) is not the region of the workspace aps-workspaces.us-east-1.amazonaws.com (us-east-1)"},
		{"a query URL that is no Prometheus", Backend{WriteURL: write, QueryURL: notProm.URL}, "query URL " + notProm.URL + ": not a Prometheus query API"},
	} {
		err := tc.b.Check(t.Context())
		if tc.want == "" {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorContains(t, err, tc.want, tc.name)
		}
	}
	require.Len(t, queries, 1)
	assert.Equal(t, "vector(1)", <-queries)
}

func TestQueryAPIAnsweringOtherThanOne(t *testing.T) {
	q := querier(t, fakeQueryAPI(t, func(*http.Request, string) map[string]any { return vector(sample{value: 2}, sample{value: 1}) }).URL)
	require.ErrorContains(t, q.Check(t.Context()), "not a Prometheus query API: vector(1) answered")
	_, err := q.Scalar(t.Context(), "up", time.Now())
	require.ErrorContains(t, err, "2 results, want one")
}

func TestCollectorConfigsKeepSecretsInEnv(t *testing.T) {
	b := Backend{WriteURL: ampWrite, SigV4Region: "us-east-1", Headers: map[string]string{"X-Scope-OrgID": "t1"}, BearerToken: "s3cret"}
	env := map[string]string{}
	configs := b.collectorConfigs(env)
	assert.Equal(t, []string{
		"collector-config-amp.yaml",
		// One overlay per header: ${env:...} inside a flow mapping is not resolved
		// (the load test's e2e tests with -header and -bearer-token-file prove these do).
		`yaml:exporters::prometheus_remote_write::http::headers::Authorization: ${env:RUNNER_HEADER_0}`,
		`yaml:exporters::prometheus_remote_write::http::headers::X-Scope-OrgID: ${env:RUNNER_HEADER_1}`,
	}, configs)
	assert.Equal(t, map[string]string{"AWS_REGION": "us-east-1", "RUNNER_HEADER_0": "Bearer s3cret", "RUNNER_HEADER_1": "t1"}, env)
	for _, c := range configs {
		assert.NotContains(t, c, "s3cret")
	}
	assert.Equal(t, map[string]string{"X-Scope-OrgID": "t1"}, b.Headers, "the backend's headers are left alone")

	env = map[string]string{}
	assert.Empty(t, Backend{WriteURL: "http://127.0.0.1:9090/api/v1/write"}.collectorConfigs(env))
	assert.Empty(t, env)
	assert.Equal(t, []string{"collector-config-amp.yaml"}, Backend{WriteURL: ampWrite}.collectorConfigs(env), "an AMP URL signs")
}

func TestBackendFlags(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("  tok3n\n"), 0o600))
	const prom = "http://127.0.0.1:9090/api/v1/write"
	for _, tc := range []struct {
		args []string
		want Backend
		err  string
	}{
		{args: nil, want: Backend{}},
		{args: []string{"-url", prom}, want: Backend{WriteURL: prom}},
		{args: []string{"-url", prom, "-query-url", "http://q:9090"}, want: Backend{WriteURL: prom, QueryURL: "http://q:9090"}},
		{args: []string{"-query-url", "http://q:9090"}, err: "-query-url needs -url"},
		{args: []string{"-url", "ftp://x/api/v1/write"}, err: `-url "ftp://x/api/v1/write" is not an http(s) URL with a host`},
		{args: []string{"-url", prom, "-header", "X-Scope-OrgID: loadtest", "-header", " X-Other :a: b "},
			want: Backend{WriteURL: prom, Headers: map[string]string{"X-Scope-OrgID": "loadtest", "X-Other": "a: b"}}},
		{args: []string{"-url", prom, "-header", "X-Scope-OrgID", "-header", ": v"}, err: `-header "X-Scope-OrgID" is not "Name: value"`},
		{args: []string{"-url", prom, "-header", ": v"}, err: `-header " …" is not "Name: value"`},
		{args: []string{"-url", prom, "-header", "Authorization Bearer s3cr3t"}, err: `-header "Authorization …" is not "Name: value"`},
		{args: []string{"-url", prom, "-bearer-token-file", token}, want: Backend{WriteURL: prom, BearerToken: "tok3n"}},
		{args: []string{"-url", prom, "-bearer-token-file", filepath.Join(dir, "absent")}, err: "-bearer-token-file: open " + filepath.Join(dir, "absent")},
		{args: []string{"-url", ampWrite}, want: Backend{WriteURL: ampWrite, SigV4Region: "us-east-1"}},
		{args: []string{"-url", ampWrite, "-aws-region", "us-west-2"}, want: Backend{WriteURL: ampWrite, SigV4Region: "us-west-2"}},
		{args: []string{"-header", "X-Scope-OrgID: a"}, err: "-header, -bearer-token-file and SigV4 are for a remote backend: they need -url"},
		{args: []string{"-url", prom, "-header", `{"X": 1}`}, err: `is not "Name: value"`},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		backend := BackendFlags(fs)
		require.NoError(t, fs.Parse(tc.args))
		b, err := backend()
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.args)
			continue
		}
		require.NoError(t, err, tc.args)
		assert.Equal(t, tc.want, b, tc.args)
	}
}

func TestBackendFromEnv(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(token, []byte("tok3n"), 0o600))
	const mimir = "http://mimir:8080/api/v1/push"
	for _, tc := range []struct {
		env  map[string]string
		want Backend
		err  string
	}{
		{env: map[string]string{}, want: Backend{}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": mimir, "PROMETHEUS_WRITE_HEADERS": "X-Scope-OrgID: a, X-Other: b", "AWS_REGION": "eu-west-1"},
			want: Backend{WriteURL: mimir, Headers: map[string]string{"X-Scope-OrgID": "a", "X-Other": "b"}}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": mimir, "PROMETHEUS_BEARER_TOKEN_FILE": token}, want: Backend{WriteURL: mimir, BearerToken: "tok3n"}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": mimir, "SIGV4_REGION": "eu-west-1"}, want: Backend{WriteURL: mimir, SigV4Region: "eu-west-1"}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": ampWrite}, want: Backend{WriteURL: ampWrite, SigV4Region: "us-east-1"}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": ampWrite, "AWS_REGION": "us-west-2"}, want: Backend{WriteURL: ampWrite, SigV4Region: "us-west-2"}},
		{env: map[string]string{"PROMETHEUS_WRITE_URL": mimir, "PROMETHEUS_WRITE_HEADERS": "X-Scope-OrgID"}, err: `PROMETHEUS_WRITE_HEADERS "X-Scope-OrgID" is not "Name: value"`},
		{env: map[string]string{"PROMETHEUS_WRITE_HEADERS": "X-Scope-OrgID: a"}, err: "they need PROMETHEUS_WRITE_URL"},
	} {
		for _, k := range []string{"PROMETHEUS_WRITE_URL", "PROMETHEUS_QUERY_URL", "PROMETHEUS_WRITE_HEADERS", "PROMETHEUS_BEARER_TOKEN_FILE", "SIGV4_REGION", "AWS_REGION"} {
			t.Setenv(k, tc.env[k])
		}
		b, err := BackendFromEnv()
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.env)
			continue
		}
		require.NoError(t, err, tc.env)
		assert.Equal(t, tc.want, b, tc.env)
	}
}

func TestPassedEnv(t *testing.T) {
	got := PassedEnv([]string{"AWS_PROFILE=p", "HOME=/root", "GENERATOR_PAUSE=0", "GOMAXPROCS=1", "https_proxy=http://proxy:3128", "SSL_CERT_FILE=/c.pem", "SINK_QUEUE_ENABLED=true"})
	assert.Equal(t, []string{"AWS_PROFILE=p", "HOME=/root", "https_proxy=http://proxy:3128", "SSL_CERT_FILE=/c.pem"}, got)
}

func TestSettingsIn(t *testing.T) {
	got, err := SettingsIn([]string{"GENERATOR_PAUSE=0", "SINK_QUEUE_ENABLED=true", "GOMAXPROCS=1", "PROMETHEUS_WRITE_URL=http://x", "HOME=/root", "TELEMETRY_PORT=1"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"GENERATOR_PAUSE": "0", "SINK_QUEUE_ENABLED": "true", "GOMAXPROCS": "1"}, got)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// TestBadEndpoints gives the shipped configuration remote-write URLs it cannot
// write to. What the collector can know without sending a request, a URL it cannot
// parse, fails `validate` and the start-up. The rest passes both: the collector
// starts and finds out at the first request, which it retries silently until
// retry_on_failure.max_elapsed_time (SINK_MAX_RETRY_TIME, set here to 5 s, the
// least that max_interval allows; 8 s by default), and then logs the cause. The
// runner (make run, the load test, the bench) checks all of these before it starts
// the collector (runner.Backend.Check).
func TestBadEndpoints(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	selfSigned := httptest.NewUnstartedServer(http.NotFoundHandler())
	selfSigned.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes
	selfSigned.StartTLS()
	t.Cleanup(selfSigned.Close)
	closedAddr, err := runner.FreeAddr()
	require.NoError(t, err)

	tests := []struct {
		name, url string
		// wantStartupError: validate and the start-up fail with it; otherwise
		// wantRuntimeError is the cause the collector logs when it drops a batch.
		wantStartupError, wantRuntimeError string
	}{
		{name: "not a URL", url: "not a url", wantStartupError: "invalid endpoint"},
		{name: "no scheme", url: "127.0.0.1:9090/api/v1/write", wantStartupError: "invalid endpoint"},
		{name: "unsupported scheme", url: "ftp://127.0.0.1/api/v1/write", wantRuntimeError: `unsupported protocol scheme \"ftp\"`},
		{name: "no host", url: "http:///api/v1/write", wantRuntimeError: "no Host in request URL"},
		{name: "unreachable host", url: "http://" + closedAddr + "/api/v1/write", wantRuntimeError: "connection refused"},
		{
			name: "https to a plain-HTTP server", url: "https://" + plain.Listener.Addr().String() + "/api/v1/write",
			wantRuntimeError: "server gave HTTP response to HTTPS client",
		},
		{name: "self-signed certificate", url: selfSigned.URL + "/api/v1/write", wantRuntimeError: "certificate signed by unknown authority"},
	}
	bin, err := runner.CollectorBinary()
	require.NoError(t, err)
	config := shippedConfig(t, "collector-config.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits seconds for the retries to give up
			env := map[string]string{"PROMETHEUS_WRITE_URL": tt.url, "SINK_MAX_RETRY_TIME": "5s"}

			validate := exec.Command(bin, "validate", "--config", config)
			validate.Env = append(validate.Environ(), "PROMETHEUS_WRITE_URL="+tt.url)
			out, err := validate.CombinedOutput()
			if tt.wantStartupError != "" {
				require.Error(t, err, "validate must fail: %s", out)
				assert.Contains(t, string(out), tt.wantStartupError)
			} else {
				require.NoError(t, err, "validate cannot know: %s", out)
			}

			col := runCollector(t, runner.CollectorOptions{Env: env, NoWait: true})
			if tt.wantStartupError != "" {
				code, err := col.Wait(30 * time.Second)
				require.NoError(t, err, "the collector must exit by itself")
				assert.NotZero(t, code)
				assert.Contains(t, col.Log(), tt.wantStartupError)
				return
			}
			waitUntil(t, 60*time.Second, func() bool {
				select {
				case <-col.Exited():
					return true // reported below
				default:
				}
				for _, line := range problems(col.Log()) {
					if strings.Contains(line, "Exporting failed.") && strings.Contains(line, tt.wantRuntimeError) {
						return true
					}
				}
				return false
			}, "the cause in the log")
			select {
			case <-col.Exited():
				require.FailNow(t, "the collector exited")
			default:
			}
			code, err := col.Stop(30 * time.Second)
			require.NoError(t, err)
			assert.Zero(t, code)
		})
	}
}

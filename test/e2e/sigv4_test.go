// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
	"github.com/ampload/otelcol-dummymetrics/test/backend"
)

// Test credentials. The secrets are distinctive so that a search of the log for
// them means something.
var (
	sigv4Creds = aws.Credentials{
		AccessKeyID:     "AKIAE2ETESTKEY000001",
		SecretAccessKey: "e2eSecret/Xq7PzK2mVb9RtY4wLs8NcJ5hGd3FaE1uWo6Ti",
	}
	sigv4TempCreds = aws.Credentials{
		AccessKeyID:     "ASIAE2ETESTKEY000002",
		SecretAccessKey: "e2eTempSecret/Lm3Nb5Vc7Xz9Qw2Er4Ty6Ui8Op0As1Df",
		SessionToken:    "e2eSessionToken//////////wEaCWV1LXdlc3QtMSJHMEUCIQD",
	}
	sigv4ProfileCreds = aws.Credentials{
		AccessKeyID:     "AKIAE2ETESTKEY000003",
		SecretAccessKey: "e2eProfileSecret/Pq2Ws4Ed6Rf8Tg0Yh1Uj3Ik5Ol7Az9",
	}
)

const sigv4Region = "eu-west-1"

// awsEnv isolates the collector from the AWS settings of the machine: no shared
// files, no instance metadata, no credentials but those of extra, and the region
// that the AMP overlay reads.
func awsEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	env := map[string]string{
		"AWS_REGION":                             sigv4Region,
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONFIG_FILE":                        none,
		"AWS_SHARED_CREDENTIALS_FILE":            none,
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_ROLE_ARN":                           "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func credentialsEnv(c aws.Credentials) map[string]string {
	env := map[string]string{"AWS_ACCESS_KEY_ID": c.AccessKeyID, "AWS_SECRET_ACCESS_KEY": c.SecretAccessKey}
	if c.SessionToken != "" {
		env["AWS_SESSION_TOKEN"] = c.SessionToken
	}
	return env
}

// startSigV4Front starts a verifying front of prom that knows creds, for the region
// and the service aps.
func startSigV4Front(t *testing.T, prom *runner.Prometheus, creds aws.Credentials) *sigv4Front {
	t.Helper()
	f := &sigv4Front{SigV4Check: backend.SigV4(&backend.Verifier{Credentials: creds, Region: sigv4Region, Service: "aps"}, backend.Forward(prom.URL))}
	srv, err := backend.Serve(f.SigV4Check)
	require.NoError(t, err)
	f.Server = srv
	t.Cleanup(srv.Close)
	return f
}

// sigv4Front checks the signature of every request and passes on those that verify.
type sigv4Front struct {
	*backend.Server
	*backend.SigV4Check
}

// ampConfigs are the shipped configuration and the AMP overlay.
func ampConfigs(t *testing.T) []string {
	return []string{shippedConfig(t, "collector-config.yaml"), shippedConfig(t, "collector-config-amp.yaml")}
}

// TestSigV4SignedWritesVerify runs the shipped configuration with the AMP overlay
// against a front that checks every signature, with credentials from each of the
// sources of the default chain that can be had without AWS: every request verifies
// and every emitted sample is stored, once.
func TestSigV4SignedWritesVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		creds aws.Credentials
		env   func(t *testing.T) map[string]string
	}{
		{
			name:  "environment variables",
			creds: sigv4Creds,
			env:   func(*testing.T) map[string]string { return credentialsEnv(sigv4Creds) },
		},
		{
			name:  "temporary credentials with a session token",
			creds: sigv4TempCreds,
			env:   func(*testing.T) map[string]string { return credentialsEnv(sigv4TempCreds) },
		},
		{
			name:  "named profile of a shared credentials file (AWS_PROFILE)",
			creds: sigv4ProfileCreds,
			env: func(t *testing.T) map[string]string {
				file := filepath.Join(t.TempDir(), "credentials")
				content := "[default]\naws_access_key_id = AKIANOTTHISONE000000\naws_secret_access_key = not-this-one\n\n" +
					"[loadtest]\naws_access_key_id = " + sigv4ProfileCreds.AccessKeyID +
					"\naws_secret_access_key = " + sigv4ProfileCreds.SecretAccessKey + "\n"
				require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
				return map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "loadtest"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := startPrometheus(t, runner.PrometheusOptions{})
			front := startSigV4Front(t, prom, tt.creds)
			col := startCollector(t, loadEnv(front.WriteURL, awsEnv(t, tt.env(t))), ampConfigs(t)...)

			waitUntil(t, 60*time.Second, func() bool { return front.Verified() >= 6 || front.Rejected() > 0 }, "six signed requests")
			o := stopAndAccount(t, col, prom, 30*time.Second)

			require.Zero(t, front.Rejected(), "rejections: %v", front.Reasons())
			assert.Zero(t, o.ExitCode)
			assert.Zero(t, o.Refused)
			assert.Positive(t, o.Emitted)
			assert.Equal(t, o.Emitted, o.Stored, "samples emitted and stored")
			assert.Equal(t, o.Emitted, o.Appended, "samples appended by Prometheus")
			assert.Equal(t, float64(front.Verified()), writeCodes(o.Prom)["204"], "every verified request was forwarded and accepted")
			requireCleanPrometheus(t, o)
			assert.Empty(t, problems(o.Log), "signed writes run without a warning")
			assert.NotContains(t, o.Log, tt.creds.SecretAccessKey)
			if tt.creds.SessionToken != "" {
				assert.NotContains(t, o.Log, tt.creds.SessionToken)
			}
			t.Logf("%d requests verified; %d samples emitted, %d stored", front.Verified(), o.Emitted, o.Stored)
		})
	}
}

// TestSigV4WrongSecretIsRejected signs with a wrong secret: every request is
// answered 403, once, the collector logs one line per request and per batch, counts
// every sample as failed, keeps running, stops cleanly and never logs a secret.
func TestSigV4WrongSecretIsRejected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prom := startPrometheus(t, runner.PrometheusOptions{})
	front := startSigV4Front(t, prom, sigv4Creds)
	wrong := aws.Credentials{AccessKeyID: sigv4Creds.AccessKeyID, SecretAccessKey: "e2eWrongSecret/Zx8Cv6Bn4Mm2Qa1Ws3Ed5Rf7Tg9Yh0Uj"}
	col := startCollector(t, loadEnv(front.WriteURL, awsEnv(t, credentialsEnv(wrong))), ampConfigs(t)...)

	waitUntil(t, 60*time.Second, func() bool { return front.Rejected() >= 6 }, "six rejected requests")
	// The telemetry agrees with the log: read it between two reads of the log that
	// agree with each other.
	var sendFailed float64
	waitUntil(t, 30*time.Second, func() bool {
		before, _ := runner.ParseLog(col.Log()).Unsent()
		m, err := col.Telemetry(ctx)
		after, _ := runner.ParseLog(col.Log()).Unsent()
		if err != nil {
			return false
		}
		sendFailed = m.Sum("otelcol_exporter_send_failed_metric_points", prw)
		return before == after && after > 0 && sendFailed == float64(after) &&
			m.Sum("otelcol_exporter_sent_metric_points", prw) == 0
	}, "send_failed_metric_points to match the dropped_items of the log")

	select {
	case <-col.Exited():
		require.FailNow(t, "the collector exited")
	default:
	}
	resp, err := http.Get(col.HealthURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "still healthy")

	o := stopAndAccount(t, col, prom, 30*time.Second)
	assert.Zero(t, o.ExitCode, "a SIGTERM still ends it cleanly")
	assert.Zero(t, front.Verified())
	assert.Equal(t, map[string]int64{backend.ReasonSignatureMismatch: front.Rejected()}, front.Reasons())
	assert.Zero(t, o.Stored)
	assert.Zero(t, o.Refused)
	assert.Equal(t, o.Emitted, o.Lost, "every emitted sample is reported lost")

	// Not retried: a log line per rejected request (sampled), each its first attempt.
	failed := runner.ParseLog(o.Log).FailedRequests()
	require.Len(t, failed, int(front.Rejected()), "a line per rejected request")
	for _, f := range failed {
		require.Equal(t, http.StatusForbidden, f.StatusCode)
		require.Equal(t, 1, f.Attempt, "a 403 is not retried")
		require.Contains(t, f.Error, backend.ReasonSignatureMismatch, "the log shows the backend's answer")
	}
	// Per request and per batch, not per sample.
	lines := problems(o.Log)
	// Per failed batch the exporter's line and the batch processor's "Sender failed".
	assert.Len(t, lines, len(failed)+2*o.LostLines, "only the request and batch lines")
	assert.LessOrEqual(t, o.LostLines, len(failed), "one line per batch")
	assert.Less(t, int64(len(lines))*100, o.Emitted)

	for _, secret := range []string{sigv4Creds.SecretAccessKey, wrong.SecretAccessKey} {
		assert.NotContains(t, o.Log, secret, "the log never shows a secret")
		assert.False(t, strings.Contains(o.Log, secret[len(secret)-12:]), "nor a piece of it")
	}
	t.Logf("%d requests rejected 403 in %d batches; %d samples emitted, %d reported dropped (send_failed %.0f while running)",
		front.Rejected(), o.LostLines, o.Emitted, o.Lost, sendFailed)
}

// fakeSTS answers AssumeRole as AWS STS does, after checking that the request is
// signed with base (service sts), with the temporary credentials creds.
type fakeSTS struct {
	*httptest.Server
	assumed, rejected atomic.Int64
	roleARN           atomic.Value
}

func startFakeSTS(t *testing.T, base, creds aws.Credentials) *fakeSTS {
	t.Helper()
	verifier := &backend.Verifier{Credentials: base, Region: sigv4Region, Service: "sts"}
	sts := &fakeSTS{}
	sts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if reason, _ := verifier.Verify(r, body); reason != "" {
			sts.rejected.Add(1)
			http.Error(w, reason, http.StatusForbidden)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("Action") != "AssumeRole" {
			http.Error(w, "not AssumeRole", http.StatusBadRequest)
			return
		}
		sts.assumed.Add(1)
		sts.roleARN.Store(form.Get("RoleArn"))
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/amp-writer/e2e</Arn>
      <AssumedRoleId>AROAE2ETESTROLE00001:e2e</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>e2e-request</RequestId></ResponseMetadata>
</AssumeRoleResponse>
`, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(sts.Close)
	return sts
}

// TestSigV4AssumeRole adds sigv4auth's assume_role to the AMP overlay, as
// docs/amp.md shows, with STS at a local stand-in (AWS_ENDPOINT_URL_STS): the
// collector calls AssumeRole signed with the environment's credentials and signs
// every write with the temporary credentials it got.
func TestSigV4AssumeRole(t *testing.T) {
	t.Parallel()
	const roleARN = "arn:aws:iam::123456789012:role/amp-writer"
	prom := startPrometheus(t, runner.PrometheusOptions{})
	front := startSigV4Front(t, prom, sigv4TempCreds)
	sts := startFakeSTS(t, sigv4Creds, sigv4TempCreds)
	env := credentialsEnv(sigv4Creds)
	env["AWS_ENDPOINT_URL_STS"] = sts.URL
	configs := append(ampConfigs(t), "yaml:extensions::sigv4auth::assume_role::arn: "+roleARN)
	col := startCollector(t, loadEnv(front.WriteURL, awsEnv(t, env)), configs...)

	waitUntil(t, 60*time.Second, func() bool { return front.Verified() >= 6 || front.Rejected() > 0 }, "six signed requests")
	o := stopAndAccount(t, col, prom, 30*time.Second)

	require.Zero(t, sts.rejected.Load(), "AssumeRole is signed with the base credentials")
	require.Positive(t, sts.assumed.Load())
	assert.Equal(t, roleARN, sts.roleARN.Load())
	require.Zero(t, front.Rejected(), "rejections: %v", front.Reasons())
	assert.Zero(t, o.ExitCode)
	assert.Equal(t, o.Emitted, o.Stored, "samples emitted and stored")
	requireCleanPrometheus(t, o)
	assert.Empty(t, problems(o.Log))
	for _, secret := range []string{sigv4Creds.SecretAccessKey, sigv4TempCreds.SecretAccessKey, sigv4TempCreds.SessionToken} {
		assert.NotContains(t, o.Log, secret)
	}
	t.Logf("%d AssumeRole calls; %d writes verified with the role's credentials; %d samples emitted, %d stored",
		sts.assumed.Load(), front.Verified(), o.Emitted, o.Stored)
}

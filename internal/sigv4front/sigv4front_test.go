// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package sigv4front

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	testNow   = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	testBody  = []byte("\x0a\x1b remote-write payload, snappy in real life")
)

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signedRequest builds a remote-write request as the collector sends it and signs
// it as the sigv4auth extension does, after before (if set) changed it.
func signedRequest(t *testing.T, creds aws.Credentials, region, service string, at time.Time, before func(*http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:9090/workspaces/ws-1/api/v1/remote_write", bytes.NewReader(testBody))
	require.NoError(t, err)
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	r.Header.Set("User-Agent", "otelcol-dummymetrics/0.1.0")
	if before != nil {
		before(r)
	}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, r, hashOf(testBody), service, region, at))
	return r
}

// received turns a client request into what a server sees.
func received(r *http.Request) *http.Request {
	s := r.Clone(context.Background())
	s.RequestURI = r.URL.RequestURI()
	s.URL = &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if s.Host == "" {
		s.Host = r.URL.Host
	}
	return s
}

func TestVerify(t *testing.T) {
	withToken := testCreds
	withToken.SessionToken = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
	tests := []struct {
		name string
		// verifier's credentials; testCreds when empty
		frontCreds aws.Credentials
		// client's credentials, region, service and time; the verifier's when empty
		clientCreds             aws.Credentials
		region, service         string
		at                      time.Time
		beforeSigning           func(*http.Request)
		afterSigning            func(*http.Request)
		body                    []byte
		wantReason              string
		wantDetailNotContaining string
	}{
		{name: "good signature"},
		{name: "good signature with a session token", frontCreds: withToken, clientCreds: withToken},
		{
			name:          "good signature with a signed content hash",
			beforeSigning: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", hashOf(testBody)) },
		},
		{
			name:                    "wrong secret",
			clientCreds:             aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "not-the-secret"},
			wantReason:              ReasonSignatureMismatch,
			wantDetailNotContaining: "not-the-secret",
		},
		{name: "tampered body", body: append([]byte("x"), testBody...), wantReason: ReasonSignatureMismatch},
		{
			name:         "tampered signed header",
			afterSigning: func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") },
			wantReason:   ReasonSignatureMismatch,
		},
		{
			name:         "tampered path",
			afterSigning: func(r *http.Request) { r.URL.Path = "/workspaces/ws-2/api/v1/remote_write" },
			wantReason:   ReasonSignatureMismatch,
		},
		{
			name:         "tampered signature",
			afterSigning: func(r *http.Request) { r.Header.Set("Authorization", flipLastChar(r.Header.Get("Authorization"))) },
			wantReason:   ReasonSignatureMismatch,
		},
		{
			name:         "missing signed header",
			afterSigning: func(r *http.Request) { r.Header.Del("X-Prometheus-Remote-Write-Version") },
			wantReason:   ReasonMissingHeader,
		},
		{name: "missing Authorization", afterSigning: func(r *http.Request) { r.Header.Del("Authorization") }, wantReason: ReasonNoAuthorization},
		{name: "missing X-Amz-Date", afterSigning: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, wantReason: ReasonNoDate},
		{
			name:         "malformed Authorization",
			afterSigning: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") },
			wantReason:   ReasonMalformed,
		},
		{name: "stale date", at: testNow.Add(-6 * time.Minute), wantReason: ReasonStale},
		{name: "date in the future", at: testNow.Add(6 * time.Minute), wantReason: ReasonStale},
		{name: "date within the skew", at: testNow.Add(-4 * time.Minute)},
		{name: "wrong region", region: "us-east-1", wantReason: ReasonWrongRegion},
		{name: "wrong service", service: "execute-api", wantReason: ReasonWrongService},
		{
			name:        "unknown access key",
			clientCreds: aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: testCreds.SecretAccessKey},
			wantReason:  ReasonUnknownAccessKey,
		},
		{name: "session token expected, none sent", frontCreds: withToken, clientCreds: testCreds, wantReason: ReasonSessionToken},
		{
			name:         "session token sent but not signed",
			frontCreds:   withToken,
			clientCreds:  testCreds,
			afterSigning: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", withToken.SessionToken) },
			wantReason:   ReasonSessionToken,
		},
		{
			name:        "wrong session token",
			frontCreds:  withToken,
			clientCreds: aws.Credentials{AccessKeyID: withToken.AccessKeyID, SecretAccessKey: withToken.SecretAccessKey, SessionToken: "other"},
			wantReason:  ReasonSessionToken,
		},
		{name: "session token not expected", clientCreds: withToken, wantReason: ReasonSessionToken},
		{
			name:          "content hash header of another body",
			beforeSigning: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", hashOf([]byte("other"))) },
			wantReason:    ReasonContentHash,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frontCreds := tt.frontCreds
			if frontCreds.AccessKeyID == "" {
				frontCreds = testCreds
			}
			clientCreds := tt.clientCreds
			if clientCreds.AccessKeyID == "" {
				clientCreds = frontCreds
			}
			region, service, at := tt.region, tt.service, tt.at
			if region == "" {
				region = "eu-west-1"
			}
			if service == "" {
				service = "aps"
			}
			if at.IsZero() {
				at = testNow
			}
			v := &Verifier{Credentials: frontCreds, Region: "eu-west-1", Service: "aps", Now: func() time.Time { return testNow }}

			r := received(signedRequest(t, clientCreds, region, service, at, tt.beforeSigning))
			if tt.afterSigning != nil {
				tt.afterSigning(r)
			}
			body := testBody
			if tt.body != nil {
				body = tt.body
			}
			err := v.Verify(r, body)
			if tt.wantReason == "" {
				require.NoError(t, err)
				return
			}
			var rej *Rejection
			require.ErrorAs(t, err, &rej)
			assert.Equal(t, tt.wantReason, rej.Reason, "%v", err)
			assert.NotContains(t, err.Error(), frontCreds.SecretAccessKey, "a rejection never shows the secret")
			if tt.wantDetailNotContaining != "" {
				assert.NotContains(t, err.Error(), tt.wantDetailNotContaining)
			}
		})
	}
}

func flipLastChar(s string) string {
	last := s[len(s)-1]
	if last == '0' {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}

// TestVerifyAWSTestSuiteVector checks the verifier against a signature computed by
// AWS, not by the signer it uses: "get-vanilla" of the AWS Signature Version 4 test
// suite.
func TestVerifyAWSTestSuiteVector(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/", http.NoBody)
	r.Header = http.Header{}
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	const signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="+signature)
	v := &Verifier{
		Credentials: testCreds, Region: "us-east-1", Service: "service",
		Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) },
	}
	require.NoError(t, v.Verify(r, nil))

	r.Header.Set("Authorization", flipLastChar(r.Header.Get("Authorization")))
	var rej *Rejection
	require.ErrorAs(t, v.Verify(r, nil), &rej)
	assert.Equal(t, ReasonSignatureMismatch, rej.Reason)
}

// TestFront checks that the front forwards verified requests unchanged, path and
// body, and answers the others 403 without forwarding them.
func TestFront(t *testing.T) {
	type seen struct {
		path, encoding string
		body           []byte
		authorization  string
	}
	got := make(chan seen, 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.URL.Path, r.Header.Get("Content-Encoding"), b, r.Header.Get("Authorization")}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(upstream.Close)
	upstreamURL, err := url.Parse(upstream.URL)
	require.NoError(t, err)

	v := &Verifier{Credentials: testCreds, Region: "eu-west-1", Service: "aps"}
	front, err := Start(v, upstreamURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = front.Close() })

	send := func(creds aws.Credentials) *http.Response {
		r, err := http.NewRequest(http.MethodPost, front.WriteURL, bytes.NewReader(testBody))
		require.NoError(t, err)
		r.Header.Set("Content-Encoding", "snappy")
		require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, r, hashOf(testBody), "aps", "eu-west-1", time.Now()))
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		return resp
	}

	resp := send(testCreds)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	forwarded := <-got
	assert.Equal(t, seen{"/api/v1/write", "snappy", testBody, ""}, forwarded, "forwarded as received, without the signature")

	resp = send(aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "wrong"})
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, string(msg), ReasonSignatureMismatch)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))

	assert.Equal(t, int64(1), front.Verified())
	assert.Equal(t, int64(1), front.Rejected())
	assert.Equal(t, map[string]int64{ReasonSignatureMismatch: 1}, front.Reasons())
	assert.Empty(t, got, "a rejected request is not forwarded")
}

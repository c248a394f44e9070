// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testCreds  = aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "c2VjcmV0LXRlc3Qta2V5"}
	tokenCreds = aws.Credentials{AccessKeyID: "ASIATEST", SecretAccessKey: "dG9rZW4tdGVzdC1rZXk=", SessionToken: "FwoGZXIvYXdzEXAMPLE"}
)

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func TestSigV4Check(t *testing.T) {
	body := writeBody(t, series("cpu", 1000, 2000))
	const region, service = "eu-west-1", "aps"
	type signing struct {
		creds           aws.Credentials
		region, service string
		at              time.Time
	}
	tests := []struct {
		name     string
		verifier aws.Credentials // testCreds unless set
		get      bool            // a query with an empty body, not a write
		before   func(*http.Request)
		sign     func(*signing)
		after    func(*http.Request)
		want     string
	}{
		{name: "valid"},
		{name: "valid with content hash", before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadHash(body)) }},
		{name: "valid with session token", verifier: tokenCreds, sign: func(s *signing) { s.creds = tokenCreds }},
		{name: "valid query", get: true},
		{name: "query changed", get: true, after: func(r *http.Request) { r.URL.RawQuery = "query=down" }, want: ReasonSignatureMismatch},
		{name: "wrong secret", sign: func(s *signing) { s.creds.SecretAccessKey = "wrong" }, want: ReasonSignatureMismatch},
		{name: "body changed", after: func(r *http.Request) { setBody(r, flipLast(body)) }, want: ReasonSignatureMismatch},
		{
			name:   "body changed, content hash sent",
			before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadHash(body)) },
			after:  func(r *http.Request) { setBody(r, flipLast(body)) },
			want:   ReasonContentHash,
		},
		{name: "signed header changed", after: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, want: ReasonSignatureMismatch},
		{name: "signed header removed", after: func(r *http.Request) { r.Header.Del("Content-Type") }, want: ReasonUnsignedHeader},
		{name: "path changed", after: func(r *http.Request) { r.URL.Path = "/api/v1/push" }, want: ReasonSignatureMismatch},
		{name: "wrong region", sign: func(s *signing) { s.region = "us-east-1" }, want: ReasonWrongScope},
		{name: "wrong service", sign: func(s *signing) { s.service = "execute-api" }, want: ReasonWrongScope},
		{name: "unknown access key", sign: func(s *signing) { s.creds.AccessKeyID = "AKIDOTHER" }, want: ReasonUnknownAccessKey},
		{name: "no Authorization", after: func(r *http.Request) { r.Header.Del("Authorization") }, want: ReasonMalformed},
		{name: "not SigV4", after: func(r *http.Request) { r.Header.Set("Authorization", "Bearer token") }, want: ReasonMalformed},
		{name: "stale date", sign: func(s *signing) { s.at = s.at.Add(-6 * time.Minute) }, want: ReasonBadDate},
		{name: "date ahead", sign: func(s *signing) { s.at = s.at.Add(6 * time.Minute) }, want: ReasonBadDate},
		{name: "date not the scope's", after: func(r *http.Request) { setScopeDate(r, "20010101") }, want: ReasonBadDate},
		{name: "session token missing", verifier: tokenCreds, sign: func(s *signing) { s.creds = tokenCreds; s.creds.SessionToken = "" }, want: ReasonSessionToken},
		{name: "session token wrong", verifier: tokenCreds, sign: func(s *signing) { s.creds = tokenCreds; s.creds.SessionToken = "other" }, want: ReasonSessionToken},
		{name: "session token unexpected", sign: func(s *signing) { s.creds.SessionToken = "token" }, want: ReasonSessionToken},
		{
			name:  "host not signed",
			after: func(r *http.Request) { editAuth(r, ";host;", ";") },
			want:  ReasonUnsignedHeader,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifier := &Verifier{Credentials: testCreds, Region: region, Service: service}
			if tt.verifier.AccessKeyID != "" {
				verifier.Credentials = tt.verifier
			}
			next := newSeen()
			check := SigV4(verifier, next)
			srv := serve(t, check)

			r := writeRequest(t, srv.WriteURL, body)
			signedBody := body
			if tt.get {
				var err error
				r, err = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/query?query=up&time=1700000000", http.NoBody)
				require.NoError(t, err)
				signedBody = nil
			}
			if tt.before != nil {
				tt.before(r)
			}
			s := signing{creds: testCreds, region: region, service: service, at: time.Now()}
			if tt.sign != nil {
				tt.sign(&s)
			}
			require.NoError(t, v4.NewSigner().SignHTTP(t.Context(), s.creds, r, payloadHash(signedBody), s.service, s.region, s.at))
			if tt.after != nil {
				tt.after(r)
			}

			status, answer := do(t, r)
			if tt.want == "" {
				require.Equal(t, http.StatusNoContent, status, answer)
				require.Equal(t, 1, next.calls())
				got := next.req(0)
				assert.Empty(t, got.Header.Get("Authorization"), "passed on without its signature")
				assert.Equal(t, r.Method, got.Method)
				assert.Equal(t, r.URL.RawQuery, got.URL.RawQuery)
				if !tt.get {
					assert.Equal(t, body, next.write(0).Body, "passed on with its body")
				}
				assert.Equal(t, int64(1), check.Verified())
				assert.Empty(t, check.Reasons())
				assert.Zero(t, check.Rejected())
				return
			}
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, answer, `{"message":"`+tt.want)
			assert.Zero(t, next.calls(), "not passed on")
			assert.Zero(t, check.Verified())
			assert.Equal(t, map[string]int64{tt.want: 1}, check.Reasons())
			assert.Equal(t, int64(1), check.Rejected())
		})
	}
}

// TestVerifierAWSVectors checks the verifier against the AWS SigV4 test suite.
func TestVerifierAWSVectors(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	signedAt := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	for _, tt := range []struct{ name, method, signature string }{
		{"get-vanilla", http.MethodGet, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"post-vanilla", http.MethodPost, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), tt.method, "http://example.amazonaws.com/", http.NoBody)
			require.NoError(t, err)
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="+tt.signature)
			v := &Verifier{Credentials: creds, Region: "us-east-1", Service: "service", Now: func() time.Time { return signedAt.Add(time.Minute) }}
			reason, detail := v.Verify(r, nil)
			assert.Empty(t, reason, detail)

			editAuth(r, tt.signature, tt.signature[:63]+"0")
			reason, _ = v.Verify(r, nil)
			assert.Equal(t, ReasonSignatureMismatch, reason)

			v.Now = nil // the clock is now, years after
			reason, _ = v.Verify(r, nil)
			assert.Equal(t, ReasonBadDate, reason)
		})
	}
}

func setBody(r *http.Request, body []byte) {
	r.Body, r.GetBody = io.NopCloser(bytes.NewReader(body)), nil
	r.ContentLength = int64(len(body))
}

// flipLast is body with its last byte changed, the same length.
func flipLast(body []byte) []byte {
	b := bytes.Clone(body)
	b[len(b)-1] ^= 0xff
	return b
}

func editAuth(r *http.Request, old, replacement string) {
	auth := r.Header.Get("Authorization")
	if !strings.Contains(auth, old) {
		panic("no " + old + " in " + auth)
	}
	r.Header.Set("Authorization", strings.Replace(auth, old, replacement, 1))
}

// setScopeDate changes the date of the credential scope, not X-Amz-Date.
func setScopeDate(r *http.Request, date string) {
	scope := strings.Split(r.Header.Get("Authorization"), "/")
	editAuth(r, "/"+scope[1]+"/", "/"+date+"/")
}

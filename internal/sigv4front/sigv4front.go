// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package sigv4front is a stand-in for the front door of Amazon Managed Service for
// Prometheus in tests: an HTTP server that checks the AWS Signature Version 4 of
// every request for real and forwards the requests that pass to a real Prometheus.
//
// AWS checks a signature by computing it again from the request and the secret key
// it holds, and so does the Verifier: it reads the credential scope, the signed
// headers and the signature from the Authorization header, rebuilds the request
// from the signed headers only, signs it again with aws-sdk-go-v2's v4.Signer and
// the known test credentials over the SHA-256 of the body it received, and compares
// the two Authorization headers. A wrong secret, a changed body or signed header, a
// missing header, a stale date or another region or service does not verify.
package sigv4front

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	algorithm    = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	scopeDateFmt = "20060102"
	// DefaultMaxSkew is how far the X-Amz-Date of a request may be from the clock,
	// as AWS allows.
	DefaultMaxSkew = 5 * time.Minute
	// maxBody bounds the body the front reads; remote-write requests are far smaller.
	maxBody = 64 << 20
)

// Verifier checks the SigV4 signature of requests made with one set of credentials
// for one region and service.
type Verifier struct {
	// Credentials are the ones the client must have signed with; a non-empty
	// SessionToken must be sent, and signed, as X-Amz-Security-Token.
	Credentials aws.Credentials
	// Region and Service must be those of the credential scope, e.g. eu-west-1 and aps.
	Region, Service string
	// MaxSkew is how far X-Amz-Date may be from Now; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Rejection is why a request did not verify.
type Rejection struct {
	// Reason is a short, fixed phrase, usable as a counter key.
	Reason string
	// Detail adds the values involved; it never holds the secret.
	Detail string
}

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return r.Reason
	}
	return r.Reason + ": " + r.Detail
}

// The reasons of a Rejection.
const (
	ReasonNoAuthorization    = "missing Authorization header"
	ReasonMalformed          = "malformed Authorization header"
	ReasonUnknownAccessKey   = "unknown access key"
	ReasonWrongRegion        = "wrong region in the credential scope"
	ReasonWrongService       = "wrong service in the credential scope"
	ReasonNoDate             = "missing X-Amz-Date header"
	ReasonBadDate            = "X-Amz-Date does not match the credential scope"
	ReasonStale              = "request time too skewed"
	ReasonUnsignedHeader     = "required header not signed"
	ReasonMissingHeader      = "signed header missing"
	ReasonSessionToken       = "security token missing or wrong"
	ReasonContentHash        = "X-Amz-Content-Sha256 does not match the body"
	ReasonSignatureMismatch  = "signature does not match"
	ReasonUnsupportedRequest = "unsupported request"
)

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// authorization is a parsed Authorization header.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuthorization(header string) (*authorization, error) {
	rest, ok := strings.CutPrefix(header, algorithm+" ")
	if !ok {
		return nil, reject(ReasonMalformed, "want the %s algorithm", algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		key, value, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return nil, reject(ReasonMalformed, "%q is not key=value", part)
		}
		fields[key] = value
	}
	a := &authorization{signature: fields["Signature"]}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, reject(ReasonMalformed, "Credential %q is not key/date/region/service/aws4_request", fields["Credential"])
	}
	a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	if fields["SignedHeaders"] == "" || a.signature == "" {
		return nil, reject(ReasonMalformed, "SignedHeaders and Signature are required")
	}
	a.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	return a, nil
}

// Verify checks the signature of r, whose body was read into body. It returns nil
// or a *Rejection.
func (v *Verifier) Verify(r *http.Request, body []byte) error {
	header := r.Header.Get("Authorization")
	if header == "" {
		return reject(ReasonNoAuthorization, "")
	}
	auth, err := parseAuthorization(header)
	if err != nil {
		return err
	}
	if auth.accessKey != v.Credentials.AccessKeyID {
		return reject(ReasonUnknownAccessKey, "%q", auth.accessKey)
	}
	if auth.region != v.Region {
		return reject(ReasonWrongRegion, "%q, want %q", auth.region, v.Region)
	}
	if auth.service != v.Service {
		return reject(ReasonWrongService, "%q, want %q", auth.service, v.Service)
	}

	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return reject(ReasonNoDate, "")
	}
	signedAt, err := time.Parse(amzDateFmt, amzDate)
	if err != nil {
		return reject(ReasonBadDate, "%q is not %s", amzDate, amzDateFmt)
	}
	if signedAt.Format(scopeDateFmt) != auth.date {
		return reject(ReasonBadDate, "%q against scope date %q", amzDate, auth.date)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	maxSkew := v.MaxSkew
	if maxSkew == 0 {
		maxSkew = DefaultMaxSkew
	}
	if skew := now().Sub(signedAt); skew > maxSkew || skew < -maxSkew {
		return reject(ReasonStale, "signed at %s, %s from now (at most %s)", amzDate, skew.Round(time.Second), maxSkew)
	}

	for _, required := range []string{"host", "x-amz-date"} {
		if !slices.Contains(auth.signedHeaders, required) {
			return reject(ReasonUnsignedHeader, "%s", required)
		}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	switch {
	case v.Credentials.SessionToken == "" && token != "":
		return reject(ReasonSessionToken, "the credentials have no session token, the request sends one")
	case v.Credentials.SessionToken != "" && !slices.Contains(auth.signedHeaders, "x-amz-security-token"):
		return reject(ReasonSessionToken, "x-amz-security-token is not signed")
	case v.Credentials.SessionToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(v.Credentials.SessionToken)) != 1:
		return reject(ReasonSessionToken, "X-Amz-Security-Token is not the session token of the credentials")
	}

	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if sent := r.Header.Get("X-Amz-Content-Sha256"); sent != "" && sent != payloadHash {
		return reject(ReasonContentHash, "header %s, body %s", sent, payloadHash)
	}

	rebuilt, err := rebuild(r, auth.signedHeaders)
	if err != nil {
		return err
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), v.Credentials, rebuilt, payloadHash, v.Service, v.Region, signedAt); err != nil {
		return reject(ReasonUnsupportedRequest, "signing again: %v", err)
	}
	if want := rebuilt.Header.Get("Authorization"); subtle.ConstantTimeCompare([]byte(want), []byte(header)) != 1 {
		return reject(ReasonSignatureMismatch, "signed headers %s", strings.Join(auth.signedHeaders, ";"))
	}
	return nil
}

// rebuild makes a request with the method, path, query and host of r and only the
// headers r signed.
func rebuild(r *http.Request, signedHeaders []string) (*http.Request, error) {
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, name := range signedHeaders {
		switch name {
		case "host":
			// The signer takes it from Host.
		case "content-length":
			// The signer signs ContentLength when positive.
			if r.ContentLength <= 0 {
				return nil, reject(ReasonMissingHeader, "content-length")
			}
			out.ContentLength = r.ContentLength
		default:
			values := r.Header.Values(name)
			if len(values) == 0 {
				return nil, reject(ReasonMissingHeader, "%s", name)
			}
			out.Header[textproto.CanonicalMIMEHeaderKey(name)] = values
		}
	}
	return out, nil
}

// Front is an http.Handler that verifies every request and forwards those that
// verify to the upstream; the others are answered 403 with the reason, as AWS does.
type Front struct {
	verifier *Verifier
	proxy    *httputil.ReverseProxy

	verified, rejected, proxyErrors atomic.Int64
	mu                              sync.Mutex
	reasons                         map[string]int64
}

// New returns a front that verifies with v and forwards to upstream, the base URL
// of a Prometheus (the request path is kept).
func New(v *Verifier, upstream *url.URL) *Front {
	f := &Front{verifier: v, reasons: map[string]int64{}}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
			pr.Out.Header.Del("Authorization")
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			f.proxyErrors.Add(1)
			http.Error(w, "sigv4front: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	return f
}

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "sigv4front: cannot read the body", http.StatusBadRequest)
		return
	}
	if err := f.verifier.Verify(r, body); err != nil {
		f.rejected.Add(1)
		reason := err.Error()
		var rej *Rejection
		if errors.As(err, &rej) {
			reason = rej.Reason
		}
		f.mu.Lock()
		f.reasons[reason]++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "{\"message\":%q}\n", "sigv4front: "+err.Error())
		return
	}
	f.verified.Add(1)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	f.proxy.ServeHTTP(w, r)
}

// Verified is how many requests verified and were forwarded.
func (f *Front) Verified() int64 { return f.verified.Load() }

// Rejected is how many requests were answered 403.
func (f *Front) Rejected() int64 { return f.rejected.Load() }

// ProxyErrors is how many verified requests could not be forwarded.
func (f *Front) ProxyErrors() int64 { return f.proxyErrors.Load() }

// Reasons counts the rejections by Rejection.Reason.
func (f *Front) Reasons() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.reasons)
}

// Server serves a Front on a loopback port.
type Server struct {
	*Front
	// URL is the base URL, e.g. http://127.0.0.1:40123; WriteURL adds the
	// remote-write path.
	URL, WriteURL string
	srv           *http.Server
}

// Start serves a front that verifies with v and forwards to upstream on a free
// loopback port.
func Start(v *Verifier, upstream *url.URL) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := New(v, upstream)
	s := &Server{
		Front:    f,
		URL:      "http://" + l.Addr().String(),
		WriteURL: "http://" + l.Addr().String() + "/api/v1/write",
		srv:      &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second},
	}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.srv.Close() }

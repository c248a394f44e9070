// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Verifier checks the AWS Signature Version 4 of requests signed with one set of
// credentials for one region and service, as AWS does: it computes the signature
// again from the request, with aws-sdk-go-v2's signer and the known secret, over
// the SHA-256 of the body received, and compares.
type Verifier struct {
	// Credentials are those the client must have signed with; a non-empty
	// SessionToken must be sent, and signed, as X-Amz-Security-Token.
	Credentials aws.Credentials
	// Region and Service must be those of the credential scope, e.g. eu-west-1 and aps.
	Region, Service string
	// Now is the clock X-Amz-Date is checked against; nil means time.Now.
	Now func() time.Time
}

// The reasons of a rejection, usable as counter keys.
const (
	ReasonMalformed         = "missing or malformed Authorization header"
	ReasonUnknownAccessKey  = "unknown access key"
	ReasonWrongScope        = "wrong region or service in the credential scope"
	ReasonBadDate           = "missing, malformed or skewed X-Amz-Date"
	ReasonUnsignedHeader    = "required header not signed or missing"
	ReasonSessionToken      = "security token missing or wrong"
	ReasonContentHash       = "X-Amz-Content-Sha256 does not match the body"
	ReasonSignatureMismatch = "signature does not match"
)

// maxSkew is how far X-Amz-Date may be from the clock, as AWS allows.
const maxSkew = 5 * time.Minute

// Verify checks the signature of r, whose body is body, and returns the reason it
// does not verify, or "".
func (v *Verifier) Verify(r *http.Request, body []byte) (reason, detail string) {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return ReasonMalformed, ""
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	signed := strings.Split(fields["SignedHeaders"], ";")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["Signature"] == "" {
		return ReasonMalformed, fields["Credential"]
	}
	if scope[0] != v.Credentials.AccessKeyID {
		return ReasonUnknownAccessKey, scope[0]
	}
	if scope[2] != v.Region || scope[3] != v.Service {
		return ReasonWrongScope, scope[2] + "/" + scope[3]
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if skew := now().Sub(signedAt); err != nil || signedAt.Format("20060102") != scope[1] || skew > maxSkew || skew < -maxSkew {
		return ReasonBadDate, r.Header.Get("X-Amz-Date")
	}
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return ReasonUnsignedHeader, fields["SignedHeaders"]
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if token != v.Credentials.SessionToken || (token != "" && !slices.Contains(signed, "x-amz-security-token")) {
		return ReasonSessionToken, ""
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if sent := r.Header.Get("X-Amz-Content-Sha256"); sent != "" && sent != hash {
		return ReasonContentHash, ""
	}
	// The request again, with only the signed headers, signed again.
	again := &http.Request{Method: r.Method, Host: r.Host, Header: http.Header{},
		URL: &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}}
	for _, name := range signed {
		switch values := r.Header.Values(name); {
		case name == "host":
		case name == "content-length":
			again.ContentLength = r.ContentLength
		case len(values) == 0:
			return ReasonUnsignedHeader, name
		default:
			again.Header[textproto.CanonicalMIMEHeaderKey(name)] = values
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), v.Credentials, again, hash, v.Service, v.Region, signedAt); err != nil {
		return ReasonMalformed, err.Error()
	}
	// The signatures are compared, as AWS does, not the header's formatting.
	_, want, _ := strings.Cut(again.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return ReasonSignatureMismatch, fields["SignedHeaders"]
	}
	return "", ""
}

// SigV4Check answers 403 with the reason, as AWS does, to requests that do not
// verify, and passes the others on, without their Authorization header.
type SigV4Check struct {
	verifier *Verifier
	next     http.Handler
	mu       sync.Mutex
	verified int64
	reasons  map[string]int64
}

// SigV4 wraps next.
func SigV4(v *Verifier, next http.Handler) *SigV4Check {
	return &SigV4Check{verifier: v, next: next, reasons: map[string]int64{}}
}

func (c *SigV4Check) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reason, detail := c.verifier.Verify(r, body)
	c.mu.Lock()
	if reason == "" {
		c.verified++
	} else {
		c.reasons[reason]++
	}
	c.mu.Unlock()
	if reason != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "{\"message\":%q}\n", reason+": "+detail)
		return
	}
	r.Header.Del("Authorization")
	c.next.ServeHTTP(w, r)
}

// Verified is how many requests verified and were passed on.
func (c *SigV4Check) Verified() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified
}

// Reasons counts the rejected requests by reason.
func (c *SigV4Check) Reasons() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.reasons)
}

// Rejected is how many requests were answered 403.
func (c *SigV4Check) Rejected() int64 {
	var n int64
	for _, v := range c.Reasons() {
		n += v
	}
	return n
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/sigv4"
)

// Backend is the remote-write backend under test: where the collector writes,
// where its query API answers, and how both are authenticated.
type Backend struct {
	WriteURL, QueryURL string
	// Headers are sent with every request (a tenant's X-Scope-OrgID, say).
	Headers map[string]string
	// BearerToken, when set, is sent as Authorization: Bearer.
	BearerToken string
	// SigV4Region, when set, signs every request with SigV4 for AMP (service aps)
	// with the default AWS credential chain, as the collector's AMP overlay does.
	SigV4Region string
}

// IsAMP reports whether url is an Amazon Managed Service for Prometheus endpoint.
func IsAMP(u *url.URL) bool {
	return strings.HasPrefix(u.Hostname(), "aps-workspaces.") && strings.HasSuffix(u.Hostname(), ".amazonaws.com")
}

// AMPRegion is the region of an AMP workspace URL (aps-workspaces.<region>.amazonaws.com),
// or "" for any other URL.
func AMPRegion(u *url.URL) string {
	if !IsAMP(u) {
		return ""
	}
	region, _, _ := strings.Cut(strings.TrimPrefix(u.Hostname(), "aps-workspaces."), ".")
	return region
}

// DeriveQueryURL finds the base of the query API that belongs to a remote-write
// URL: AMP's workspace URL, Prometheus's and VictoriaMetrics' /api/v1/write,
// Mimir's and Cortex's /api/v1/push (under /prometheus).
func DeriveQueryURL(writeURL string) (string, error) {
	u, err := url.Parse(writeURL)
	if err != nil {
		return "", err
	}
	switch base, path := u.Scheme+"://"+u.Host, u.Path; {
	case strings.HasSuffix(path, "/api/v1/remote_write"):
		return base + strings.TrimSuffix(path, "/api/v1/remote_write"), nil
	case strings.HasSuffix(path, "/api/v1/write"):
		return base + strings.TrimSuffix(path, "/api/v1/write"), nil
	case strings.HasSuffix(path, "/api/v1/push"):
		return base + strings.TrimSuffix(path, "/api/v1/push") + "/prometheus", nil
	}
	return "", fmt.Errorf("cannot tell the query API of %s: give its base URL (the part before /api/v1/query)", writeURL)
}

// Client returns an HTTP client that authenticates as the backend asks, and
// tries a request again when the backend answers 429 or 5xx (retrying).
func (b Backend) Client() (*http.Client, error) {
	client, err := b.writeClient()
	if err != nil {
		return nil, err
	}
	client.Transport = retrying{next: client.Transport, maxAttempts: queryAttempts, firstWait: queryFirstWait}
	return client, nil
}

// writeClient authenticates as the backend asks, and sends each request once.
func (b Backend) writeClient() (*http.Client, error) {
	cfg := config.DefaultHTTPClientConfig
	if b.BearerToken != "" {
		cfg.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(b.BearerToken)}
	}
	if len(b.Headers) > 0 {
		cfg.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{}}
		for k, v := range b.Headers {
			cfg.HTTPHeaders.Headers[k] = config.Header{Values: []string{v}}
		}
	}
	client, err := config.NewClientFromConfig(cfg, "otelcol-dummymetrics-runner")
	if err != nil {
		return nil, err
	}
	if b.SigV4Region != "" {
		signed, err := sigv4.NewSigV4RoundTripper(&sigv4.SigV4Config{Region: b.SigV4Region, ServiceName: "aps"}, client.Transport)
		if err != nil {
			return nil, err
		}
		client.Transport = unsentHeadersDropped{signed}
	}
	return client, nil
}

// unsentHeadersDropped removes the headers that net/http would not send (an
// empty list of values: client_golang marks its POST queries idempotent that way,
// with Idempotency-Key) before the request is signed: a signed header that never
// arrives makes the signature fail to verify.
type unsentHeadersDropped struct{ next http.RoundTripper }

func (u unsentHeadersDropped) RoundTrip(r *http.Request) (*http.Response, error) {
	cloned := false
	for k, v := range r.Header {
		if len(v) == 0 {
			if !cloned {
				r, cloned = r.Clone(r.Context()), true
			}
			delete(r.Header, k)
		}
	}
	return u.next.RoundTrip(r)
}

// Querier asks the backend's Prometheus query API, and counts the samples its
// answers covered, since managed backends charge queries by samples read.
type Querier struct {
	api promv1.API
}

// NewQuerier returns a querier of the backend's QueryURL.
func (b Backend) NewQuerier() (*Querier, error) {
	client, err := b.Client()
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(api.Config{Address: b.QueryURL, Client: client})
	if err != nil {
		return nil, fmt.Errorf("query URL %s: %w", b.QueryURL, err)
	}
	return &Querier{api: promv1.NewAPI(c)}, nil
}

// Check asks a query that any Prometheus API answers, to tell at start-up a query
// URL that is none.
func (q *Querier) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := q.api.Query(ctx, "vector(1)", time.Now())
	if err != nil {
		return fmt.Errorf("not a Prometheus query API: %w", describe(err))
	}
	if vec, ok := v.(model.Vector); !ok || len(vec) != 1 || vec[0].Value != 1 {
		return fmt.Errorf("not a Prometheus query API: vector(1) answered %v", v)
	}
	return nil
}

// Vector evaluates an instant query at time at.
func (q *Querier) Vector(ctx context.Context, promql string, at time.Time) (model.Vector, error) {
	v, _, _, err := q.api.Query(ctx, promql, at)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", promql, describe(err))
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s: a %s, not a vector", promql, v.Type())
	}
	return vec, nil
}

// Scalar evaluates an instant query that yields at most one element, at time at;
// an empty result is 0.
func (q *Querier) Scalar(ctx context.Context, promql string, at time.Time) (float64, error) {
	vec, err := q.Vector(ctx, promql, at)
	switch {
	case err != nil:
		return 0, err
	case len(vec) > 1:
		return 0, fmt.Errorf("query %s: %d results, want one", promql, len(vec))
	case len(vec) == 0:
		return 0, nil
	}
	return float64(vec[0].Value), nil
}

// Samples returns every stored sample of the series matching selector in the
// window before at: a range query of a matrix selector, for tests and small runs.
func (q *Querier) Samples(ctx context.Context, selector string, window time.Duration, at time.Time) (model.Matrix, error) {
	v, _, _, err := q.api.Query(ctx, fmt.Sprintf("%s[%dms]", selector, window.Milliseconds()), at)
	if err != nil {
		return nil, describe(err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, errors.New("not a matrix")
	}
	return m, nil
}

// Check finds at start-up what is wrong with the backend that the collector would
// only find at its first request, if at all: a write URL that is not http(s) or has
// no host, an AMP region that is not the workspace's, a host that cannot be
// reached or a certificate that is not trusted, and a query URL that is no
// Prometheus API. It sends no write.
func (b Backend) Check(ctx context.Context) error {
	u, err := url.Parse(b.WriteURL)
	switch {
	case err != nil:
		return fmt.Errorf("write URL %q: %w", b.WriteURL, err)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("write URL %q must start with https:// (or http://)", b.WriteURL)
	case u.Hostname() == "":
		return fmt.Errorf("write URL %q has no host", b.WriteURL)
	}
	if hostRegion := AMPRegion(u); hostRegion != "" {
		if b.SigV4Region != "" && b.SigV4Region != hostRegion {
			return fmt.Errorf("AWS_REGION (%s) is not the region of the workspace %s (%s): AMP would reject every signature", b.SigV4Region, u.Host, hostRegion)
		}
	}
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && proxy == nil {
		if err := probe(ctx, u); err != nil {
			return fmt.Errorf("write URL %s: %w", b.WriteURL, err)
		}
	}
	if b.QueryURL == "" {
		return nil
	}
	q, err := b.NewQuerier()
	if err != nil {
		return err
	}
	if err := q.Check(ctx); err != nil {
		return fmt.Errorf("query URL %s: %w", b.QueryURL, err)
	}
	return nil
}

// probe opens a TCP connection to the URL's host and, for https, completes a TLS
// handshake with the host name verified.
func probe(ctx context.Context, u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if u.Scheme == "https" {
		if err := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}).HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake with %s failed: %w", addr, err)
		}
	}
	return nil
}

func promv1Range(from, to time.Time, step time.Duration) promv1.Range {
	return promv1.Range{Start: from, End: to, Step: step}
}

// Describe says how requests to the backend are authenticated, without the
// values: " with the headers X-Scope-OrgID and a bearer token", or "".
func (b Backend) Describe() string {
	var parts []string
	if len(b.Headers) > 0 {
		parts = append(parts, "the headers "+strings.Join(slices.Sorted(maps.Keys(b.Headers)), ", "))
	}
	if b.BearerToken != "" {
		parts = append(parts, "a bearer token")
	}
	if b.SigV4Region != "" {
		parts = append(parts, "SigV4 signatures (region "+b.SigV4Region+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return " with " + strings.Join(parts, " and ")
}

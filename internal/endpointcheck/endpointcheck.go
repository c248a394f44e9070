// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package endpointcheck finds at start-up what is wrong with a remote-write
// endpoint that the collector itself only finds at the first request, if at all:
// the collector refuses a URL it cannot parse ("invalid endpoint") but starts with
// an ftp:// URL, a URL without a host, an unreachable host or a certificate it
// does not trust, and then retries every request silently (at the default log
// level) until retry_on_failure.max_elapsed_time, which is unlimited by default.
package endpointcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Parse checks that raw is an absolute http or https URL with a host, as the
// exporter needs, and names the variable it came from in its error.
func Parse(variable, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s (%q) is not a URL: %w", variable, raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%s (%q) must start with https:// (or http://)", variable, raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%s (%q) has no host", variable, raw)
	}
	return u, nil
}

// AMPRegion checks the region that the AMP overlay signs with (AWS_REGION, region)
// against the endpoint. The sigv4auth extension infers the region only from an
// aps-workspaces.<region>.amazonaws.com host, and a region that differs from the
// workspace's makes AMP answer every request 403.
func AMPRegion(u *url.URL, region string) error {
	host := u.Hostname()
	if rest, ok := strings.CutPrefix(host, "aps-workspaces."); ok {
		hostRegion, _, _ := strings.Cut(rest, ".")
		if region != "" && region != hostRegion {
			return fmt.Errorf("AWS_REGION (%s) is not the region of the workspace host %s (%s): AMP would reject every signature", region, host, hostRegion)
		}
		return nil
	}
	if region == "" {
		return fmt.Errorf("AWS_REGION must be set: the SigV4 region cannot be inferred from the host %s (only from aps-workspaces.<region>.amazonaws.com)", host)
	}
	return nil
}

// Prober connects to an endpoint the way the collector's HTTP client will.
type Prober struct {
	// Timeout bounds the connection and the TLS handshake; 0 means 10 s.
	Timeout time.Duration
	// RootCAs are the trusted certificate authorities; nil means the system's.
	RootCAs *x509.CertPool
	// Proxy tells whether a proxy is used; nil means http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
}

// ErrProxied is returned by Probe when the endpoint is reached through a proxy,
// which it does not try.
var ErrProxied = errors.New("reached through a proxy: not probed")

// Probe opens a TCP connection to the endpoint's host and, for https, completes a
// TLS handshake with the host name verified. It sends no request.
func (p Prober) Probe(ctx context.Context, u *url.URL) error {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	proxy := p.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	if proxyURL, err := proxy(&http.Request{URL: u}); err != nil || proxyURL != nil {
		return ErrProxied
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if u.Scheme != "https" {
		return nil
	}
	tlsConn := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12})
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake with %s failed: %w", addr, err)
	}
	return nil
}

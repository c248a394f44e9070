// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package endpointcheck

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/promserver"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw, wantErr string
	}{
		{raw: "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"},
		{raw: "http://127.0.0.1:9090/api/v1/write"},
		{raw: "not a url", wantErr: "must start with https://"},
		{raw: "127.0.0.1:9090/api/v1/write", wantErr: "is not a URL"},
		{raw: "ftp://x/api/v1/write", wantErr: "must start with https://"},
		{raw: "http:///api/v1/write", wantErr: "has no host"},
		{raw: "https://:443/api/v1/write", wantErr: "has no host"},
		{raw: "http://[::1/api", wantErr: "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := Parse("PROMETHEUS_WRITE_URL", tt.raw)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.raw, u.String())
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			assert.ErrorContains(t, err, "PROMETHEUS_WRITE_URL", "the error names the variable")
			assert.ErrorContains(t, err, strconv.Quote(tt.raw), "and its value")
		})
	}
}

func TestAMPRegion(t *testing.T) {
	const amp = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
	tests := []struct {
		name, url, region, wantErr string
	}{
		{name: "inferred from the workspace host", url: amp},
		{name: "the workspace's region", url: amp, region: "eu-west-1"},
		{name: "another region", url: amp, region: "us-east-1", wantErr: "is not the region of the workspace host"},
		{name: "other host with a region", url: "https://127.0.0.1:8443/api/v1/write", region: "eu-west-1"},
		{name: "other host without a region", url: "https://127.0.0.1:8443/api/v1/write", wantErr: "AWS_REGION must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			err = AMPRegion(u, tt.region)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	selfSigned := httptest.NewUnstartedServer(http.NotFoundHandler())
	selfSigned.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes
	selfSigned.StartTLS()
	t.Cleanup(selfSigned.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(selfSigned.Certificate())
	closedPort, err := promserver.FreePort()
	require.NoError(t, err)
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }

	tests := []struct {
		name, url string
		roots     *x509.CertPool
		proxy     func(*http.Request) (*url.URL, error)
		wantErr   string
	}{
		{name: "plain HTTP server", url: plain.URL + "/api/v1/write"},
		{name: "trusted TLS server", url: selfSigned.URL + "/api/v1/write", roots: trusted},
		{name: "self-signed certificate", url: selfSigned.URL + "/api/v1/write", wantErr: "certificate signed by unknown authority"},
		{name: "https to a plain HTTP server", url: "https://" + plain.Listener.Addr().String() + "/api/v1/write", wantErr: "TLS handshake with"},
		{name: "nothing listening", url: "http://127.0.0.1:" + strconv.Itoa(closedPort) + "/api/v1/write", wantErr: "connection refused"},
		{
			name: "through a proxy", url: "http://127.0.0.1:" + strconv.Itoa(closedPort) + "/api/v1/write",
			proxy:   func(*http.Request) (*url.URL, error) { return url.Parse("http://127.0.0.1:3128") },
			wantErr: ErrProxied.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			proxy := tt.proxy
			if proxy == nil {
				proxy = noProxy
			}
			err = Prober{RootCAs: tt.roots, Proxy: proxy}.Probe(context.Background(), u)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}

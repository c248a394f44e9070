// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeURL(t *testing.T) {
	tests := map[string]string{
		"":                "http://127.0.0.1:13133/",
		"0.0.0.0:13133":   "http://127.0.0.1:13133/",
		":13133":          "http://127.0.0.1:13133/",
		"127.0.0.1:14000": "http://127.0.0.1:14000/",
		"[::]:13133":      "http://[::1]:13133/",
		"localhost:13133": "http://localhost:13133/",
	}
	for endpoint, want := range tests {
		got, err := probeURL(endpoint)
		require.NoError(t, err, endpoint)
		assert.Equal(t, want, got, "HEALTH_CHECK_ENDPOINT=%q", endpoint)
	}
	_, err := probeURL("13133")
	assert.ErrorContains(t, err, `HEALTH_CHECK_ENDPOINT "13133" is not host:port`)
}

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/", r.URL.Path)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"Server not available"}`))
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	// The image's default: a wildcard listen address, probed on loopback.
	assert.NoError(t, probe("0.0.0.0:"+port, 10*time.Second))

	status = http.StatusServiceUnavailable
	err = probe("0.0.0.0:"+port, 10*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503 Service Unavailable")
	assert.Contains(t, err.Error(), "Server not available")

	srv.Close()
	assert.Error(t, probe("0.0.0.0:"+port, 10*time.Second), "nothing listens any more")
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package waitready

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTP(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	never := make(chan struct{})

	require.NoError(t, HTTP(context.Background(), "server", srv.URL, never, time.Millisecond, 10*time.Second))
	assert.Equal(t, int32(3), calls.Load(), "ready at the first 200")

	exited := make(chan struct{})
	close(exited)
	assert.EqualError(t, HTTP(context.Background(), "server", srv.URL+"/x", exited, time.Hour, time.Hour), "server exited while starting")

	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	assert.ErrorContains(t, HTTP(context.Background(), "server", notFound.URL, never, time.Millisecond, 20*time.Millisecond), "server was not ready at")
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultFront is Record(InjectFaults(next)) served, as the e2e front is, with a
// next handler answering 204.
func faultFront(t *testing.T) (*Server, *Recorder, *Faults, *seen) {
	t.Helper()
	next := newSeen()
	f := InjectFaults(next)
	rec := Record(f)
	return serve(t, rec), rec, f, next
}

func TestFaultStatusForRequests(t *testing.T) {
	srv, rec, f, next := faultFront(t)
	body := writeBody(t, series("cpu", 1000, 2000), series("mem", 1000))
	f.Inject(Fault{Status: http.StatusServiceUnavailable, Body: "service unavailable", Requests: 2})

	for range 2 {
		status, answer := post(t, srv.WriteURL, body)
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, "service unavailable", answer, "the body verbatim")
	}
	assert.Zero(t, next.calls())
	status, _ := post(t, srv.WriteURL, body)
	assert.Equal(t, http.StatusNoContent, status, "the fault is used up")
	assert.Equal(t, 1, next.calls())

	assert.Equal(t, map[int]Counts{503: {Requests: 2, Samples: 6}, 204: {Requests: 1, Samples: 3}}, rec.Stats())
	retried := rec.Retried()
	require.Len(t, retried, 1, "one body, three attempts")
	var statuses []int
	for i, a := range retried[0] {
		statuses = append(statuses, a.Status)
		assert.Equal(t, 3, a.Samples)
		if i > 0 {
			assert.False(t, a.At.Before(retried[0][i-1].At), "in order")
		}
	}
	assert.Equal(t, []int{503, 503, 204}, statuses)
	assert.Zero(t, rec.Duplicates(), "rejected attempts are no duplicates")

	// The same samples accepted again, in another body, are duplicates; new ones are not.
	status, _ = post(t, srv.WriteURL, writeBody(t, series("mem", 1000, 3000)))
	assert.Equal(t, http.StatusNoContent, status)
	assert.Equal(t, int64(1), rec.Duplicates())
	assert.Len(t, rec.Retried(), 1)

	// Queries are counted, but are no retries of one another.
	for range 2 {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/query?query=up", http.NoBody)
		require.NoError(t, err)
		status, _ = do(t, r)
		assert.Equal(t, http.StatusNoContent, status)
	}
	assert.Equal(t, int64(4), rec.Stats()[204].Requests)
	assert.Len(t, rec.Retried(), 1)
}

func TestFaultFor(t *testing.T) {
	srv, rec, f, _ := faultFront(t)
	body := writeBody(t, series("cpu", 1000))
	f.Inject(Fault{Status: http.StatusTooManyRequests, Body: "rate exceeded", For: 100 * time.Millisecond})
	status, answer := post(t, srv.WriteURL, body)
	require.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "rate exceeded", answer)
	require.Eventually(t, func() bool {
		status, _ := post(t, srv.WriteURL, body)
		return status == http.StatusNoContent
	}, 5*time.Second, 10*time.Millisecond)
	retried := rec.Retried()
	require.Len(t, retried, 1)
	last := retried[0][len(retried[0])-1]
	assert.GreaterOrEqual(t, last.At.Sub(retried[0][0].At), 90*time.Millisecond, "the fault lasted its time")

	f.Inject(Fault{Status: http.StatusBadGateway})
	f.Clear()
	status, _ = post(t, srv.WriteURL, body)
	assert.Equal(t, http.StatusNoContent, status, "cleared")
}

func TestFaultNoAnswer(t *testing.T) {
	for _, fault := range []Fault{{Hang: true}, {Reset: true}} {
		t.Run(map[bool]string{true: "hang", false: "reset"}[fault.Hang], func(t *testing.T) {
			srv, rec, f, next := faultFront(t)
			body := writeBody(t, series("cpu", 1000, 2000))
			fault.Requests = 1
			f.Inject(fault)

			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := doErr(writeRequest(t, srv.WriteURL, body).WithContext(ctx))
			require.Error(t, err)
			if fault.Hang {
				assert.ErrorIs(t, err, context.DeadlineExceeded, "held until the client gave up")
			} else {
				assert.NotErrorIs(t, err, context.DeadlineExceeded, "closed at once")
			}
			require.Eventually(t, func() bool { return rec.Stats()[NoAnswer] == Counts{Requests: 1, Samples: 2} }, 5*time.Second, 10*time.Millisecond)
			assert.Zero(t, next.calls())

			status, _ := post(t, srv.WriteURL, body)
			assert.Equal(t, http.StatusNoContent, status)
			assert.Equal(t, map[int]Counts{NoAnswer: {1, 2}, 204: {1, 2}}, rec.Stats())
		})
	}
}

// TestHangReleases checks that a hanging fault without a Recorder in front, which
// would have read the body, still notices the client giving up.
func TestHangReleases(t *testing.T) {
	f := InjectFaults(newSeen())
	f.Inject(Fault{Hang: true})
	done := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		f.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := doErr(writeRequest(t, srv.WriteURL, writeBody(t, series("cpu", 1))).WithContext(ctx))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still holds the request after the client gave up")
	}
}

func TestServerDownUp(t *testing.T) {
	srv, _, _, next := faultFront(t)
	body := writeBody(t, series("cpu", 1000))
	status, _ := post(t, srv.WriteURL, body)
	require.Equal(t, http.StatusNoContent, status)

	require.NoError(t, srv.Down())
	assert.ErrorIs(t, doErr(writeRequest(t, srv.WriteURL, body)), syscall.ECONNREFUSED)
	assert.Error(t, srv.Down(), "already down")

	require.NoError(t, srv.Up())
	assert.Error(t, srv.Up(), "already up")
	status, _ = post(t, srv.WriteURL, body)
	assert.Equal(t, http.StatusNoContent, status, "served again on the same URL")
	assert.Equal(t, 2, next.calls())

	require.NoError(t, srv.Down())
	assert.NotPanics(t, srv.Close)
}

// doErr sends r for its error only.
func doErr(r *http.Request) error {
	resp, err := client.Do(r)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

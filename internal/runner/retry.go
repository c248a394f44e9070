// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// retrying sends a request again when the backend answers 429 or 5xx, waiting
// as Retry-After says or backing off from 500 ms, up to maxAttempts in all: a
// managed backend throttles its query API too, and one refusal must not end a
// read-back that costs minutes. It sits above the signer, so that every attempt
// is signed anew.
type retrying struct {
	next        http.RoundTripper
	maxAttempts int
	firstWait   time.Duration
}

const (
	queryAttempts  = 5
	queryFirstWait = 500 * time.Millisecond
)

func (rt retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	wait := rt.firstWait
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 {
			if req.Body != nil && req.GetBody == nil {
				return nil, errors.New("cannot send the request again: its body cannot be read twice")
			}
			try = req.Clone(req.Context())
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		resp, err := rt.next.RoundTrip(try)
		if err != nil || attempt >= rt.maxAttempts || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500) {
			return resp, err
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = min(time.Duration(s)*time.Second, 30*time.Second)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// describe makes a query error say what the backend answered: the client's
// error carries the body of a non-API answer (a gateway's 403, a 503 page) apart
// from its message.
func describe(err error) error {
	var apiErr *promv1.Error
	if !errors.As(err, &apiErr) || apiErr.Detail == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, excerpt(apiErr.Detail, 200))
}

// excerpt is the start of a body, on one line.
func excerpt(body string, n int) string {
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > n {
		return body[:n] + "…"
	}
	return body
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package waitready waits for a child process's HTTP endpoint to answer 200 OK.
package waitready

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// HTTP polls url every interval until it answers 200 OK, the process signals its
// exit on exited, ctx ends, or timeout passes. name names the process in errors.
func HTTP(ctx context.Context, name, url string, exited <-chan struct{}, interval, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting", name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s was not ready at %s after %s", name, url, timeout)
}

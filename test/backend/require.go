// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"net/http"
	"sync/atomic"
)

// Required refuses every request, write or query, whose header does not carry
// the value asked for, as Mimir answers a request without its tenant's
// X-Scope-OrgID (401 "no org id") and a gateway one without its bearer token;
// the rest pass on.
type Required struct {
	next          http.Handler
	name, value   string
	passed, unmet atomic.Int64
}

// RequireHeader wraps next.
func RequireHeader(name, value string, next http.Handler) *Required {
	return &Required{next: next, name: name, value: value}
}

func (h *Required) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(h.name) != h.value {
		h.unmet.Add(1)
		answer(w, http.StatusUnauthorized, "no org id")
		return
	}
	h.passed.Add(1)
	h.next.ServeHTTP(w, r)
}

// Passed counts the requests that carried the header, Unmet those refused.
func (h *Required) Passed() int64 { return h.passed.Load() }
func (h *Required) Unmet() int64  { return h.unmet.Load() }

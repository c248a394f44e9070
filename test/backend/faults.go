// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is how Faults answers requests while it is in effect.
type Fault struct {
	// Status, when not 0, answers with it and Body instead of passing the request on.
	Status int
	Body   string
	// Hang holds each request without answering until the client gives up.
	Hang bool
	// Reset closes the connection of each request without an answer.
	Reset bool
	// Requests is how many requests the fault answers; 0 means no limit.
	Requests int
	// For is how long the fault lasts from Inject; 0 means no limit.
	For time.Duration
	// MinSeries, when not 0, limits the fault to writes of at least so many
	// series: the collector's, not a canary's single sample.
	MinSeries int
}

// Faults answers requests with the fault injected, and passes them on otherwise.
type Faults struct {
	next  http.Handler
	mu    sync.Mutex
	fault Fault
	left  int
	until time.Time
}

// InjectFaults wraps next; no fault is in effect until Inject.
func InjectFaults(next http.Handler) *Faults { return &Faults{next: next} }

// Inject puts fault in effect, in place of the previous one.
func (f *Faults) Inject(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault, f.left, f.until = fault, fault.Requests, time.Time{}
	if fault.For > 0 {
		f.until = time.Now().Add(fault.For)
	}
}

// Clear ends the fault in effect.
func (f *Faults) Clear() { f.Inject(Fault{}) }

// peek returns the fault in effect without using it up.
func (f *Faults) peek() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fault
}

// current returns the fault that answers a request arriving now, and uses it up.
func (f *Faults) current() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f.fault
	if !f.until.IsZero() && time.Now().After(f.until) {
		f.fault = Fault{}
		return Fault{}
	}
	if fault.Requests > 0 {
		if f.left--; f.left == 0 {
			f.fault = Fault{}
		}
	}
	return fault
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault := f.peek()
	if fault.MinSeries > 0 {
		if req, err := Decode(r); !isWrite(r) || err != nil || len(req.Series) < fault.MinSeries {
			f.next.ServeHTTP(w, r)
			return
		}
	}
	switch fault := f.current(); {
	case fault.Hang:
		// Read to the end first: only then does the server watch the connection
		// and end the context when the client gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		panic(http.ErrAbortHandler) // no answer; the server closes the connection quietly
	case fault.Reset:
		panic(http.ErrAbortHandler)
	case fault.Status != 0:
		answer(w, fault.Status, fault.Body)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// answer writes status with body as plain text, as a backend states a cause.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// FailQueries answers status and body to the query API's requests whose PromQL
// contains match, and passes every other request on: a backend whose storage
// fails under the read-back's queries but not the canary's.
func FailQueries(match string, status int, body string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			raw, err := readBody(r)
			if err == nil {
				form, _ := url.ParseQuery(string(raw))
				if strings.Contains(form.Get("query")+r.URL.Query().Get("query"), match) {
					answer(w, status, body)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Fakes runs fake collectors, for tests of the engine without processes: a
// fake logs a start line with its replica index, serves metrics on every
// port, and at SIGTERM logs the receiver's report and exits 0; Exit ends it
// with a code, as a crash.
func Fakes(metrics string) Runtime {
	return func(spec ContainerSpec) (Container, error) {
		f := &Fake{Spec: spec, metrics: metrics, exited: make(chan struct{})}
		f.Logf(map[string]any{"msg": "Everything is ready. Begin running and processing data.", "replica": spec.Env["GENERATOR_REPLICA_INDEX"]})
		return f, nil
	}
}

// Fake is a fake collector.
type Fake struct {
	Spec    ContainerSpec
	metrics string

	mu       sync.Mutex
	log      bytes.Buffer
	code     int
	exited   chan struct{}
	stopping bool
}

// Logf logs a JSON line with the fields given.
func (f *Fake) Logf(fields map[string]any) {
	fields["level"], fields["ts"] = "info", time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(fields)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.Write(append(b, '\n'))
}

// Exit ends the fake with code.
func (f *Fake) Exit(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.exited:
	default:
		f.code = code
		close(f.exited)
	}
}

func (f *Fake) Ready() bool { return true }

func (f *Fake) Proxy(w http.ResponseWriter, _ *http.Request, _ int, path string) {
	if path != "/metrics" {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprint(w, f.metrics)
}

func (f *Fake) ReadLog(offset int64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.log.Bytes()
	if offset >= int64(len(b)) {
		return nil
	}
	return bytes.Clone(b[offset:])
}

// Signal: SIGTERM logs the receiver's report and exits 0 a little later;
// SIGKILL exits at once, killed.
func (f *Fake) Signal(kill bool) {
	if kill {
		f.Exit(-1)
		return
	}
	f.mu.Lock()
	stopping := f.stopping
	f.stopping = true
	f.mu.Unlock()
	if stopping {
		return
	}
	f.Logf(map[string]any{"msg": "Stopped generating dummy metrics", "emitted_samples": 100})
	time.AfterFunc(50*time.Millisecond, func() { f.Exit(0) })
}

func (f *Fake) Exited() <-chan struct{} { return f.exited }

func (f *Fake) ExitCode() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.code
}

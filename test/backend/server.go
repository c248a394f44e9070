// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves a handler on a loopback port, and can go away (connections
// refused) and come back on the same port.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:40123; WriteURL adds the
	// remote-write path of Prometheus.
	URL, WriteURL string

	handler http.Handler
	addr    string
	mu      sync.Mutex
	srv     *http.Server
}

// Serve starts serving h on a free loopback port.
func Serve(h http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), WriteURL: "http://" + l.Addr().String() + "/api/v1/write", handler: h, addr: l.Addr().String()}
	s.serve(l)
	return s, nil
}

func (s *Server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Down closes the listener and every connection: connections are refused until Up.
func (s *Server) Down() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return errors.New("backend: already down")
	}
	return srv.Close()
}

// Up listens again on the same address after Down.
func (s *Server) Up() error {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(l)
	return nil
}

// Close stops the server for good; requests held by a handler are released.
func (s *Server) Close() {
	_ = s.Down()
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

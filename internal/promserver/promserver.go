// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package promserver starts a real Prometheus server with its remote-write receiver
// on a loopback port and a throwaway data folder, and reads back what it stored.
package promserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/waitready"
)

// Options configure a Prometheus server.
type Options struct {
	// Binary is the prometheus executable.
	Binary string
	// Addr is the listen address; empty picks a free loopback port.
	Addr string
	// DataDir holds the TSDB and the configuration file; empty makes a temporary
	// folder that Stop removes.
	DataDir string
	// OutOfOrderWindow lets the TSDB accept samples up to this old, out of order.
	OutOfOrderWindow time.Duration
	// Output receives the server's own log; nil discards it.
	Output io.Writer
}

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:9090.
	URL string
	// WriteURL is the remote-write endpoint.
	WriteURL string

	cmd       *exec.Cmd
	exited    chan struct{}
	removeDir bool
	dataDir   string
}

// Start starts Prometheus and waits until it is ready.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	removeDir := false
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "prometheus-")
		if err != nil {
			return nil, err
		}
		opts.DataDir, removeDir = dir, true
	}
	configFile := filepath.Join(opts.DataDir, "prometheus.yml")
	config := "# Written by promserver: no scrape jobs, only what remote write brings.\nglobal: {}\n"
	if opts.OutOfOrderWindow > 0 {
		config += fmt.Sprintf("storage:\n  tsdb:\n    out_of_order_time_window: %s\n", opts.OutOfOrderWindow)
	}
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return nil, err
	}

	cmd := exec.Command(opts.Binary,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(opts.DataDir, "tsdb"),
		"--web.listen-address="+opts.Addr,
		"--web.enable-remote-write-receiver",
		"--storage.tsdb.retention.time=1d",
	)
	cmd.Stdout, cmd.Stderr = opts.Output, opts.Output
	// Its own process group, so that a Ctrl-C meant for the parent reaches it only
	// through Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w", err)
	}
	s := &Server{
		URL:       "http://" + opts.Addr,
		WriteURL:  "http://" + opts.Addr + "/api/v1/write",
		cmd:       cmd,
		exited:    make(chan struct{}),
		removeDir: removeDir,
		dataDir:   opts.DataDir,
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	return waitready.HTTP(ctx, "prometheus", s.URL+"/-/ready", s.exited, 100*time.Millisecond, timeout)
}

// Stop terminates Prometheus, waits for it, and removes a temporary data folder.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.removeDir {
		return os.RemoveAll(s.dataDir)
	}
	return nil
}

// Pid is the server's process id, for reading its resource usage.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Series is one stored series: its labels and its samples in time order.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Sample is one stored sample.
type Sample struct {
	Millis int64
	Value  float64
}

type apiResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func (s *Server) query(ctx context.Context, promql string) (*apiResponse, error) {
	// Evaluated a little in the future: the newest samples may run up to a second
	// ahead of the clock.
	at := strconv.FormatFloat(float64(time.Now().Add(5*time.Second).UnixMilli())/1000, 'f', 3, 64)
	u := s.URL + "/api/v1/query?" + url.Values{"query": {promql}, "time": {at}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("query %q: %w", promql, err)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", promql, out.Error)
	}
	return &out, nil
}

// Scalar evaluates an instant query that yields at most one element and returns
// its value (0 for an empty result).
func (s *Server) Scalar(ctx context.Context, promql string) (float64, error) {
	out, err := s.query(ctx, promql)
	if err != nil {
		return 0, err
	}
	switch len(out.Data.Result) {
	case 0:
		return 0, nil
	case 1:
		return parseValue(out.Data.Result[0].Value[1])
	default:
		return 0, fmt.Errorf("query %q: %d results, want one", promql, len(out.Data.Result))
	}
}

// RawSamples returns every stored sample of the series matching selector over the
// last window, e.g. RawSamples(ctx, `{__name__=~".+"}`, time.Hour).
func (s *Server) RawSamples(ctx context.Context, selector string, window time.Duration) ([]Series, error) {
	out, err := s.query(ctx, fmt.Sprintf("%s[%ds]", selector, int(window.Seconds())))
	if err != nil {
		return nil, err
	}
	series := make([]Series, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		ser := Series{Labels: r.Metric, Samples: make([]Sample, 0, len(r.Values))}
		for _, v := range r.Values {
			ts, ok := v[0].(float64)
			if !ok {
				return nil, fmt.Errorf("bad timestamp %v", v[0])
			}
			val, err := parseValue(v[1])
			if err != nil {
				return nil, err
			}
			ser.Samples = append(ser.Samples, Sample{Millis: int64(ts*1000 + 0.5), Value: val})
		}
		series = append(series, ser)
	}
	return series, nil
}

func parseValue(v any) (float64, error) {
	str, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("bad sample value %v", v)
	}
	return strconv.ParseFloat(str, 64)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

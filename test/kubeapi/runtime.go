// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// ContainerSpec is a pod's container as the kubelet starts it.
type ContainerSpec struct {
	Pod   string
	Index int
	Image string
	// Args are the container's command line, variables expanded.
	Args []string
	// Env are its variables, resolved.
	Env map[string]string
	// Files are the mounted files by their path in the container.
	Files          map[string]string
	ReadinessProbe *corev1.Probe
}

// A Container runs a pod's container.
type Container interface {
	// Ready tells whether its readiness probe passes.
	Ready() bool
	// Proxy serves a request for a port of the pod (the pod proxy).
	Proxy(w http.ResponseWriter, r *http.Request, port int, path string)
	// ReadLog is its log from offset on.
	ReadLog(offset int64) []byte
	// Signal sends SIGTERM, or SIGKILL when kill.
	Signal(kill bool)
	Exited() <-chan struct{}
	ExitCode() int
}

// A Runtime starts containers.
type Runtime func(ContainerSpec) (Container, error)

// Collectors runs each container as a process of the built distribution
// (runner.StartCollector) with the container's arguments (--config only) and
// variables, its mounted files under dir. The pod IP is 127.0.0.1, so the
// container's ports (the telemetry port, the readiness probe's) are moved to
// free ones, which the proxy and the probe follow.
func Collectors(dir string) Runtime {
	return func(spec ContainerSpec) (Container, error) {
		root, err := os.MkdirTemp(dir, spec.Pod+"-")
		if err != nil {
			return nil, err
		}
		for p, text := range spec.Files {
			local := filepath.Join(root, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(local, []byte(text), 0o644); err != nil {
				return nil, err
			}
		}
		configs, err := configArgs(spec.Args, func(p string) (string, bool) {
			_, ok := spec.Files[p]
			return filepath.Join(root, filepath.FromSlash(p)), ok
		})
		if err != nil {
			return nil, err
		}
		c := &process{ports: map[int]string{}}
		env := maps.Clone(spec.Env)
		move := func(port string) (string, error) {
			n, err := strconv.Atoi(port)
			if err != nil {
				return "", fmt.Errorf("port %q: %w", port, err)
			}
			if addr, ok := c.ports[n]; ok {
				return addr, nil
			}
			addr, err := runner.FreeAddr()
			c.ports[n] = addr
			return addr, err
		}
		if p, ok := env["TELEMETRY_PORT"]; ok {
			addr, err := move(p)
			if err != nil {
				return nil, err
			}
			_, env["TELEMETRY_PORT"], _ = net.SplitHostPort(addr)
		}
		if h, ok := env["HEALTH_CHECK_ENDPOINT"]; ok {
			_, port, err := net.SplitHostPort(h)
			if err != nil {
				return nil, fmt.Errorf("HEALTH_CHECK_ENDPOINT=%q: %w", h, err)
			}
			if env["HEALTH_CHECK_ENDPOINT"], err = move(port); err != nil {
				return nil, err
			}
		}
		if g := spec.ReadinessProbe; g != nil && g.HTTPGet != nil {
			addr, err := move(g.HTTPGet.Port.String())
			if err != nil {
				return nil, err
			}
			c.readyURL = "http://" + addr + g.HTTPGet.Path
		}
		c.col, err = runner.StartCollector(context.Background(), runner.CollectorOptions{
			Configs: configs, Env: env, LogPath: filepath.Join(root, "container.log"), NoWait: true})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// configArgs reads --config arguments, the only ones the collector's
// container has, as files of this machine.
func configArgs(args []string, local func(string) (string, bool)) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		file, ok := strings.CutPrefix(args[i], "--config=")
		if !ok && args[i] == "--config" && i+1 < len(args) {
			file, ok = args[i+1], true
			i++
		}
		if !ok {
			return nil, fmt.Errorf("argument %q: the stand-in runs --config arguments only", args[i])
		}
		if !strings.HasPrefix(file, "yaml:") {
			path, mounted := local(file)
			if !mounted {
				return nil, fmt.Errorf("--config %s: no such file in the container", file)
			}
			file = path
		}
		out = append(out, file)
	}
	return out, nil
}

// process is a container run as a collector process.
type process struct {
	col      *runner.Collector
	ports    map[int]string
	readyURL string
}

var readyClient = &http.Client{Timeout: time.Second}

func (c *process) Ready() bool {
	if c.readyURL == "" {
		return true
	}
	resp, err := readyClient.Get(c.readyURL)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

func (c *process) Proxy(w http.ResponseWriter, r *http.Request, port int, path string) {
	addr, ok := c.ports[port]
	if !ok {
		http.Error(w, fmt.Sprintf("error trying to reach service: dial tcp %s:%d: connect: connection refused", podIP, port), http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://"+addr+path+query(r), http.NoBody)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header.Set("Accept", r.Header.Get("Accept"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "error trying to reach service: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func query(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func (c *process) ReadLog(offset int64) []byte {
	f, err := os.Open(c.col.LogPath())
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

func (c *process) Signal(kill bool) {
	if kill {
		go c.col.Kill()
		return
	}
	_ = c.col.Terminate()
}

func (c *process) Exited() <-chan struct{} { return c.col.Exited() }

func (c *process) ExitCode() int { return c.col.ExitCode() }

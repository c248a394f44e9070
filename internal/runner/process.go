// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is a child process with its output in a log file, in a process group of
// its own so that a Ctrl-C meant for the runner reaches it only through Stop.
type process struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

func startProcess(name, logPath string, echo io.Writer, env []string, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	bin, args, env, err = watched(bin, args, env)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out io.Writer = logFile
	if echo != nil {
		out = io.MultiWriter(logFile, echo)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// Name names the process in lines and errors.
func (p *process) Name() string { return p.name }

// Kill stops the process at once, its whole group (a watchdog and its child),
// and waits for it.
func (p *process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// Restarts is 0: a process that crashed is not started again.
func (p *process) Restarts() int { return 0 }

// Pid is the process id.
func (p *process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *process) Exited() <-chan struct{} { return p.exited }

// ExitCode is the exit code of an exited process (-1 when killed by a signal).
func (p *process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// LogPath is the file the process writes its output to.
func (p *process) LogPath() string { return p.logPath }

// Log returns everything the process wrote so far.
func (p *process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// Stop sends SIGTERM and waits up to timeout for the process to exit, then kills it.
// It returns the exit code, and an error if it had to kill.
func (p *process) Stop(timeout time.Duration) (int, error) {
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(timeout)
}

// Terminate sends SIGTERM without waiting; a process that exited already is no error.
func (p *process) Terminate() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s: %w", p.name, err)
	}
	return nil
}

// Wait waits up to timeout for the process to exit by itself, then kills it.
func (p *process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.exited:
		return p.ExitCode(), nil
	case <-time.After(timeout):
		p.Kill()
		return -1, fmt.Errorf("%s did not exit within %s and was killed", p.name, timeout)
	}
}

// waitReady polls url until it answers 200 OK, the process exits, ctx ends or
// timeout passes.
func (p *process) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited while starting:\n%s", p.name, lastLines(p.Log(), 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s was not ready at %s after %s", p.name, url, timeout)
}

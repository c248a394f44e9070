// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Where the kernel cannot stop a child when its parent dies (Linux's
// parent-death signal; macOS and the BSDs have none), the runner starts each
// child through a watchdog: its own executable again, which runs the child,
// passes SIGTERM and SIGINT on, and stops the child once the runner that started
// it is gone (its parent changes). Every command calls RunWatchdog first.
const (
	watchdogParent = "RUNNER_WATCHDOG_PARENT" // the runner's pid: the watchdog's role
	// WatchdogAlways starts children through the watchdog on Linux too, to test it there.
	WatchdogAlways = "RUNNER_WATCHDOG_ALWAYS"
)

// RunWatchdog makes the process a watchdog, and never returns, when the runner
// started it as one; otherwise it returns at once.
func RunWatchdog() {
	parent := os.Getenv(watchdogParent)
	if parent == "" {
		return
	}
	os.Exit(watchdog(parent, os.Args[1:]))
}

func watchdog(parent string, args []string) int {
	ppid, err := strconv.Atoi(parent)
	if err != nil || len(args) == 0 {
		fmt.Fprintf(os.Stderr, "watchdog: %s=%q and %d arguments: nothing to watch\n", watchdogParent, parent, len(args))
		return 2
	}
	child := exec.Command(args[0], args[1:]...)
	child.Env = withoutWatchdog(os.Environ())
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := child.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	orphaned := time.NewTicker(500 * time.Millisecond)
	defer orphaned.Stop()
	for {
		select {
		case err := <-exited:
			if exit, ok := errors.AsType[*exec.ExitError](err); ok {
				return exit.ExitCode()
			}
			return 0
		case sig := <-signals:
			_ = child.Process.Signal(sig)
		case <-orphaned.C:
			if os.Getppid() != ppid { // the runner is gone: stop as it would have
				_ = child.Process.Signal(syscall.SIGTERM)
				orphaned.Stop()
			}
		}
	}
}

// watched wraps a child's command line in the watchdog when the platform
// needs it (or WatchdogAlways asks).
func watched(bin string, args []string, env []string) (string, []string, []string, error) {
	if !needsWatchdog() && os.Getenv(WatchdogAlways) == "" {
		return bin, args, env, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, nil, fmt.Errorf("the watchdog, this executable: %w", err)
	}
	env = append(withoutWatchdog(env), watchdogParent+"="+strconv.Itoa(os.Getpid()))
	return self, append([]string{bin}, args...), env, nil
}

func withoutWatchdog(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) < len(watchdogParent) || kv[:len(watchdogParent)] != watchdogParent {
			out = append(out, kv)
		}
	}
	return out
}

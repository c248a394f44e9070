// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"os"
	"syscall"
)

// childAttr puts a child in a process group of its own, and has the kernel stop
// it (SIGTERM: the collector still reports what it could not send) when the
// runner dies without stopping it, by SIGKILL or a crash, so that no Prometheus
// or collector outlives the run; with the watchdog forced, the watchdog does.
func childAttr() *syscall.SysProcAttr {
	if os.Getenv(WatchdogAlways) != "" {
		return &syscall.SysProcAttr{Setpgid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// needsWatchdog: the kernel's parent-death signal does the watchdog's work.
func needsWatchdog() bool { return false }

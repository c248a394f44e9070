// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package runner

import "syscall"

// childAttr puts a child in a process group of its own; the watchdog stops it
// when the runner dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// needsWatchdog: no parent-death signal here.
func needsWatchdog() bool { return true }

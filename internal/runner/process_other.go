// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package runner

import "syscall"

// childAttr puts a child in a process group of its own; only Linux can also
// stop it when the runner dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

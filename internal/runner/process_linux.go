// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import "syscall"

// childAttr puts a child in a process group of its own, and has the kernel stop
// it (SIGTERM: the collector still reports what it could not send) when the
// runner dies without stopping it, by SIGKILL or a crash, so that no Prometheus
// or collector outlives the run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

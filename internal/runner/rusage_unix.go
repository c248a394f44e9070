// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package runner

import (
	"syscall"
	"time"
)

// selfCPU is the runner's own CPU time, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

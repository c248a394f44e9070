// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package runner

import (
	"errors"
	"time"
)

// ProcessUsage needs /proc, which only Linux has.
func ProcessUsage(int) (Usage, error) {
	return Usage{}, errors.New("a process's usage from /proc: Linux only")
}

// procMachineBusy: the machine's CPU is not measured here.
func procMachineBusy() (time.Duration, bool) { return 0, false }

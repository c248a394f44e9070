// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"time"

	"github.com/prometheus/procfs"
)

// ProcessUsage reads a process's CPU time and memory from /proc: for the tests,
// which run on Linux; the runner reads the collector's own telemetry.
func ProcessUsage(pid int) (Usage, error) {
	proc, err := procfs.NewProc(pid)
	if err != nil {
		return Usage{}, err
	}
	stat, err := proc.Stat()
	if err != nil {
		return Usage{}, err
	}
	status, err := proc.NewStatus()
	if err != nil {
		return Usage{}, err
	}
	return Usage{
		CPU:     time.Duration(stat.CPUTime() * float64(time.Second)),
		RSS:     int64(stat.ResidentMemory()),
		PeakRSS: int64(status.VmHWM),
	}, nil
}

// procMachineBusy sums the machine's busy CPU time from /proc/stat.
func procMachineBusy() (time.Duration, bool) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, false
	}
	s, err := fs.Stat()
	if err != nil {
		return 0, false
	}
	t := s.CPUTotal
	return time.Duration((t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal) * float64(time.Second)), true
}

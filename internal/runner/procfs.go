// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"time"

	"github.com/prometheus/procfs"
)

// Usage is what a process used so far: CPU time, and resident memory now and at its peak.
type Usage struct {
	CPU          time.Duration
	RSS, PeakRSS int64 // bytes
	// MachineBusy is the CPU time every process of the machine used, to tell contention.
	MachineBusy time.Duration
}

// ProcessUsage reads a process's CPU time and memory from /proc, and the CPU time
// that every process of the machine used (to tell contention).
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
	u := Usage{
		CPU:     time.Duration(stat.CPUTime() * float64(time.Second)),
		RSS:     int64(stat.ResidentMemory()),
		PeakRSS: int64(status.VmHWM),
	}
	if fs, err := procfs.NewDefaultFS(); err == nil {
		if s, err := fs.Stat(); err == nil {
			t := s.CPUTotal
			busy := t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal
			u.MachineBusy = time.Duration(busy * float64(time.Second))
		}
	}
	return u, nil
}

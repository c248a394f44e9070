// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package procstat reads what Linux's /proc says about a process (its CPU time and
// resident memory) and about the whole machine (the CPU time of every process), for
// the bench command's resource figures.
package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every Linux
// architecture Go supports (the kernel keeps it fixed for user space).
const ClockTicks = 100

// Root is where procfs is mounted; tests point it elsewhere.
var Root = "/proc"

// CPU returns the user and system CPU time that the process has used.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(Root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(string(b))
}

// ParseStatCPU extracts utime + stime (fields 14 and 15) from the content of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
// spaces and parentheses, so the fields are counted from the last ')'.
func ParseStatCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("/proc stat: no ')' after the command name")
	}
	// After ") " come field 3 (state) onwards; utime is field 14, i.e. the 12th here.
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(fields))
	}
	utime, err := strconv.ParseUint(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat: utime: %w", err)
	}
	stime, err := strconv.ParseUint(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat: stime: %w", err)
	}
	return ticks(utime + stime), nil
}

func ticks(n uint64) time.Duration {
	return time.Duration(n) * time.Second / ClockTicks
}

// Memory is the resident memory of a process, in bytes.
type Memory struct {
	RSS  int64 // VmRSS: resident now
	Peak int64 // VmHWM: the most it was ever resident
}

// Mem returns the process's resident memory.
func Mem(pid int) (Memory, error) {
	f, err := os.Open(filepath.Join(Root, strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	return ParseStatus(f)
}

// ParseStatus extracts VmRSS and VmHWM from the content of /proc/<pid>/status.
func ParseStatus(r io.Reader) (Memory, error) {
	var m Memory
	var haveRSS, havePeak bool
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			continue
		}
		var target *int64
		switch key {
		case "VmRSS":
			target, haveRSS = &m.RSS, true
		case "VmHWM":
			target, havePeak = &m.Peak, true
		default:
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("/proc status: %s: unexpected value %q", key, strings.TrimSpace(value))
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc status: %s: %w", key, err)
		}
		*target = kb * 1024
	}
	if err := scanner.Err(); err != nil {
		return Memory{}, err
	}
	if !haveRSS || !havePeak {
		return Memory{}, errors.New("/proc status: VmRSS or VmHWM missing (is the process a zombie?)")
	}
	return m, nil
}

// MachineCPU is the CPU time of the whole machine, summed over its cores.
type MachineCPU struct {
	Busy, Total time.Duration
}

// Machine reads the first line of /proc/stat.
func Machine() (MachineCPU, error) {
	b, err := os.ReadFile(filepath.Join(Root, "stat"))
	if err != nil {
		return MachineCPU{}, err
	}
	return ParseMachineStat(string(b))
}

// ParseMachineStat parses the aggregate "cpu" line of /proc/stat: busy is all but
// idle and iowait. Guest time is already included in user and nice, and is not
// added twice.
func ParseMachineStat(stat string) (MachineCPU, error) {
	line, _, _ := strings.Cut(stat, "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("/proc/stat: first line %q is not the aggregate cpu line", line)
	}
	var total, idle uint64
	for i, f := range fields[1:] {
		if i >= 8 { // guest and guest_nice are part of user and nice
			break
		}
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("/proc/stat: field %d: %w", i+1, err)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return MachineCPU{Busy: ticks(total - idle), Total: ticks(total)}, nil
}

// LoadAverage returns the one-minute load average.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile(filepath.Join(Root, "loadavg"))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, errors.New("/proc/loadavg is empty")
	}
	return strconv.ParseFloat(fields[0], 64)
}

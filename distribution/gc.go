// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package distribution // import "github.com/ampload/otelcol-dummymetrics/distribution"

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// setGCDefaults raises the garbage collector's target unless GOGC is set, and
// bounds the heap by a soft limit of half the memory the process may use (its
// cgroup's limit, else the machine's) unless GOMEMLIMIT is set, so that the
// higher target never brings the heap near the memory limiter or the OOM killer.
func setGCDefaults() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if total := availableMemory(); total > 0 {
			debug.SetMemoryLimit(total / 100 * memoryLimitPercent)
		}
	}
}

// availableMemory is the cgroup's memory limit (v2, then v1), else the machine's
// memory, in bytes; 0 when neither can be read.
func availableMemory() int64 {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			// "max", or an unset v1 limit near 2^63, mean none.
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<60 {
				return n
			}
		}
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

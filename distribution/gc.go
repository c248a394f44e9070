// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package distribution // import "github.com/ampload/otelcol-dummymetrics/distribution"

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
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
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0
	}
	mem, err := fs.Meminfo()
	if err != nil || mem.MemTotalBytes == nil {
		return 0
	}
	return int64(*mem.MemTotalBytes)
}

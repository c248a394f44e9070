// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package distribution

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGCDefaults(t *testing.T) {
	restore := func(k string) {
		if v, ok := os.LookupEnv(k); ok {
			t.Cleanup(func() { _ = os.Setenv(k, v) })
		} else {
			t.Cleanup(func() { _ = os.Unsetenv(k) })
		}
	}
	restore("GOGC")
	restore("GOMEMLIMIT")
	t.Cleanup(func() { debug.SetGCPercent(100); debug.SetMemoryLimit(math.MaxInt64) })

	_ = os.Unsetenv("GOGC")
	_ = os.Unsetenv("GOMEMLIMIT")
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	setGCDefaults()
	assert.Equal(t, defaultGCPercent, debug.SetGCPercent(100), "the target when GOGC is not set")
	total := availableMemory()
	assert.Positive(t, total, "the memory there is, from the cgroup or /proc/meminfo")
	assert.Equal(t, total/100*memoryLimitPercent, debug.SetMemoryLimit(-1), "the soft limit when GOMEMLIMIT is not set")

	// Set by the user: left alone.
	_ = os.Setenv("GOGC", "100")
	_ = os.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	setGCDefaults()
	assert.Equal(t, 100, debug.SetGCPercent(100))
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1))
}

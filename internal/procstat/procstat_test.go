// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package procstat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 50 ticks in the first line.
	const rest = " S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 100 1000 200"
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr string
	}{
		{"plain name", "1234 (otelcol)" + rest, 3 * time.Second, ""},
		{"name with spaces and parentheses", "1234 (a (b) c)" + rest, 3 * time.Second, ""},
		{"no parenthesis", "1234 otelcol S 1 2", 0, "no ')'"},
		{"truncated", "1234 (otelcol) S 1 2 3", 0, "fields after the command name"},
		{"not a number", "1234 (x) S 1 2 3 4 5 6 7 8 9 10 x 50", 0, "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU(tt.stat)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Memory
		wantErr string
	}{
		{"both", "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t3\n", Memory{RSS: 1 << 20, Peak: 2 << 20}, ""},
		{"zombie", "Name:\tx\nState:\tZ (zombie)\n", Memory{}, "missing"},
		{"odd unit", "VmHWM:\t2 MB\nVmRSS:\t1 kB\n", Memory{}, "unexpected value"},
		{"bad number", "VmHWM:\tx kB\nVmRSS:\t1 kB\n", Memory{}, "VmHWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(strings.NewReader(tt.status))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseMachineStat(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    MachineCPU
		wantErr string
	}{
		{
			// user nice system idle iowait irq softirq steal guest guest_nice
			"ten fields", "cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 1 2 3 4 5\n",
			MachineCPU{Busy: 1500 * time.Millisecond, Total: 10 * time.Second}, "",
		},
		{"old kernel, four fields", "cpu 10 0 10 80\n", MachineCPU{Busy: 200 * time.Millisecond, Total: time.Second}, ""},
		{"not the cpu line", "intr 1 2 3 4 5\n", MachineCPU{}, "aggregate cpu line"},
		{"bad number", "cpu 1 x 3 4 5\n", MachineCPU{}, "field 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMachineStat(tt.stat)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestReadsFromRoot checks the file readers against a fake procfs.
func TestReadsFromRoot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "42"), 0o755))
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write("42/stat", "42 (c) S 1 2 3 4 5 6 7 8 9 10 100 100 0 0")
	write("42/status", "VmHWM:\t4 kB\nVmRSS:\t2 kB\n")
	write("stat", "cpu 1 1 1 1 0\n")
	write("loadavg", "1.50 0.70 0.30 2/300 1234\n")
	old := Root
	Root = dir
	t.Cleanup(func() { Root = old })

	cpu, err := CPU(42)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, cpu)
	mem, err := Mem(42)
	require.NoError(t, err)
	assert.Equal(t, Memory{RSS: 2048, Peak: 4096}, mem)
	m, err := Machine()
	require.NoError(t, err)
	assert.Equal(t, MachineCPU{Busy: 30 * time.Millisecond, Total: 40 * time.Millisecond}, m)
	load, err := LoadAverage()
	require.NoError(t, err)
	assert.InDelta(t, 1.5, load, 1e-9)
	_, err = CPU(43)
	require.Error(t, err)
}

// TestSelf reads this very process, which must have a resident set.
func TestSelf(t *testing.T) {
	mem, err := Mem(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, mem.RSS)
	assert.GreaterOrEqual(t, mem.Peak, mem.RSS)
	_, err = CPU(os.Getpid())
	require.NoError(t, err)
}

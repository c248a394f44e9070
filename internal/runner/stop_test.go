// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeMember stops when told to, or only when killed (stubborn), and answers its
// telemetry until then.
type fakeMember struct {
	name      string
	stubborn  bool
	telemetry Metrics
	log       string
	once      sync.Once
	exited    chan struct{}
	code      int
}

func newFakeMember(t *testing.T, name string, stubborn bool, sent float64, log string) *fakeMember {
	return &fakeMember{name: name, stubborn: stubborn, log: log, exited: make(chan struct{}),
		telemetry: parseMetrics(t, "# TYPE otelcol_exporter_sent_metric_points counter\notelcol_exporter_sent_metric_points "+strconv.FormatFloat(sent, 'f', -1, 64)+"\n")}
}

func (m *fakeMember) Name() string { return m.name }
func (m *fakeMember) Telemetry(context.Context) (Metrics, error) {
	select {
	case <-m.exited:
		return nil, errors.New("connection refused")
	default:
		return m.telemetry, nil
	}
}
func (m *fakeMember) Logged() Log   { return ParseLog(m.log) }
func (m *fakeMember) Log() string   { return m.log }
func (m *fakeMember) stop(code int) { m.once.Do(func() { m.code = code; close(m.exited) }) }
func (m *fakeMember) Terminate() error {
	if !m.stubborn {
		m.stop(0)
	}
	return nil
}
func (m *fakeMember) Exited() <-chan struct{} { return m.exited }
func (m *fakeMember) ExitCode() int           { return m.code }
func (m *fakeMember) Kill()                   { m.stop(-1) }
func (*fakeMember) Restarts() int             { return 0 }

// One collector of two drains at once; the other is killed at the bound. What
// the killed one still held comes from its own newest counts, although a
// snapshot of both fails as soon as the first has exited.
func TestStopCountingKeepsEachMembersNewestCounts(t *testing.T) {
	const report = `{"level":"info","ts":"2026-12-04T12:00:09.000Z","msg":"Stopped generating dummy metrics","emitted_samples":10000,"accepted_samples":10000,"refused_samples":0,"series_written":40,"stage_at_stop":1}`
	drained := newFakeMember(t, "collector 1", false, 10000, report)
	stubborn := newFakeMember(t, "collector 2", true, 9000, report)
	r := &Run{Members: []Member{drained, stubborn}, peakRSS: make([]int64, 2)}

	final, _, err := r.StopCounting(t.Context(), 1200*time.Millisecond, nil)
	require.NoError(t, err)
	assert.True(t, final.Killed)
	assert.InDelta(t, 1000, final.Remaining, 0, "the killed collector had sent 9,000 of its 10,000")
	assert.InDelta(t, 19000, final.Acknowledged, 0)
}

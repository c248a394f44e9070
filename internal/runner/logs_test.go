// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const collectorLog = `{"level":"info","ts":"2025-01-02T03:04:05.000Z","msg":"Generating dummy CPU and Memory metrics","instances":30,"first_instance":"I0000000000","last_instance":"I0000000029","schedule_start":"2025-01-02T03:04:06.250Z"}
{"level":"error","ts":"2025-01-02T03:04:07.123Z","msg":"failed to send WriteRequest to remote endpoint","status_code":429,"error":"ingestion rate limit (140000) exceeded","retry_attempt":2}

{"level":"error","ts":"2025-01-02T03:04:08.000Z","msg":"Exporting failed. Rejecting data.","error":"sending queue is full","rejected_items":500}
{"level":"error","ts":"2025-01-02T03:04:09.000Z","msg":"Exporting failed. Dropping data.","error":"no more retries left","dropped_items":1000}
panic: runtime error: index out of range
{"level":"warn","ts":"2025-01-02T03:04:10.000Z","msg":"Memory usage is above soft limit"}
{"level":"info","ts":"2025-01-02T03:04:11.000Z","msg":"Stopped generating dummy metrics","emitted_samples":100,"accepted_samples":90,"refused_samples":10,"series_written":60}
`

func TestParseLog(t *testing.T) {
	l := ParseLog(collectorLog)
	require.Len(t, l, 7, "the blank line is skipped")

	start := l[0]
	assert.Equal(t, "info", start.Level)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), start.Time.UTC())
	assert.Equal(t, []string{"I0000000000", "I0000000029", "2025-01-02T03:04:06.25Z"}, []string{start.FirstInstance, start.LastInstance, start.ScheduleStart})

	reports := l.ReceiverReports()
	require.Len(t, reports, 1)
	assert.Equal(t, []int64{100, 90, 10, 60}, []int64{reports[0].Emitted, reports[0].Accepted, reports[0].Refused, reports[0].SeriesWritten})

	failed := l.FailedRequests()
	require.Len(t, failed, 1)
	assert.Equal(t, 429, failed[0].StatusCode)
	assert.Equal(t, 2, failed[0].Attempt)
	assert.Equal(t, "ingestion rate limit (140000) exceeded", failed[0].Error)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 7, 123e6, time.UTC), failed[0].Time.UTC())

	samples, batches := l.Unsent()
	assert.Equal(t, int64(1500), samples)
	assert.Equal(t, 2, batches)

	var problems []string
	for _, e := range l.Problems() {
		problems = append(problems, e.Level+" "+e.Message)
	}
	assert.Equal(t, []string{
		"error failed to send WriteRequest to remote endpoint", "error Exporting failed. Rejecting data.", "error Exporting failed. Dropping data.",
		"unknown panic: runtime error: index out of range", "warn Memory usage is above soft limit",
	}, problems)
	assert.Equal(t, "panic: runtime error: index out of range", l[4].Raw)
	assert.JSONEq(t, `{"level":"warn","ts":"2025-01-02T03:04:10.000Z","msg":"Memory usage is above soft limit"}`, l[5].Raw)
}

// The collector's logger writes times as zapcore.ISO8601TimeEncoder does: in the
// local zone, with an offset without a colon, which is not RFC 3339.
func TestParseLogLocalTime(t *testing.T) {
	l := ParseLog(`{"level":"info","ts":"2025-01-02T05:04:05.120+0200","msg":"Generating dummy CPU and Memory metrics","first_instance":"I0000000010","last_instance":"I0000000019","schedule_start":"2025-01-02T05:04:06.000+0200"}
{"level":"error","ts":"2025-01-02T05:04:07.000+0200","msg":"failed to send WriteRequest to remote endpoint","status_code":400,"error":"out of order sample"}`)
	require.Len(t, l, 2)
	assert.Equal(t, "info", l[0].Level)
	assert.Equal(t, "I0000000010", l[0].FirstInstance)
	assert.True(t, l[0].Time.Equal(time.Date(2025, 1, 2, 3, 4, 5, 120e6, time.UTC)), l[0].Time)
	start, err := time.Parse(time.RFC3339Nano, l[0].ScheduleStart)
	require.NoError(t, err, "Run.ScheduleStart parses it as RFC 3339")
	assert.True(t, start.Equal(time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)), start)
	assert.Len(t, l.Problems(), 1, "only the error line")
	assert.Equal(t, map[string]float64{"400 out-of-order samples": 1}, l.Causes(time.Date(2025, 1, 2, 3, 4, 7, 0, time.UTC), time.Date(2025, 1, 2, 3, 4, 8, 0, time.UTC)))
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"bufio"
	"encoding/json"
	"strings"
	"time"
)

// LogEntry is one line of the collector's JSON log, with the fields the runner reads.
type LogEntry struct {
	Level   string    `json:"level"`
	Time    time.Time `json:"ts"`
	Message string    `json:"msg"`
	Error   string    `json:"error"`

	// The receiver's start line: its instances, and when its schedule begins,
	// if it has one; in the scrape shape, the series of an instance and its
	// metrics ("name:kind").
	FirstInstance     string   `json:"first_instance"`
	LastInstance      string   `json:"last_instance"`
	ScheduleStart     string   `json:"schedule_start"`
	Shape             string   `json:"shape"`
	SeriesPerInstance int      `json:"series_per_instance"`
	Metrics           []string `json:"metrics"`

	// The receiver's report when it stops.
	Emitted  int64 `json:"emitted_samples"`
	Accepted int64 `json:"accepted_samples"`
	Refused  int64 `json:"refused_samples"`
	// SeriesWritten are the distinct series that got a sample accepted.
	SeriesWritten int64 `json:"series_written"`
	// StaleMarkers are the staleness markers accepted, apart from the samples.
	StaleMarkers int64 `json:"stale_markers"`
	// StageAtStop is the stage in force when the receiver stopped (-1 before the
	// start, the number of stages after the last); AcceptedByBlock splits the
	// accepted samples by blocks of instances.
	StageAtStop     int                `json:"stage_at_stop"`
	AcceptedByBlock map[string]float64 `json:"accepted_by_block"`

	// The exporter's report of a request answered with an error.
	StatusCode int `json:"status_code"`
	Attempt    int `json:"retry_attempt"`

	// The exporter's report of a batch it gave up: dropped after its queue, or
	// rejected at its entry (the queue was full, or without a queue, the export failed).
	DroppedItems  int64 `json:"dropped_items"`
	RejectedItems int64 `json:"rejected_items"`

	// Raw is the line as logged; Member the index of the collector that logged it.
	Raw    string `json:"-"`
	Member int    `json:"-"`
}

// zapTime is how the collector's logger writes times (zapcore.ISO8601TimeEncoder):
// outside UTC its offset has no colon ("+0200"), which RFC 3339 requires.
const zapTime = "2006-01-02T15:04:05.000Z0700"

// UnmarshalJSON decodes a log line, reading its times in the logger's layout as
// well as RFC 3339; ScheduleStart is rewritten in RFC 3339.
func (e *LogEntry) UnmarshalJSON(b []byte) error {
	type entry LogEntry
	aux := struct {
		*entry
		Time string `json:"ts"`
	}{entry: (*entry)(e)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	if aux.Time != "" {
		if e.Time, err = parseLogTime(aux.Time); err != nil {
			return err
		}
	}
	if e.ScheduleStart != "" {
		if t, err := parseLogTime(e.ScheduleStart); err == nil {
			e.ScheduleStart = t.Format(time.RFC3339Nano)
		}
	}
	return nil
}

func parseLogTime(s string) (time.Time, error) {
	if t, err := time.Parse(zapTime, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// Log is the collector's log, decoded; lines that are not JSON (a panic, say) are
// kept as entries with only Raw set and level "unknown".
type Log []LogEntry

// ParseLog decodes a JSON-lines log.
func ParseLog(text string) Log {
	var out Log
	scanner := bufio.NewScanner(strings.NewReader(text))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e LogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			e = LogEntry{Level: "unknown", Message: line}
		}
		e.Raw = line
		out = append(out, e)
	}
	return out
}

// Log messages the runner looks for.
const (
	msgReceiverStopped = "Stopped generating dummy metrics"
	msgFailedRequest   = "failed to send WriteRequest to remote endpoint"
	msgDropped         = "Exporting failed. Dropping data."
	msgRejected        = "Exporting failed. Rejecting data."
)

// ReceiverReports are the dummymetrics receivers' reports at shutdown.
func (l Log) ReceiverReports() []LogEntry { return l.with(msgReceiverStopped) }

// FailedRequests are the exporter's reports of requests answered with an error
// status, one per attempt, with the backend's answer in Error.
func (l Log) FailedRequests() []LogEntry { return l.with(msgFailedRequest) }

// GivenUp are the exporter's reports of the batches it gave up: one line per
// batch, failed or dropped, with its count.
func (l Log) GivenUp() []LogEntry {
	var out []LogEntry
	for _, e := range l {
		if strings.HasPrefix(e.Message, msgDropped) || strings.HasPrefix(e.Message, msgRejected) {
			out = append(out, e)
		}
	}
	return out
}

// Unsent adds up the samples of the batches the exporter reported it gave up, and
// counts those reports: one line per batch.
func (l Log) Unsent() (samples int64, batches int) {
	for _, e := range l.GivenUp() {
		samples += e.Items()
		batches++
	}
	return samples, batches
}

// Items is the count of a given-up batch.
func (e LogEntry) Items() int64 { return e.DroppedItems + e.RejectedItems }

// QueueFull tells a batch refused at the exporter's full queue.
func (e LogEntry) QueueFull() bool { return strings.Contains(e.Error, "queue is full") }

// Answered tells a batch given up because the backend answered its requests
// with an error status (the exporter's "remote write request failed", retried
// or not) from one whose requests got no answer: a timeout, a refused or reset
// connection.
func (e LogEntry) Answered() bool { return strings.Contains(e.Error, "remote write request failed") }

// Problems are the lines at level warn or above, and lines that are not JSON.
func (l Log) Problems() []LogEntry {
	var out []LogEntry
	for _, e := range l {
		switch e.Level {
		case "warn", "error", "dpanic", "panic", "fatal", "unknown":
			out = append(out, e)
		}
	}
	return out
}

func (l Log) with(prefix string) []LogEntry {
	var out []LogEntry
	for _, e := range l {
		if strings.HasPrefix(e.Message, prefix) {
			out = append(out, e)
		}
	}
	return out
}

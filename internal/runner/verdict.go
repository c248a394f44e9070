// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SLO is what a stage must meet to pass.
type SLO struct {
	// AckRatio: the backend acknowledges at least this share of the target rate.
	AckRatio float64
	// P99: the 99th percentile of the write latency stays at or below it.
	P99 time.Duration
	// ErrorRatio: at most this share of the write requests are answered with an
	// error or not at all.
	ErrorRatio float64
	// Lost: at most this many samples are lost (failed, dropped, refused).
	Lost float64
}

// DefaultSLO is what a healthy backend meets; docs/loadtest.md explains each.
var DefaultSLO = SLO{AckRatio: 0.95, P99: time.Second, ErrorRatio: 0.01, Lost: 0}

// StageResult is one stage of a verdict.
type StageResult struct {
	Stage                  Stage   `json:"stage"`
	TargetSamplesPerSecond float64 `json:"target_samples_per_second"`
	SentSamplesPerSecond   float64 `json:"acknowledged_samples_per_second"`
	// The scrape shape: the active series the stage asked for on average, those
	// the backend took (acknowledged samples/s × the interval), and the series
	// created per second (churn, growth).
	TargetActiveSeries     float64            `json:"target_active_series,omitempty"`
	ActiveSeries           float64            `json:"active_series,omitempty"`
	SeriesCreatedPerSecond float64            `json:"series_created_per_second,omitempty"`
	Latency                Quantiles          `json:"latency_seconds"`
	Responses              map[string]float64 `json:"responses"`
	// Causes counts the failed write attempts by what the backend said.
	Causes map[string]float64 `json:"rejections_by_cause,omitempty"`
	// RejectedSamples the backend refused (an error status, retries done);
	// LostSamples the collector failed to deliver (unanswered, dropped, refused).
	RejectedSamples float64 `json:"rejected_samples"`
	LostSamples     float64 `json:"lost_samples"`
	// ShortfallSamples is what the generator fell behind on; HeldBackSeconds the
	// time it waited for the pipeline.
	ShortfallSamples float64 `json:"shortfall_samples"`
	HeldBackSeconds  float64 `json:"held_back_seconds"`
	CollectorCores   float64 `json:"collector_cores"`
	Passed           bool    `json:"passed"`
	Reason           string  `json:"reason,omitempty"`
	// Short is the reason in a few words, for a headline or a table cell.
	Short string `json:"short_reason,omitempty"`
	// GeneratorLimited: the collector fell behind while the backend answered in
	// time and throttled nothing; the stage says nothing of the backend.
	// CollectorLimit names what held it back (LimitSending, LimitExport,
	// LimitGenerator), and Advice what to grow.
	GeneratorLimited bool        `json:"generator_limited"`
	CollectorLimit   string      `json:"collector_limit,omitempty"`
	Advice           string      `json:"advice,omitempty"`
	Sending          Sending     `json:"sending"`
	Freshness        *Quantiles  `json:"freshness_seconds,omitempty"`
	Measurement      Measurement `json:"measurement"`
	// Collectors are the stage's figures per collector, when several ran.
	Collectors []CollectorResult `json:"collectors,omitempty"`
}

// CollectorResult is one collector's share of a stage.
type CollectorResult struct {
	Name                   string  `json:"name"`
	TargetSamplesPerSecond float64 `json:"target_samples_per_second"`
	SentSamplesPerSecond   float64 `json:"acknowledged_samples_per_second"`
	ShortfallSamples       float64 `json:"shortfall_samples"`
	RejectedSamples        float64 `json:"rejected_samples"`
	LostSamples            float64 `json:"lost_samples"`
	Cores                  float64 `json:"cores"`
	PeakRSS                int64   `json:"peak_rss_bytes"`
	// CollectorLimit names what held it back when it fell behind while the
	// backend answered in time; empty when it kept up.
	CollectorLimit string `json:"collector_limit,omitempty"`
	Advice         string `json:"advice,omitempty"`
}

// Limit is the first stage that failed, and why.
type Limit struct {
	// Stage is the stage's number, counted from 1 as in every line printed; 0
	// when every stage passed.
	Stage                  int     `json:"stage"`
	TargetSamplesPerSecond float64 `json:"target_samples_per_second"`
	Reason                 string  `json:"reason"`
	Short                  string  `json:"short_reason,omitempty"`
}

// limitWords name the collector's limits in a headline.
var limitWords = map[string]string{LimitSending: "latency-bound sending", LimitExport: "its export path", LimitGenerator: "its generator", LimitMachine: "a busy machine"}

// Verdict is what a load test found.
type Verdict struct {
	// Collectors is how many collectors wrote, side by side.
	Collectors                int     `json:"collectors"`
	SustainedSamplesPerSecond float64 `json:"sustained_samples_per_second"`
	// SustainedActiveSeries is, in the scrape shape, the active series of the
	// passing stage of the highest target.
	SustainedActiveSeries float64       `json:"sustained_active_series,omitempty"`
	Limit                 Limit         `json:"limit"`
	Stages                []StageResult `json:"stages"`
	// Outside is what happened outside the stages' windows, until the collector stopped.
	Outside  *Outside  `json:"outside_stages,omitempty"`
	ReadBack *ReadBack `json:"read_back,omitempty"`
	Cost     *Cost     `json:"cost,omitempty"`
	// Settings are the collector's, as the run passed them.
	Settings Settings `json:"collector_settings"`
	// Passed: every stage passed, nothing was lost or rejected after them, and
	// the read-back found nothing missing.
	Passed bool `json:"passed"`
}

// Cost is what the run used of a managed backend's quotas and bill.
type Cost struct {
	SamplesIngested float64 `json:"samples_ingested"`
	SeriesWritten   float64 `json:"series_written"`
	SamplesRead     float64 `json:"samples_read"`
	// The sustained rate as a managed backend bills it.
	SamplesPerHour  float64 `json:"sustained_samples_per_hour"`
	SamplesPerMonth float64 `json:"sustained_samples_per_month"`
	// With the prices given (-price-ingest, -price-query): what the run cost,
	// and what a month at the sustained rate would, in USD.
	RunUSD   float64 `json:"run_usd,omitempty"`
	MonthUSD float64 `json:"month_at_sustained_rate_usd,omitempty"`
}

// Judge makes a stage's result from what it measured. The order of the checks
// names the most telling reason: what the backend said, what was lost, how slowly
// it answered, and only then the rate, blamed on the collector when the backend
// answered in time and throttled nothing.
func Judge(stage Stage, m Measurement, causes map[string]float64, slo SLO, s Settings) StageResult {
	r := StageResult{
		Stage: stage, TargetSamplesPerSecond: stage.Target(), SentSamplesPerSecond: m.StageRate(m.Acknowledged),
		Latency: m.Latency, Responses: m.Responses, Causes: causes, RejectedSamples: m.Rejected, LostSamples: m.Lost(),
		ShortfallSamples: m.Shortfall, HeldBackSeconds: m.HeldBackSeconds, CollectorCores: m.StageRate(m.CollectorCPU),
		TargetActiveSeries: stage.TargetSeries(), SeriesCreatedPerSecond: m.StageRate(m.SeriesCreated),
		Sending: AnalyzeSending(m, s), Measurement: m,
	}
	if stage.Interval > 0 { // what the backend took, in series at the interval
		r.ActiveSeries = r.SentSamplesPerSecond * stage.Interval.Seconds()
	}
	errorRatio := m.ErrorRatio()
	switch {
	case errorRatio > slo.ErrorRatio:
		r.Short = mainCause(causes, m.Responses)
		r.Reason = fmt.Sprintf("%s (%.0f %% of requests)", r.Short, 100*errorRatio)
	case r.LostSamples > slo.Lost:
		r.Short = FormatCount(r.LostSamples) + " samples lost"
		r.Reason = fmt.Sprintf("%s samples lost (unanswered %s, dropped at the queue %s, refused by the pipeline %s)",
			FormatCount(r.LostSamples), FormatCount(m.SendFailed-m.Rejected), FormatCount(m.EnqueueFailed), FormatCount(m.Refused))
	case m.Latency.P99 > slo.P99.Seconds():
		r.Short = "p99 write latency " + seconds(m.Latency.P99)
		r.Reason = fmt.Sprintf("p99 write latency %s above %s", seconds(m.Latency.P99), slo.P99)
	case r.SentSamplesPerSecond < slo.AckRatio*r.TargetSamplesPerSecond:
		r.Short = fmt.Sprintf("the backend acknowledged %.0f %% of it", 100*r.SentSamplesPerSecond/r.TargetSamplesPerSecond)
		r.Reason = fmt.Sprintf("acknowledged %s samples/s, %.0f %% of the target", FormatCount(r.SentSamplesPerSecond), 100*r.SentSamplesPerSecond/r.TargetSamplesPerSecond)
		if GeneratorLimited(m, slo, 0) {
			r.GeneratorLimited = true
			r.CollectorLimit, r.Advice = CollectorLimit(m, s)
			r.Short = "the collector fell behind (" + limitWords[r.CollectorLimit] + "), not the backend"
			r.Reason = fmt.Sprintf("the collector fell behind by %s samples while the backend answered in time (p99 %s) and throttled nothing: %s",
				FormatCount(m.Shortfall), seconds(m.Latency.P99), r.Advice)
		}
	default:
		r.Passed = true
	}
	return r
}

// FailedResponse tells an error answer from a success: a status of 300 or more,
// or none at all (the key is then the HTTP client's error type).
func FailedResponse(code string) bool {
	c, err := strconv.Atoi(code)
	return err != nil || c >= 300
}

// ErrorRatio is the share of the write requests answered with an error status or not at all.
func (m Measurement) ErrorRatio() float64 {
	requests, failed := m.Requests(), 0.0
	for code, n := range m.Responses {
		if FailedResponse(code) {
			failed += n
		}
	}
	if requests == 0 {
		return 0
	}
	return failed / requests
}

// GeneratorLimited tells a window in which the collector, not the backend, was
// the limit: the backend answered in time and refused nothing, and the generator
// fell behind its schedule, or, without a schedule (a pause of 0), the sink's
// requests in flight waited on the backend less than half the time (the
// collector could not make and send samples faster than the backend took them).
// The load test's verdict and the bench use this one rule.
func GeneratorLimited(m Measurement, slo SLO, sink int) bool {
	if m.ErrorRatio() > slo.ErrorRatio || m.Latency.P99 > slo.P99.Seconds() {
		return false
	}
	if m.Scheduled > 0 {
		return m.Shortfall > (1-slo.AckRatio)*m.Scheduled
	}
	return sink > 0 && m.Seconds > 0 && m.RequestSeconds < 0.5*m.Seconds*float64(sink)
}

// Decide sums up the stages: what the backend acknowledged in the passing stage
// of the highest target, and the first stage that failed.
func Decide(stages []StageResult) Verdict {
	v := Verdict{Stages: stages}
	best := -1
	for i, s := range stages {
		if s.Passed && (best < 0 || s.TargetSamplesPerSecond > stages[best].TargetSamplesPerSecond) {
			best = i
		}
		if !s.Passed && v.Limit.Stage == 0 {
			v.Limit = Limit{Stage: i + 1, TargetSamplesPerSecond: s.TargetSamplesPerSecond, Reason: s.Reason, Short: s.Short}
		}
	}
	if best >= 0 {
		v.SustainedSamplesPerSecond = stages[best].SentSamplesPerSecond
		v.SustainedActiveSeries = stages[best].ActiveSeries
	}
	v.Passed = v.Limit.Stage == 0
	return v
}

// WithReadBack adds the read-back: missing samples fail the verdict, naming the loss.
func (v *Verdict) WithReadBack(rb *ReadBack) {
	v.ReadBack = rb
	if rb != nil && rb.Problem != "" {
		v.Passed = false
	}
}

// WithOutside adds what happened outside the stages' windows: a loss or a
// rejection there fails the verdict.
func (v *Verdict) WithOutside(o Outside) {
	v.Outside = &o
	if o.Problem != "" {
		v.Passed = false
	}
}

// Headline is the verdict in one short sentence: what was sustained, and what
// stopped it; Details say the rest.
func (v Verdict) Headline() string {
	sustained := "No stage passed"
	if v.SustainedSamplesPerSecond > 0 {
		sustained = "Sustained " + FormatCount(v.SustainedSamplesPerSecond) + " samples/s"
		if v.SustainedActiveSeries > 0 {
			sustained += " over " + FormatCount(v.SustainedActiveSeries) + " active series"
		}
	}
	var s string
	switch {
	case len(v.Stages) == 0:
		s = "No stage was judged: the run ended before the first one."
	case v.Limit.Stage > 0:
		s = fmt.Sprintf("%s; stopped at stage %d (%s samples/s) by %s.", sustained, v.Limit.Stage, FormatCount(v.Limit.TargetSamplesPerSecond), v.Limit.Short)
	case v.Outside != nil && v.Outside.Problem != "":
		s = sustained + "; every stage passed, but samples were lost or rejected outside them."
	default:
		s = sustained + "; every stage passed."
	}
	if v.ReadBack != nil && v.ReadBack.Problem != "" {
		s += " The backend lost acknowledged samples."
	}
	return s
}

// Details are what the headline leaves out: the limit's whole reason, what
// happened outside the stages, the read-back's problem.
func (v Verdict) Details() []string {
	var out []string
	if v.Limit.Stage > 0 {
		out = append(out, fmt.Sprintf("Stage %d: %s.", v.Limit.Stage, v.Limit.Reason))
	}
	if v.Outside != nil && v.Outside.Problem != "" {
		out = append(out, "Outside the stages: "+v.Outside.Problem+".")
	}
	if v.ReadBack != nil && v.ReadBack.Problem != "" {
		out = append(out, "Read back: "+v.ReadBack.Problem+".")
	}
	return out
}

// CauseLines are the failed write attempts of every stage by cause, the largest
// share first, labelled by stage number.
func (v Verdict) CauseLines() []string {
	var out []string
	for i, s := range v.Stages {
		total := 0.0
		for _, n := range s.Causes {
			total += n
		}
		for _, c := range slices.SortedFunc(maps.Keys(s.Causes), func(a, b string) int { return cmp.Or(cmp.Compare(s.Causes[b], s.Causes[a]), strings.Compare(a, b)) }) {
			out = append(out, fmt.Sprintf("stage %d: %s: %s failed write attempts (%.0f %%)", i+1, c, FormatCount(s.Causes[c]), 100*s.Causes[c]/total))
		}
	}
	return out
}

// Cause names what a failed write attempt's answer says, from the status and the
// body the exporter logged: AMP's and Mimir's limits, Prometheus's rejections.
func Cause(status int, body string) string {
	b := strings.ToLower(body)
	for _, c := range []struct{ match, name string }{
		{"ingestion rate limit", "ingestion rate limit exceeded"},
		{"ingestion burst size limit", "ingestion burst size limit exceeded"},
		{"per-user series limit", "series limit exceeded (per user)"},
		{"per-metric series limit", "series limit exceeded (per metric)"},
		{"too many labels", "series has too many labels"},
		{"number of labels exceeds", "series has too many labels"},
		{"label value too long", "label value too long"},
		{"label value length exceeds", "label value too long"},
		{"label name too long", "label name too long"},
		{"label name length exceeds", "label name too long"},
		{"series limit", "series limit exceeded"},
		{"out of order", "out-of-order samples"},
		{"duplicate sample", "duplicate samples"},
		{"too old", "samples too old"},
		{"out of bounds", "samples out of bounds"},
		{"signature", "signature refused"},
	} {
		if strings.Contains(b, c.match) {
			return strconv.Itoa(status) + " " + c.name
		}
	}
	if status == http.StatusRequestEntityTooLarge {
		return "413 request too large"
	}
	text := strings.TrimSpace(body)
	if len(text) > 60 {
		text = text[:60] + "…"
	}
	if text == "" {
		return strconv.Itoa(status) + " " + http.StatusText(status)
	}
	return strconv.Itoa(status) + " " + http.StatusText(status) + ": " + text
}

// Causes counts the failed write attempts the log reports between from and to.
func (l Log) Causes(from, to time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, e := range l.FailedRequests() {
		if !e.Time.Before(from) && e.Time.Before(to) {
			out[Cause(e.StatusCode, e.Error)]++
		}
	}
	return out
}

// mainCause is the most frequent cause, or the most frequent failing status.
func mainCause(causes map[string]float64, responses map[string]float64) string {
	if len(causes) > 0 {
		keys := slices.Collect(maps.Keys(causes))
		slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(causes[b], causes[a]), strings.Compare(a, b)) })
		return keys[0]
	}
	worst, n := "", 0.0
	for code, c := range responses {
		if FailedResponse(code) && (c > n || c == n && code < worst) {
			worst, n = code, c
		}
	}
	return "answered " + worst
}

// seconds writes a latency in ms or s.
func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

// FormatCount writes 20,000 or 1,234,567.
func FormatCount(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

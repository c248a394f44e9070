// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDPatterns(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `I0000000007(-\d+)?`, idPattern(7, 1))
	assert.Equal(t, `I0000001\d{3}(-\d+)?`, idPattern(1000, 1000))
	assert.Equal(t, `I\d{10}(-\d+)?`, idPattern(0, 1e10))
	assert.Equal(t, `I00000000\d{2}(-\d+)?`, idRangePattern(0, 100))
	assert.Len(t, strings.Split(idRangePattern(5, 20), "|"), 11, "5 to 9, the block of ten, 20 to 24")

	// The alternation matches exactly the instances of [first, first+n), and
	// their churned generations.
	check := func(first, n int64, ids ...int64) {
		re := regexp.MustCompile("^(" + idRangePattern(first, n) + ")$")
		for _, id := range ids {
			want := id >= first && id < first+n
			for _, label := range []string{fmt.Sprintf("I%010d", id), fmt.Sprintf("I%010d-12", id)} {
				if re.MatchString(label) != want {
					t.Errorf("%s: %s matched %v, want %v", re, label, !want, want)
				}
			}
		}
	}
	for first := int64(0); first < 112; first++ {
		for n := int64(1); first+n <= 112; n++ {
			var ids []int64
			for id := max(0, first-2); id < first+n+2; id++ {
				ids = append(ids, id)
			}
			check(first, n, ids...)
		}
	}
	check(9_999_999_990, 10, 9_999_999_989, 9_999_999_990, 9_999_999_999)
	check(1_234_567, 3_000_000, 1_234_566, 1_234_567, 1_240_000, 2_000_000, 3_999_999, 4_234_566, 4_234_567, 5_000_000, 0)
}

func TestPromQLText(t *testing.T) {
	pattern := `"(I000000000\\d{1}|I000000001\\d{1}|I000000002\\d{1})(-\\d+)?"`
	assert.Equal(t, `(sum(count_over_time(CPU{InstanceId=~`+pattern+`}[10000ms])) or vector(0)) + `+
		`(sum(count_over_time(Memory{InstanceId=~`+pattern+`}[10000ms])) or vector(0))`, StoredIn(nil, 0, 30, 10*time.Second))
	assert.Equal(t, `(sum(count_over_time(dummy_counter_1_total{InstanceId=~`+pattern+`}[10000ms])) or vector(0))`,
		StoredIn([]string{"dummy_counter_1_total"}, 0, 30, 10*time.Second))
	assert.Equal(t, `{InstanceId=~"I0000000007(-\\d+)?"}`, RunSelector(7, 1))
}

// fakeStore answers the read-back's queries from per-series sample counts.
type fakeStore struct {
	counts  map[string]map[int64]float64 // metric → instance → samples stored
	windows []float64                    // stored in each 10-second window, for the range query
	from    time.Time
}

var countQuery = regexp.MustCompile(`^count_over_time\((CPU|Memory)\{InstanceId=~"(.*)"\}\[(\d+)ms\]\)$`)

func (s fakeStore) answer(t *testing.T) func(*http.Request, string) map[string]any {
	return func(r *http.Request, promql string) map[string]any {
		if r.URL.Path == "/api/v1/query_range" {
			var values []any
			for i, v := range s.windows {
				values = append(values, []any{float64(s.from.Add(time.Duration(i+1) * 10 * time.Second).Unix()), fmt.Sprint(v)})
			}
			return map[string]any{"resultType": "matrix", "result": []any{map[string]any{"metric": map[string]string{}, "values": values}}}
		}
		m := countQuery.FindStringSubmatch(promql)
		if !assert.NotNil(t, m, promql) {
			return nil
		}
		re := regexp.MustCompile("^(" + strings.ReplaceAll(m[2], `\\`, `\`) + ")$")
		var out []sample
		for id, n := range s.counts[m[1]] {
			if label := fmt.Sprintf("I%010d", id); re.MatchString(label) {
				out = append(out, sample{labels: map[string]string{"InstanceId": label}, value: n})
			}
		}
		return vector(out...)
	}
}

func TestReadBack(t *testing.T) {
	from := time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)
	// 30 instances, 60 samples a series, and instances 30 and 31 of another run in
	// the same block of the queries, which are not counted.
	full := func(change func(counts map[string]map[int64]float64)) map[string]map[int64]float64 {
		counts := map[string]map[int64]float64{"CPU": {30: 999}, "Memory": {31: 999}}
		for _, metric := range seedNames {
			for id := range int64(30) {
				counts[metric][id] = 60
			}
		}
		if change != nil {
			change(counts)
		}
		return counts
	}
	plan := ReadBackPlan{
		First: 0, Instances: 30, From: from, To: from.Add(60 * time.Second), Sent: 3600, SeriesExpected: 60,
		Expected:           map[string]float64{"I0000000000-I0000000009": 1200, "I0000000010-I0000000019": 1200, "I0000000020-I0000000029": 1200},
		MaxSamplesPerQuery: 1e6,
	}
	for s := range 61 {
		plan.Acked = append(plan.Acked, Acked{At: from.Add(time.Duration(s) * time.Second), Samples: float64(60 * s)})
	}
	for _, tc := range []struct {
		name      string
		counts    map[string]map[int64]float64
		failed    float64
		dropped   float64
		sent      float64
		problem   string
		missing   float64
		byBlock   []Gap
		queries   int
		inSummary string
	}{
		{name: "all stored", counts: full(nil), queries: 2},
		{name: "some missing", counts: full(func(c map[string]map[int64]float64) {
			for id := int64(10); id < 20; id++ {
				c["CPU"][id] = 30
			}
		}), problem: "300 acknowledged samples are missing", missing: 300, queries: 3,
			byBlock:   []Gap{{Where: "instances I0000000010-I0000000019", Expected: 1200, Stored: 900}},
			inSummary: "FAILED: 300 acknowledged samples are missing; instances I0000000010-I0000000019: 900 of 1,200 stored; by 03:04:20: 900 of 1,140 stored"},
		{name: "more stored than acknowledged", counts: full(func(c map[string]map[int64]float64) { c["Memory"][5] = 70 }),
			problem: "stored 3,610 samples, more than the 3,600 acknowledged and the 0 that failed: another writer", queries: 2},
		{name: "more stored, but a failed batch may have been stored", counts: full(func(c map[string]map[int64]float64) { c["Memory"][5] = 70 }),
			failed: 100, queries: 2, inSummary: "stored 3,610 samples, at least the 3,600 acknowledged and at most 100 more"},
		{name: "more stored than a failed batch explains", counts: full(func(c map[string]map[int64]float64) { c["Memory"][5] = 70 }),
			failed: 5, queries: 2, problem: "stored 3,610 samples, more than the 3,600 acknowledged and the 5 that failed"},
		{name: "with failed batches the series are a bound", counts: full(func(c map[string]map[int64]float64) { delete(c["Memory"], 29) }), sent: 3540,
			failed: 60, queries: 2, inSummary: "found 59 series, at most the 60 handed to the pipeline"},
		{name: "a series missing", counts: full(func(c map[string]map[int64]float64) { delete(c["Memory"], 29) }), sent: 3540,
			problem: "1 of the 60 series written are missing", queries: 2},
		{name: "a series dropped at the queue is not missing", counts: full(func(c map[string]map[int64]float64) { delete(c["Memory"], 29) }), sent: 3540,
			dropped: 60, queries: 2, inSummary: "59 series of at most 60 (60 samples were dropped at the collector's full queue, never sent)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := fakeStore{counts: tc.counts, from: from, windows: []float64{600, 300, 600, 600, 600, 600}}
			prom := fakeQueryAPI(t, store.answer(t))
			p := plan
			p.Failed, p.Dropped = tc.failed, tc.dropped
			if tc.sent > 0 {
				p.Sent = tc.sent
			}
			rb, err := querier(t, prom.URL).ReadBack(t.Context(), p)
			require.NoError(t, err)
			assert.Equal(t, tc.problem == "", rb.Problem == "", rb.Problem)
			assert.True(t, strings.HasPrefix(rb.Problem, tc.problem), rb.Problem)
			assert.InDelta(t, tc.missing, rb.MissingSamples, 0)
			assert.Equal(t, tc.byBlock, rb.MissingByInstances)
			assert.Equal(t, tc.queries, rb.Queries)
			assert.Equal(t, tc.failed == 0, rb.Exact)
			assert.Contains(t, rb.Summary(), tc.inSummary)
			if tc.missing > 0 {
				assert.Equal(t, []Gap{{Where: "by 03:04:20", Expected: 1140, Stored: 900}}, rb.MissingByTime,
					"a lower bound: a sample acknowledged by 03:04:19 has a timestamp before 03:04:20")
			}
		})
	}

	// The one query of each metric reads every series of its block, the other run's too.
	rb, err := querier(t, fakeQueryAPI(t, fakeStore{counts: full(nil)}.answer(t)).URL).ReadBack(t.Context(), plan)
	require.NoError(t, err)
	assert.Equal(t, ReadBack{SentSamples: 3600, StoredSamples: 3600, Exact: true, SeriesExpected: 60, SeriesFound: 60, SamplesRead: 3600 + 2*999, Queries: 2}, *rb)
	assert.Equal(t, "stored 3,600 of 3,600 samples acknowledged, 60 of 60 series written; the read-back read 5,598 samples in 2 queries", rb.Summary())

	// A limit of samples per query splits the work by instances, never by time.
	small := plan
	small.MaxSamplesPerQuery = 1200
	rb, err = querier(t, fakeQueryAPI(t, fakeStore{counts: full(nil)}.answer(t)).URL).ReadBack(t.Context(), small)
	require.NoError(t, err)
	assert.Equal(t, 6, rb.Queries, "3 blocks of 10 instances, 2 metrics")
	assert.InDelta(t, 3600, rb.StoredSamples, 0)
}

func TestCheckNoOtherWriter(t *testing.T) {
	var series atomic.Int64
	queries := make(chan string, 4)
	prom := fakeQueryAPI(t, func(_ *http.Request, promql string) map[string]any {
		queries <- promql
		if strings.HasPrefix(promql, "count by (__name__)") {
			return vector(sample{labels: map[string]string{"__name__": "Memory"}, value: 20})
		}
		if n := series.Load(); n > 0 {
			return vector(sample{value: float64(n)})
		}
		return vector()
	})
	q := querier(t, prom.URL)
	require.NoError(t, q.CheckNoOtherWriter(t.Context(), 10, 20))
	pattern := `(I000000001\\d{1}|I000000002\\d{1})(-\\d+)?`
	assert.Equal(t, `count by (__name__) ({InstanceId=~"`+pattern+`"})`, <-queries, "which metrics hold the run's instances")
	assert.Equal(t, `count(count_over_time(Memory{InstanceId=~"`+pattern+`"}[15000ms]))`, <-queries, "one at a time: count_over_time drops the name")
	series.Store(4)
	err := q.CheckNoOtherWriter(t.Context(), 10, 20)
	require.ErrorContains(t, err, "4 of the run's series (Memory of I0000000010 to I0000000029) got samples in the last 15 seconds")
	assert.ErrorContains(t, err, "-instance-offset")
}

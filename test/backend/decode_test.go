// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeBody(t *testing.T, body []byte) (*Request, error) {
	t.Helper()
	return Decode(httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/write", bytes.NewReader(body)))
}

func TestDecode(t *testing.T) {
	ts := []prompb.TimeSeries{series("cpu", 1000, 2000), series("mem", 3000), series("disk", 4000, 5000, 6000)}
	raw := rawWrite(t, ts...)
	body := snappy.Encode(nil, raw)

	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	req, err := Decode(r)
	require.NoError(t, err)
	again, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, again, "the body stays readable")
	assert.Equal(t, body, req.Body)
	assert.Equal(t, len(raw), req.Size)
	assert.Equal(t, 6, req.Samples)
	require.Len(t, req.Series, 3)
	want := []struct {
		labels     string
		timestamps []int64
	}{
		{"__name__=cpu,job=test", []int64{1000, 2000}},
		{"__name__=mem,job=test", []int64{3000}},
		{"__name__=disk,job=test", []int64{4000, 5000, 6000}},
	}
	for i, w := range want {
		s := req.Series[i]
		assert.Equal(t, w.labels, s.Labels)
		assert.Equal(t, w.timestamps, s.Timestamps)
		assert.Equal(t, len(w.timestamps), s.Samples)
		enc, err := ts[i].Marshal()
		require.NoError(t, err)
		assert.Equal(t, enc, s.Raw, "Raw is the series' own encoding")
	}

	series, samples, err := Count(raw)
	require.NoError(t, err)
	assert.Equal(t, 3, series)
	assert.Equal(t, 6, samples)

	// encode keeps the given entries, as they were.
	kept, err := decodeBody(t, encode([]Series{req.Series[0], req.Series[2]}))
	require.NoError(t, err)
	assert.Equal(t, []string{want[0].labels, want[2].labels}, labelsOf(kept))
	assert.Equal(t, want[2].timestamps, kept.Series[1].Timestamps)
	assert.Equal(t, 5, kept.Samples)
	var wr prompb.WriteRequest
	raw, err = snappy.Decode(nil, encode(req.Series))
	require.NoError(t, err)
	require.NoError(t, wr.Unmarshal(raw), "Prometheus reads what encode writes")
	assert.Equal(t, ts, wr.Timeseries)
}

func TestDecodeRejects(t *testing.T) {
	raw := rawWrite(t, series("cpu", 1000, 2000), series("mem", 3000))
	for name, body := range map[string][]byte{
		"not snappy":         raw,
		"empty":              {},
		"truncated series":   snappy.Encode(nil, raw[:10]),
		"truncated metadata": snappy.Encode(nil, raw[:len(raw)-3]),
		"garbage":            snappy.Encode(nil, []byte{0xff, 0xff, 0xff, 0xff}),
		"field number 0":     snappy.Encode(nil, []byte{0x02, 0x00}),
	} {
		t.Run(name, func(t *testing.T) {
			req, err := decodeBody(t, body)
			require.Error(t, err)
			require.NotNil(t, req, "the body is returned")
			assert.Equal(t, body, req.Body)
			if raw, err := snappy.Decode(nil, body); err == nil {
				_, _, err = Count(raw)
				assert.Error(t, err, "Count agrees")
			}
		})
	}
}

func TestCountDoesNotAllocate(t *testing.T) {
	raw := rawWrite(t, manySeries(50, 10)...)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := Count(raw); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkCount(b *testing.B) {
	raw := rawWrite(b, manySeries(500, 10)...)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Count(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package backend is a set of composable remote-write test handlers, the stand-ins
// for what cannot run here: a managed backend's quotas, AWS's signature check, an
// unreliable network. Each is an http.Handler wrapping the next one, and they end
// in Forward (a real Prometheus) or Sink (counting only):
//
//	srv := backend.Serve(backend.SigV4(verifier, backend.Quota(q, backend.Forward(prom.URL))))
//
// They share one decoder of remote-write 1.0 bodies, which walks the protobuf
// without allocating so that the pipeline benchmarks can use it too.
package backend

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Series is one time-series entry of a remote-write 1.0 request.
type Series struct {
	// Raw is the entry's encoding (a prompb.TimeSeries).
	Raw []byte
	// Labels is the label set, name=value pairs joined by commas, in the
	// request's order: the series' identity.
	Labels string
	// Samples is the number of its samples; Timestamps are theirs, in milliseconds.
	Samples    int
	Timestamps []int64
}

// Request is a decoded remote-write 1.0 request.
type Request struct {
	// Body is the compressed body as sent; Size the decompressed one.
	Body []byte
	Size int
	// Series are the entries; nil when the body was only counted.
	Series  []Series
	Samples int
}

// Decode reads r's body: snappy, then a remote-write 1.0 WriteRequest. The body
// stays readable for the next handler.
func Decode(r *http.Request) (*Request, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return &Request{Body: body}, fmt.Errorf("snappy: %w", err)
	}
	req := &Request{Body: body, Size: len(raw)}
	err = walk(raw, rw1Series, func(s Series) { req.Series = append(req.Series, s); req.Samples += s.Samples }, true)
	return req, err
}

// readBody reads r's body and leaves it readable for the next handler.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// Count counts the series entries and samples of a decompressed WriteRequest
// without allocating.
func Count(raw []byte) (series, samples int, err error) {
	err = walk(raw, rw1Series, func(s Series) { series++; samples += s.Samples }, false)
	return series, samples, err
}

// CountV2 is Count for a remote-write 2.0 Request, whose time series are field 5
// and keep their samples in field 2 as 1.0's do.
func CountV2(raw []byte) (series, samples int, err error) {
	err = walk(raw, rw2Series, func(s Series) { series++; samples += s.Samples }, false)
	return series, samples, err
}

// The field of a request's time series in remote write 1.0 and 2.0.
const rw1Series, rw2Series protowire.Number = 1, 5

var errMalformed = errors.New("malformed remote-write request")

// walk calls fn for every TimeSeries (field seriesField) of a request. Only with
// full (1.0 only) does each Series get its labels and timestamps, which allocates.
func walk(b []byte, seriesField protowire.Number, fn func(Series), full bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if num != seriesField || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return errMalformed
			}
			b = b[n:]
			continue
		}
		ts, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		s := Series{Raw: ts}
		for rest := ts; len(rest) > 0; {
			fnum, ftyp, m := protowire.ConsumeTag(rest)
			if m < 0 {
				return errMalformed
			}
			rest = rest[m:]
			if ftyp != protowire.BytesType {
				if m = protowire.ConsumeFieldValue(fnum, ftyp, rest); m < 0 {
					return errMalformed
				}
				rest = rest[m:]
				continue
			}
			field, m := protowire.ConsumeBytes(rest)
			if m < 0 {
				return errMalformed
			}
			rest = rest[m:]
			switch {
			case fnum == 2: // Sample{value = 1, timestamp = 2}
				s.Samples++
				if full {
					s.Timestamps = append(s.Timestamps, sampleTimestamp(field))
				}
			case fnum == 1 && full: // Label{name = 1, value = 2}
				name, value := labelPair(field)
				if s.Labels != "" {
					s.Labels += ","
				}
				s.Labels += name + "=" + value
			}
		}
		fn(s)
	}
	return nil
}

func sampleTimestamp(b []byte) int64 {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if num == 2 && typ == protowire.VarintType {
			v, _ := protowire.ConsumeVarint(b)
			return int64(v)
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return 0
		}
		b = b[n:]
	}
	return 0
}

func labelPair(b []byte) (name, value string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return name, value
		}
		b = b[n:]
		v, m := protowire.ConsumeBytes(b)
		if typ != protowire.BytesType || m < 0 {
			return name, value
		}
		b = b[m:]
		switch num {
		case 1:
			name = string(v)
		case 2:
			value = string(v)
		}
	}
	return name, value
}

// encode builds a compressed WriteRequest of the given series entries.
func encode(series []Series) []byte {
	var raw []byte
	for _, s := range series {
		raw = protowire.AppendTag(raw, 1, protowire.BytesType)
		raw = protowire.AppendBytes(raw, s.Raw)
	}
	return snappy.Encode(nil, raw)
}

// isWrite tells a remote-write request from a query, which the Prometheus API
// client may also POST (as a form).
func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Content-Encoding") == "snappy"
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver // import "github.com/ampload/otelcol-dummymetrics/receiver/dummymetricsreceiver"

import (
	"encoding"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var _ encoding.TextUnmarshaler = (*ReplicaIndex)(nil)

// ReplicaIndex is which replica a receiver is in a scale-out: replica k owns the
// instances from instance_offset + k × instances on. It decodes from an integer
// (a Kubernetes pod index from the downward API arrives as one), or from a string:
// a number, or a name that ends in -N, such as a StatefulSet pod's name or host
// name (otelcol-dummymetrics-2), whose ordinal N is taken. So a StatefulSet needs
// no init container to compute its offset.
type ReplicaIndex int64

// UnmarshalText reads a number, or the ordinal at the end of a pod or host name.
// An empty string, what an unset ${env:VAR:-} expands to, leaves the index as it is.
func (r *ReplicaIndex) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s == "" {
		return nil
	}
	n, err := parseReplicaIndex(s)
	if err != nil {
		return fmt.Errorf("%q %w", s, err)
	}
	*r = n
	return nil
}

// parseReplicaIndex reads a number, or the ordinal at the end of a name; its error
// is the reason the text is neither.
func parseReplicaIndex(s string) (ReplicaIndex, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ReplicaIndex(n), nil
	}
	ordinal := s[strings.LastIndexByte(s, '-')+1:]
	if ordinal == "" || ordinal == s || strings.Trim(ordinal, "0123456789") != "" {
		return 0, errors.New("is neither an integer of at least 0 nor a name that ends in -N, such as a StatefulSet pod name (otelcol-dummymetrics-2)")
	}
	n, err := strconv.ParseInt(ordinal, 10, 64)
	if err != nil {
		return 0, errors.New("ends in an ordinal too large for an integer")
	}
	return ReplicaIndex(n), nil
}

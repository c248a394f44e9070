// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are the collector settings a run measures with: the variables the
// runner passed (Env, without secrets), and what they make of the shipped
// configuration, with its defaults where a variable was not passed.
type Settings struct {
	Env map[string]string `json:"env"`

	Generator      int           `json:"generator_parallelism"`
	Sink           int           `json:"sink_parallelism"`
	BatchSize      int           `json:"batch_size"`
	BatchTimeout   time.Duration `json:"batch_timeout_ns"`
	RequestBytes   int           `json:"max_request_bytes"`
	RequestTimeout time.Duration `json:"request_timeout_ns"`
	MaxRetry       time.Duration `json:"max_retry_time_ns"`
	Queue          bool          `json:"queue_enabled"`
	QueueSize      int           `json:"queue_size"`
	// SamplesPerPoint converts the batch processor's and the exporter's data
	// points into samples (Generated.SamplesPerPoint; 1 in the seed shape).
	SamplesPerPoint float64 `json:"samples_per_point"`
	// Collectors is how many collectors run with these settings side by side.
	Collectors int `json:"collectors"`
}

// The shipped configuration's variables that Settings reads.
const (
	envGenerator      = "GENERATOR_PARALLELISM"
	envSink           = "SINK_PARALLELISM"
	envBatchSize      = "SINK_BATCH_SIZE"
	envBatchTimeout   = "SINK_BATCH_TIMEOUT"
	envRequestBytes   = "SINK_MAX_REQUEST_BYTES"
	envRequestTimeout = "SINK_REQUEST_TIMEOUT"
	envMaxRetry       = "SINK_MAX_RETRY_TIME"
	envQueue          = "SINK_QUEUE_ENABLED"
	envQueueSize      = "SINK_QUEUE_SIZE"
)

// SettingsOf reads the settings that env gives the shipped configuration. A
// value the collector would refuse is an error naming the variable.
func SettingsOf(env map[string]string) (Settings, error) {
	defaults, err := ShippedDefaults()
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Env: map[string]string{}, SamplesPerPoint: 1, Collectors: 1}
	for k, v := range env {
		if !IsSecret(k) {
			s.Env[k] = v
		}
	}
	var errs []error
	value := func(name string) string {
		if v, ok := env[name]; ok && v != "" {
			return v
		}
		return defaults[name]
	}
	integer := func(name string, into *int) {
		v, err := strconv.Atoi(value(name))
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a whole number", name, value(name)))
		}
		*into = v
	}
	duration := func(name string, into *time.Duration) {
		v, err := time.ParseDuration(value(name))
		if err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a duration with a unit", name, value(name)))
		}
		*into = v
	}
	integer(envGenerator, &s.Generator)
	integer(envSink, &s.Sink)
	integer(envBatchSize, &s.BatchSize)
	integer(envRequestBytes, &s.RequestBytes)
	integer(envQueueSize, &s.QueueSize)
	duration(envBatchTimeout, &s.BatchTimeout)
	duration(envRequestTimeout, &s.RequestTimeout)
	duration(envMaxRetry, &s.MaxRetry)
	if s.Queue, err = strconv.ParseBool(value(envQueue)); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q: true or false", envQueue, value(envQueue)))
	}
	return s, errors.Join(errs...)
}

// SecretPrefix marks the variables that carry the backend's credentials to the
// collector (collectorConfigs); they are never recorded, and members started
// elsewhere keep them in a Secret, never a ConfigMap.
const SecretPrefix = "RUNNER_HEADER_"

// IsSecret tells the variables that carry credentials, never recorded: the
// backend's headers (SecretPrefix) and AWS keys, should a caller pass them.
func IsSecret(name string) bool {
	return strings.HasPrefix(name, SecretPrefix) ||
		slices.Contains([]string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}, name)
}

// Lag is how long after a sample is generated the exporter reports it sent or
// failed: the batch processor's timeout, and a request. A stage is measured over
// its own span shifted by it, so that it is not judged by what the previous one sent.
func (s Settings) Lag() time.Duration { return s.BatchTimeout + 500*time.Millisecond }

// maxPayloadSamples is the receiver's largest payload (its maxPayloadSamples).
const maxPayloadSamples = 4096

// perPoint is SamplesPerPoint, 1 when not set.
func (s Settings) perPoint() float64 {
	if s.SamplesPerPoint <= 0 {
		return 1
	}
	return s.SamplesPerPoint
}

// Batchers is the batches a collector exports at once: the batch processor keeps
// one batcher per generator worker (metadata_keys: [dummymetrics_shard]).
func (s Settings) Batchers() int { return max(s.Generator, 1) }

// StopBound is the longest a stop of the collector may take, as docs/counters.md
// derives it: without the queue, every batch still in a batcher (the one in
// flight, the one filling, one payload per CPU in its channel and one per worker
// blocked on it) is exported with its full retry limit, the batchers side by
// side; with the queue, the batch in flight and every queued one are tried once
// more, each cut at the retry limit.
func (s Settings) StopBound() time.Duration {
	if s.Queue {
		return time.Duration(s.QueueSize+1) * s.MaxRetry
	}
	batch := max(s.BatchSize, 1)
	workersPerBatcher := (max(s.Generator, 1) + s.Batchers() - 1) / s.Batchers()
	buffered := batch - 1 + (runtime.NumCPU()+workersPerBatcher)*maxPayloadSamples
	batches := 1 + int(math.Ceil(float64(buffered)/float64(batch)))
	return time.Duration(batches) * s.MaxRetry
}

// String lists the settings passed, for the report: "GENERATOR_PARALLELISM=2, ...".
func (s Settings) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		parts = append(parts, k+"="+s.Env[k])
	}
	return strings.Join(parts, ", ")
}

// ShippedDefaults are the defaults of the variables the shipped configuration
// files read (${env:NAME:-default}): one source, the files themselves.
func ShippedDefaults() (map[string]string, error) {
	out := map[string]string{}
	err := eachShippedConfig(func(b []byte) {
		for _, m := range envDefault.FindAllSubmatch(b, -1) {
			out[string(m[1])] = string(m[2])
		}
	})
	return out, err
}

var envDefault = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}`)

// eachShippedConfig hands the content of every collector-config*.yaml to f.
func eachShippedConfig(f func([]byte)) error {
	pattern, err := RepoPath("collector-config*.yaml")
	if err != nil {
		return err
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f(b)
	}
	return nil
}

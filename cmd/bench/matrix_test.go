// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMatrix(t *testing.T) {
	tests := []struct {
		name                         string
		gen, sink, inst, pace, modes string
		want                         Matrix
		wantErr                      []string
	}{
		{
			name: "defaults", gen: "2", sink: "1,2,4", inst: "50000", pace: "pause=0", modes: "ordered,unordered",
			want: Matrix{Gen: []int{2}, Sink: []int{1, 2, 4}, Instances: []int{50000}, Paces: []Pace{{}}, Modes: []Mode{Ordered, Unordered}, Protocols: []Protocol{RW1, RW2}},
		},
		{
			name: "spaces, underscores, rates and pauses", gen: " 1, 2 ", sink: "8", inst: "50_000", pace: "rate=450_000, pause=1ms", modes: "unordered",
			want: Matrix{Gen: []int{1, 2}, Sink: []int{8}, Instances: []int{50000}, Paces: []Pace{{Rate: 450000}, {Pause: time.Millisecond}}, Modes: []Mode{Unordered}, Protocols: []Protocol{RW1, RW2}},
		},
		{name: "zero parallelism", gen: "0", sink: "1", inst: "60", pace: "pause=0", modes: "ordered", wantErr: []string{`-gen: "0" is not a positive integer`}},
		{name: "empty sink list", gen: "1", sink: " , ", inst: "60", pace: "pause=0", modes: "ordered", wantErr: []string{"-sink: empty list"}},
		{name: "duplicate", gen: "1", sink: "2,2", inst: "60", pace: "pause=0", modes: "ordered", wantErr: []string{"-sink: 2 is listed twice"}},
		{name: "not a multiple", gen: "3,4", sink: "1", inst: "60,50", pace: "pause=0", modes: "ordered", wantErr: []string{
			"-instances 50 is not a multiple of -gen 3", "-instances 50 is not a multiple of -gen 4",
		}},
		{name: "bad pace kind", gen: "1", sink: "1", inst: "60", pace: "speed=3", modes: "ordered", wantErr: []string{`unknown kind "speed"`}},
		{name: "pace without kind", gen: "1", sink: "1", inst: "60", pace: "100ms", modes: "ordered", wantErr: []string{"neither pause=DURATION nor rate"}},
		{name: "negative pause", gen: "1", sink: "1", inst: "60", pace: "pause=-1s", modes: "ordered", wantErr: []string{"non-negative duration"}},
		{name: "zero rate", gen: "1", sink: "1", inst: "60", pace: "rate=0", modes: "ordered", wantErr: []string{"positive number of samples per second"}},
		{name: "bad mode", gen: "1", sink: "1", inst: "60", pace: "pause=0", modes: "ordered,fast", wantErr: []string{`"fast" is neither ordered nor unordered`}},
		{name: "every error at once", gen: "x", sink: "0", inst: "1", pace: "", modes: "", wantErr: []string{"-gen", "-sink", "-pace: empty list", "-modes: empty list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMatrix(tt.gen, tt.sink, tt.inst, tt.pace, tt.modes, "rw1,rw2")
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPoints(t *testing.T) {
	m, err := ParseMatrix("1,2", "1,4", "60", "pause=0", "ordered,unordered", "rw1,rw2")
	require.NoError(t, err)
	points := m.Points()
	require.Len(t, points, 16)
	// The protocol varies fastest, then the sink parallelism: a point's protocols
	// run in a row, and so does one chart line.
	assert.Equal(t, Point{GenParallelism: 1, SinkParallelism: 1, Instances: 60, Mode: Ordered, Protocol: RW1}, points[0])
	assert.Equal(t, Point{GenParallelism: 1, SinkParallelism: 1, Instances: 60, Mode: Ordered, Protocol: RW2}, points[1])
	assert.Equal(t, Point{GenParallelism: 1, SinkParallelism: 4, Instances: 60, Mode: Ordered, Protocol: RW1}, points[2])
	assert.Equal(t, Point{GenParallelism: 2, SinkParallelism: 1, Instances: 60, Mode: Ordered, Protocol: RW1}, points[4])
	assert.Equal(t, Unordered, points[8].Mode)
	assert.Equal(t, "gen=1 sink=1 instances=60 pause=0 mode=ordered rw1", points[0].String())
	assert.Equal(t, "gen1-sink1-inst60-pause0-ordered-rw1", points[0].Slug())
	slugs := map[string]bool{}
	for _, p := range points {
		slugs[p.Slug()] = true
	}
	assert.Len(t, slugs, len(points), "every point has its own files")
}

func TestPaceString(t *testing.T) {
	tests := []struct {
		pace Pace
		want string
		slug string
	}{
		{Pace{}, "pause=0", "pause0"},
		{Pace{Pause: 1500 * time.Microsecond}, "pause=1.5ms", "pause1_5ms"},
		{Pace{Rate: 450000}, "rate=450000", "rate450000"},
		{Pace{Rate: 0.5}, "rate=0.5", "rate0_5"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.pace.String())
			p := Point{GenParallelism: 1, SinkParallelism: 1, Instances: 1, Pace: tt.pace, Mode: Ordered, Protocol: RW2}
			assert.Equal(t, "gen1-sink1-inst1-"+tt.slug+"-ordered-rw2", p.Slug())
			// What String prints parses back.
			back, err := parsePaces(tt.want)
			require.NoError(t, err)
			assert.Equal(t, []Pace{tt.pace}, back)
		})
	}
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name    string
		items   []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"two, value with =", []string{"SINK_BATCH_SIZE=8192", "X=a=b"}, map[string]string{"SINK_BATCH_SIZE": "8192", "X": "a=b"}, ""},
		{"empty value", []string{"LOG_LEVEL="}, map[string]string{"LOG_LEVEL": ""}, ""},
		{"no =", []string{"SINK_BATCH_SIZE"}, nil, "not KEY=VALUE"},
		{"reserved", []string{"SINK_PARALLELISM=4"}, nil, "set by the bench itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnv(tt.items)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPointEnv(t *testing.T) {
	p := Point{GenParallelism: 2, SinkParallelism: 4, Instances: 50000, Pace: Pace{Rate: 450000}, Mode: Unordered}
	env := p.Env(map[string]string{"SINK_BATCH_SIZE": "8192"})
	assert.Equal(t, map[string]string{
		"GENERATOR_PARALLELISM": "2",
		"GENERATOR_INSTANCES":   "50000",
		"SINK_PARALLELISM":      "4",
		"GENERATOR_PAUSE":       "0",
		"GENERATOR_RATE":        "450000",
		"SINK_BATCH_SIZE":       "8192",
	}, env)
	p.Pace = Pace{Pause: 2 * time.Millisecond}
	env = p.Env(nil)
	assert.Equal(t, "2ms", env["GENERATOR_PAUSE"])
	assert.Equal(t, "0", env["GENERATOR_RATE"])
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *options)
	}{
		{name: "defaults", check: func(t *testing.T, o *options) {
			assert.Len(t, o.matrix.Points(), 6, "a few minutes by default")
			assert.Empty(t, o.backend.WriteURL, "a local Prometheus by default")
			assert.Equal(t, 10*time.Second, o.warmup)
			assert.Equal(t, 20*time.Second, o.duration)
		}},
		{name: "soak run", args: []string{"-gen", "2", "-sink", "2", "-modes", "ordered", "-duration", "10m", "-env", "A=1", "-env", "B=2"}, check: func(t *testing.T, o *options) {
			assert.Len(t, o.matrix.Points(), 1)
			assert.Equal(t, 10*time.Minute, o.duration)
			assert.Equal(t, map[string]string{"A": "1", "B": "2"}, o.env)
		}},
		{name: "short window", args: []string{"-duration", "10ms"}, wantErr: "-duration 10ms: at least 1s"},
		{name: "arguments", args: []string{"fast"}, wantErr: "flags only"},
		{name: "a remote backend", args: []string{"-url", "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "eu-west-1", o.backend.SigV4Region, "AMP is signed in the workspace's region")
		}},
		{name: "a bad URL", args: []string{"-url", "127.0.0.1:9090/api/v1/write"}, wantErr: "is not an http(s) URL"},
		{name: "matrix and env errors together", args: []string{"-gen", "7", "-env", "GENERATOR_RATE=1"}, wantErr: "GENERATOR_RATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestShellJoin(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-sink", "1,2,4", "-env", "SINK_QUEUE_ENABLED=false"}, "-sink 1,2,4 -env SINK_QUEUE_ENABLED=false"},
		{[]string{"-tag", "queue off", "-title", ""}, "-tag 'queue off' -title ''"},
		{[]string{"-title", "it's $HOME"}, `-title 'it'\''s $HOME'`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, shellJoin(tt.args))
	}
}

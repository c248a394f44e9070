// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// BackendSpec is how a user names a backend, from the load test's and the
// bench's flags or from make run's environment: one source for both, so that a
// header or a token means the same in every command.
type BackendSpec struct {
	WriteURL, QueryURL string
	// Headers are "Name: value" items.
	Headers []string
	// TokenFile holds a bearer token.
	TokenFile string
	// Region asks for SigV4 signing (service aps) in this region; an AMP URL is
	// signed in its workspace's region without it.
	Region string
	// Names of the settings, for the errors: flags or environment variables.
	names specNames
}

type specNames struct{ url, queryURL, header, tokenFile string }

var (
	flagNames = specNames{url: "-url", queryURL: "-query-url", header: "-header", tokenFile: "-bearer-token-file"}
	envNames  = specNames{url: "PROMETHEUS_WRITE_URL", queryURL: "PROMETHEUS_QUERY_URL", header: "PROMETHEUS_WRITE_HEADERS", tokenFile: "PROMETHEUS_BEARER_TOKEN_FILE"}
)

// BackendFlags adds the flags that name the backend to fs, and returns a function
// that makes the Backend of their values once fs is parsed.
func BackendFlags(fs *flag.FlagSet) func() (Backend, error) {
	s := &BackendSpec{names: flagNames}
	fs.StringVar(&s.WriteURL, "url", "", "remote-write URL of the backend (Prometheus, Mimir, VictoriaMetrics, AMP, ...); empty starts a local Prometheus")
	fs.StringVar(&s.QueryURL, "query-url", "", "base URL of the backend's Prometheus query API (the part before /api/v1/query); derived from -url for AMP, Prometheus, Mimir and VictoriaMetrics")
	fs.Var((*ListFlag)(&s.Headers), "header", `HTTP header "Name: value" sent with every write and query, e.g. -header "X-Scope-OrgID: loadtest" (repeatable)`)
	fs.StringVar(&s.TokenFile, "bearer-token-file", "", "file holding a bearer token sent with every write and query")
	fs.StringVar(&s.Region, "aws-region", "", "sign every write and query with SigV4 (service aps) in this region; for an AMP URL, the workspace's region by default")
	return s.Backend
}

// BackendFromEnv reads the backend of make run from its environment:
// PROMETHEUS_WRITE_URL (empty: a local Prometheus), PROMETHEUS_QUERY_URL,
// PROMETHEUS_WRITE_HEADERS ("Name: value, Other: value"),
// PROMETHEUS_BEARER_TOKEN_FILE, and SIGV4_REGION (sign with SigV4 in this region;
// an AMP URL is signed in AWS_REGION, or else its workspace's region).
func BackendFromEnv() (Backend, error) {
	s := BackendSpec{WriteURL: os.Getenv("PROMETHEUS_WRITE_URL"), QueryURL: os.Getenv("PROMETHEUS_QUERY_URL"),
		TokenFile: os.Getenv("PROMETHEUS_BEARER_TOKEN_FILE"), Region: os.Getenv("SIGV4_REGION"), names: envNames}
	for h := range strings.SplitSeq(os.Getenv("PROMETHEUS_WRITE_HEADERS"), ",") {
		if strings.TrimSpace(h) != "" {
			s.Headers = append(s.Headers, h)
		}
	}
	if u, err := url.Parse(s.WriteURL); err == nil && s.Region == "" && IsAMP(u) {
		s.Region = os.Getenv("AWS_REGION")
	}
	return s.Backend()
}

// Backend checks the spec and makes its Backend; every problem is reported,
// naming the setting and its value.
func (s *BackendSpec) Backend() (Backend, error) {
	n := s.names
	if n == (specNames{}) {
		n = flagNames
	}
	b := Backend{WriteURL: s.WriteURL, QueryURL: s.QueryURL, SigV4Region: s.Region}
	var errs []error
	if b.WriteURL != "" {
		u, err := url.Parse(b.WriteURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL with a host", n.url, b.WriteURL))
		} else if b.SigV4Region == "" {
			b.SigV4Region = AMPRegion(u)
		}
	} else if b.QueryURL != "" {
		errs = append(errs, fmt.Errorf("%s needs %s", n.queryURL, n.url))
	}
	for _, h := range s.Headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"{}[],") {
			errs = append(errs, fmt.Errorf(`%s %q is not "Name: value"`, n.header, headerName(h)))
			continue
		}
		if b.Headers == nil {
			b.Headers = map[string]string{}
		}
		b.Headers[name] = value
	}
	if s.TokenFile != "" {
		token, err := os.ReadFile(s.TokenFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", n.tokenFile, err))
		case strings.TrimSpace(string(token)) == "":
			errs = append(errs, fmt.Errorf("%s %s is empty", n.tokenFile, s.TokenFile))
		}
		b.BearerToken = strings.TrimSpace(string(token))
	}
	if b.WriteURL == "" && (len(b.Headers) > 0 || b.BearerToken != "" || b.SigV4Region != "") {
		errs = append(errs, fmt.Errorf("%s, %s and SigV4 are for a remote backend: they need %s", n.header, n.tokenFile, n.url))
	}
	return b, errors.Join(errs...)
}

// ListFlag collects a repeatable flag.
type ListFlag []string

func (l *ListFlag) String() string { return strings.Join(*l, " ") }

func (l *ListFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// headerName is what an error may show of a malformed header: up to its first
// blank or colon, since what follows may be a credential.
func headerName(h string) string {
	if i := strings.IndexAny(h, " \t:"); i >= 0 {
		return h[:i] + " …"
	}
	return h
}

// DisplayURL is a URL as the runner prints and records it: without a password
// or a query, either of which may carry a credential.
func DisplayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.Redacted()
}

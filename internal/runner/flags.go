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

// BackendFlags adds the flags that name the backend to fs, and returns a function
// that makes the Backend of their values once fs is parsed.
func BackendFlags(fs *flag.FlagSet) func() (Backend, error) {
	writeURL := fs.String("url", "", "remote-write URL of the backend (Prometheus, Mimir, VictoriaMetrics, AMP, ...); empty starts a local Prometheus")
	queryURL := fs.String("query-url", "", "base URL of the backend's Prometheus query API (the part before /api/v1/query); derived from -url for AMP, Prometheus, Mimir and VictoriaMetrics")
	var headers ListFlag
	fs.Var(&headers, "header", `HTTP header "Name: value" sent with every write and query, e.g. -header "X-Scope-OrgID: loadtest" (repeatable)`)
	tokenFile := fs.String("bearer-token-file", "", "file holding a bearer token sent with every write and query")
	region := fs.String("aws-region", "", "sign every write and query with SigV4 (service aps) in this region; for an AMP URL, the workspace's region by default")
	return func() (Backend, error) {
		b := Backend{WriteURL: *writeURL, QueryURL: *queryURL, SigV4Region: *region}
		var errs []error
		if b.WriteURL != "" {
			u, err := url.Parse(b.WriteURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("-url %q is not an http(s) URL with a host", b.WriteURL))
			} else if b.SigV4Region == "" {
				b.SigV4Region = AMPRegion(u)
			}
		} else if b.QueryURL != "" {
			errs = append(errs, errors.New("-query-url needs -url"))
		}
		for _, h := range headers {
			name, value, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(name) == "" {
				errs = append(errs, fmt.Errorf(`-header %q is not "Name: value"`, h))
				continue
			}
			if b.Headers == nil {
				b.Headers = map[string]string{}
			}
			b.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
		if *tokenFile != "" {
			token, err := os.ReadFile(*tokenFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("-bearer-token-file: %w", err))
			}
			b.BearerToken = strings.TrimSpace(string(token))
		}
		return b, errors.Join(errs...)
	}
}

// ListFlag collects a repeatable flag.
type ListFlag []string

func (l *ListFlag) String() string { return strings.Join(*l, " ") }

func (l *ListFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

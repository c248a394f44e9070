// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"net/http"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Access is a request as RBAC authorizes it: a verb on a resource (with its
// subresource, "pods/log") of an API group ("" for the core group).
type Access struct {
	Verb, Group, Resource string
}

// accessOf reads the access a request of a namespaced resource asks for.
func accessOf(r *http.Request) (Access, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var a Access
	switch {
	case len(parts) > 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) > 3 && parts[0] == "apis":
		a.Group, parts = parts[1], parts[3:]
	default:
		return Access{}, false
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return Access{}, false
	}
	a.Resource = parts[0]
	if len(parts) > 2 {
		a.Resource += "/" + parts[2]
	}
	named := len(parts) > 1
	switch {
	case r.Method == http.MethodGet && named:
		a.Verb = "get"
	case r.Method == http.MethodGet && (r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1"):
		a.Verb = "watch"
	case r.Method == http.MethodGet:
		a.Verb = "list"
	case r.Method == http.MethodPost:
		a.Verb = "create"
	case r.Method == http.MethodPatch:
		a.Verb = "patch"
	case r.Method == http.MethodPut:
		a.Verb = "update"
	case r.Method == http.MethodDelete && named:
		a.Verb = "delete"
	case r.Method == http.MethodDelete:
		a.Verb = "deletecollection"
	}
	return a, true
}

// Allows tells whether rules allow an access, as RBAC matches them ("*" any).
func Allows(rules []rbacv1.PolicyRule, a Access) bool {
	has := func(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }
	for _, r := range rules {
		if has(r.APIGroups, a.Group) && has(r.Resources, a.Resource) && has(r.Verbs, a.Verb) {
			return true
		}
	}
	return false
}

// Accesses are the distinct accesses the requests so far asked for.
func (s *Server) Accesses() []Access {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accesses)
}

// recordAccess keeps a request's access.
func (s *Server) recordAccess(r *http.Request) {
	a, ok := accessOf(r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.accesses, a) {
		s.accesses = append(s.accesses, a)
	}
}

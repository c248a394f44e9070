// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e holds the end-to-end tests: they run the built distribution against
// a real Prometheus, as users do, and check what Prometheus stored. `make test`
// builds the distribution and installs Prometheus first.
package e2e

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"testing"

	"go.uber.org/goleak"
)

// The package follows pods and streams logs in goroutines, which the cleanup
// must end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

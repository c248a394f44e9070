// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The stand-in and the engine run goroutines per pod, watch and log: every
// test must end them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

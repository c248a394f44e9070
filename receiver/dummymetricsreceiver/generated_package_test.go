// Written by hand in mdatagen's layout, because mdatagen is not served by the module
// proxy this project builds with.

package dummymetricsreceiver

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

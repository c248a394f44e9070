// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package backend

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOrderedCountsLateSamples(t *testing.T) {
	o := NewOrdered()
	srv := serve(t, o)
	for _, body := range [][]byte{writeBody(t, series("a", 1, 2, 3)), writeBody(t, series("b", 1)), writeBody(t, series("a", 3, 4, 2, 5))} {
		status, _ := post(t, srv.WriteURL, body)
		assert.Equal(t, http.StatusNoContent, status)
	}
	assert.Equal(t, int64(8), o.Samples())
	assert.Equal(t, int64(2), o.OutOfOrder(), "a's 3 again, and its 2 after 4")
	assert.Equal(t, 2, o.Series())
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The addresses FreeAddr hands out are bindable, distinct, and outside the
// ephemeral range from which outgoing connections and port-0 listeners draw.
func TestFreeAddrNeverRepeatsAndAvoidsEphemeralPorts(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		addr, err := FreeAddr()
		require.NoError(t, err)
		require.False(t, seen[addr], "%s handed out twice", addr)
		seen[addr] = true
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		port, err := strconv.Atoi(p)
		require.NoError(t, err)
		require.Less(t, port, 32768, addr)
	}
	addr, err := FreeAddr()
	require.NoError(t, err)
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the address must be free to bind")
	l.Close()
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// envRef is a ${env:NAME} or ${env:NAME:-default} reference of the configuration.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// withDefaults resolves every environment reference of s to its default, as the
// collector does when the variable is not set.
func withDefaults(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(ref string) string { return envRef.FindStringSubmatch(ref)[2] })
}

// listenAddresses walks a configuration tree and returns the value of every key
// that names an address to listen on, by its path: the extensions' endpoint and
// the telemetry readers' host.
func listenAddresses(node any, path string, out map[string]string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			p := path + "::" + k
			if s, ok := v.(string); ok && (k == "endpoint" && strings.HasPrefix(p, "::extensions::") ||
				k == "host" && strings.HasPrefix(p, "::service::telemetry::")) {
				out[p] = withDefaults(s)
			}
			listenAddresses(v, p, out)
		}
	case []any:
		for i, v := range n {
			listenAddresses(v, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func TestWithDefaults(t *testing.T) {
	assert.Equal(t, "127.0.0.1:13133", withDefaults("${env:HEALTH_CHECK_ENDPOINT:-127.0.0.1:13133}"))
	assert.Equal(t, "0.0.0.0:1", withDefaults("${env:A:-0.0.0.0}:${env:B:-1}"))
	assert.Empty(t, withDefaults("${env:AWS_REGION:-}"))
	assert.Empty(t, withDefaults("${env:NO_DEFAULT}"))
	assert.False(t, isLoopbackHost(""), "an empty host listens on every interface")
	assert.False(t, isLoopbackHost("0.0.0.0"))
	assert.True(t, isLoopbackHost("::1"))
}

// TestShippedEndpointsListenOnLoopback reads the shipped configuration files and
// checks that, with no variable set, the health check, pprof, zPages and the
// telemetry endpoint listen on the loopback interface only.
func TestShippedEndpointsListenOnLoopback(t *testing.T) {
	found := map[string]string{}
	for _, name := range []string{"collector-config.yaml", "collector-config-zpages.yaml", "collector-config-amp.yaml"} {
		b, err := os.ReadFile(shippedConfig(t, name))
		require.NoError(t, err)
		var tree map[string]any
		require.NoError(t, yaml.Unmarshal(b, &tree), name)
		addresses := map[string]string{}
		listenAddresses(tree, "", addresses)
		for p, addr := range addresses {
			found[name+" "+p] = addr
		}
	}
	// The walk found what it must: a change of layout cannot make the test vacuous.
	paths := make([]string, 0, len(found))
	for p := range found {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	require.Equal(t, []string{
		"collector-config-zpages.yaml ::extensions::zpages::endpoint",
		"collector-config.yaml ::extensions::health_check::endpoint",
		"collector-config.yaml ::extensions::pprof::endpoint",
		"collector-config.yaml ::service::telemetry::metrics::readers[0]::pull::exporter::prometheus::host",
	}, paths)
	for p, addr := range found {
		host := addr
		if h, _, err := net.SplitHostPort(addr); err == nil {
			host = h
		}
		assert.True(t, isLoopbackHost(host), "%s listens on %q by default", p, addr)
	}
}

// TestCollectorListensOnLoopbackOnly runs the collector with the shipped
// configuration and the zPages overlay and checks every socket it listens on: all
// are on the loopback interface, the telemetry one at its configured default host.
func TestCollectorListensOnLoopbackOnly(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("needs Linux /proc")
	}
	prom := startPrometheus(t, runner.PrometheusOptions{})
	zpagesAddr, err := runner.FreeAddr()
	require.NoError(t, err)
	col := startCollector(t, map[string]string{
		"PROMETHEUS_WRITE_URL": prom.WriteURL,
		// A free port: the default one may be taken on a shared machine.
		"ZPAGES_ENDPOINT": zpagesAddr,
	}, shippedConfig(t, "collector-config.yaml"), shippedConfig(t, "collector-config-zpages.yaml"))

	listening := listeningSockets(t, col.Pid())
	// health check, pprof, zPages, telemetry
	require.GreaterOrEqual(t, len(listening), 4, "%v", listening)
	for _, addr := range listening {
		host, _, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		assert.True(t, isLoopbackHost(host), "the collector listens on %s", addr)
	}
}

// listeningSockets returns the addresses of the TCP sockets pid listens on.
func listeningSockets(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		require.NoError(t, err)
		scanner := bufio.NewScanner(f)
		scanner.Scan() // header
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			const listen = "0A"
			if len(fields) < 10 || fields[3] != listen || !inodes[fields[9]] {
				continue
			}
			out = append(out, procAddress(t, fields[1]))
		}
		f.Close()
	}
	return out
}

// procAddress decodes an address of /proc/net/tcp{,6}: the IP as 32-bit words in
// host (little-endian) order, then the port, in hex.
func procAddress(t *testing.T, s string) string {
	t.Helper()
	ipHex, portHex, ok := strings.Cut(s, ":")
	require.True(t, ok, s)
	raw, err := hex.DecodeString(ipHex)
	require.NoError(t, err, s)
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	require.NoError(t, err, s)
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}

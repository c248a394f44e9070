// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package dummymetricsreceiver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestEachWorkerPassesItsShardAsClientMetadata(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	var mu sync.Mutex
	shardOf := map[string][]string{} // InstanceId → the metadata of each payload that held it
	next, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		shard := client.FromContext(ctx).Metadata.Get(ShardMetadataKey)
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, p := range flatten(md) {
			if !seen[p.instance] {
				seen[p.instance] = true
				shardOf[p.instance] = append(shardOf[p.instance], shard...)
			}
		}
		return nil
	})
	require.NoError(t, err)
	// Each of the three workers emits once, then pauses.
	cfg := &Config{InstanceIDLocation: InstanceIDOnDataPoint, Instances: 3, Parallelism: 3, MinSamplesPerSeries: 2, MaxSamplesPerSeries: 10, Pause: time.Hour}
	rcv := startReceiver(t, cfg, next, tel)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(shardOf) == 3
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))

	// Worker k owns instance k here.
	assert.Equal(t, map[string][]string{"I0000000000": {"0"}, "I0000000001": {"1"}, "I0000000002": {"2"}}, shardOf)
}

//go:build unix

package gateway

// Delivery throughput on a 3-node R3 JetStream cluster beside the
// embedded single node, in one run:
//
//	go test -run '^$' -bench DeliverCluster -benchtime 5000x -count 3 ./engine/gateway/
//
// embedded is BenchmarkDeliver/gateway at c=64; cluster-r3/gateways=1 and
// =2 deliver the same postbacks through the sample cluster of
// examples/cluster (three nats-servers in this process) with one and two
// gateway instances consuming the same durable consumers. Everything runs
// in the one test process: on a 2-core machine the three servers, the
// gateways and the sink share two cores, so two instances can only show
// what is left once the cluster's replication has its share (see the
// cpu-us/postback metric).

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func BenchmarkDeliverCluster(b *testing.B) {
	const c = 64
	b.Run("embedded", func(b *testing.B) { benchGatewayDeliver(b, c) })
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("cluster-r3/gateways=%d", n), func(b *testing.B) { benchClusterDeliver(b, c, n) })
	}
}

// benchClusterDeliver enqueues b.N postbacks through the first gateway's
// ingest handler, then times n gateways delivering them. Each run starts
// a fresh cluster: the event ids repeat between runs, and the duplicate
// window would drop them.
func benchClusterDeliver(b *testing.B, concurrency, n int) {
	const token = "bench-cluster-token"
	cl := startSampleCluster(b, token)
	queueCfg := clusterQueueYAML(b, cl, token)
	sk, host := benchSink(b)
	var gws []*Server
	for range n {
		gws = append(gws, benchServer(b, host, concurrency, func(c string) string {
			return strings.Replace(c, "limits:\n", queueCfg+"limits:\n", 1)
		}))
	}
	api := httptest.NewServer(gws[0].Handler())
	defer api.Close()
	evs := benchEvents(b.N)
	postBatches(b, api.URL, evs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, n)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	for _, s := range gws {
		go func() { done <- s.Run(ctx) }()
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	if _, err := sk.Wait(wctx, b.N); err != nil {
		b.Fatalf("waiting for %d postbacks: %v (sink has %d)", b.N, err, sk.Count())
	}
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	wcancel()
	cancel()
	for range gws {
		<-done
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "postbacks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/postback")
}

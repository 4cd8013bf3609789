package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkQueueThroughput measures enqueue-to-ack with a handler that
// does no I/O: the queue's own ceiling. 4 partners, 8 in flight each.
func BenchmarkQueueThroughput(b *testing.B) {
	ctx := context.Background()
	q, err := Open(ctx, Config{DataDir: b.TempDir(), DiscoverEvery: 100 * time.Millisecond, Workers: 8}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	var done atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	h := HandlerFunc(func(context.Context, Job, int) Outcome {
		if done.Add(1) == n {
			close(all)
		}
		return Delivered()
	})
	rctx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = q.Run(rctx, h)
	}()
	defer func() { stop(); <-ran }()
	jobs := make([]Job, b.N)
	for i := range jobs {
		jobs[i] = job("bench", fmt.Sprintf("p%d", i%4), fmt.Sprintf("b%d", i))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(jobs); i += 100 {
		if err := q.Enqueue(ctx, jobs[i:min(i+100, len(jobs))]...); err != nil {
			b.Fatal(err)
		}
	}
	<-all
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

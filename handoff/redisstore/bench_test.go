package redisstore_test

import (
	"context"
	"testing"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

// See handofftest.Bench* for what the benchmarks measure.

func BenchmarkCreateTicket(b *testing.B) {
	handofftest.BenchCreateTicket(b, mustBenchStore(b))
}

func BenchmarkAppendMessages(b *testing.B) {
	handofftest.BenchAppendMessages(b, mustBenchStore(b))
}

func BenchmarkQueuePosition(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueuePosition(b, s, func(ts []*handoff.Ticket) error {
		return redisstore.CreateTickets(context.Background(), s, ts)
	})
}

func BenchmarkQueueLength(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueueLength(b, s, func(ts []*handoff.Ticket) error {
		return redisstore.CreateTickets(context.Background(), s, ts)
	})
}

func mustBenchStore(b *testing.B) *redisstore.Store {
	rdb, prefix := redistest.Client(b)
	return redisstore.New(rdb, prefix)
}

func BenchmarkQueueClaim(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueueClaim(b, s, func(ts []*handoff.Ticket) error {
		return redisstore.CreateTickets(context.Background(), s, ts)
	})
}

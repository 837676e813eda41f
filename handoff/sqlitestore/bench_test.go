package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// The benchmarks run on a database file, as `kefu serve` does; see
// handofftest.Bench* for what they measure.

func BenchmarkCreateTicket(b *testing.B) {
	handofftest.BenchCreateTicket(b, mustBenchStore(b))
}

func BenchmarkCreateTicketParallel(b *testing.B) {
	handofftest.BenchCreateTicketParallel(b, mustBenchStore(b))
}

func BenchmarkHandoffParallel(b *testing.B) {
	handofftest.BenchHandoffParallel(b, mustBenchStore(b))
}

func BenchmarkAppendMessages(b *testing.B) {
	handofftest.BenchAppendMessages(b, mustBenchStore(b))
}

func BenchmarkQueuePosition(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueuePosition(b, s, func(ts []*handoff.Ticket) error {
		return sqlitestore.CreateTickets(context.Background(), s, ts)
	})
}

func BenchmarkQueueLength(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueueLength(b, s, func(ts []*handoff.Ticket) error {
		return sqlitestore.CreateTickets(context.Background(), s, ts)
	})
}

func mustBenchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	db, err := sqlitedb.Open(filepath.Join(b.TempDir(), "kefu.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return mustStore(b, func() (*sql.DB, error) { return db, nil })
}

func BenchmarkQueueClaim(b *testing.B) {
	s := mustBenchStore(b)
	handofftest.BenchQueueClaim(b, s, func(ts []*handoff.Ticket) error {
		return sqlitestore.CreateTickets(context.Background(), s, ts)
	})
}

package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// BenchmarkCreateTicket measures opening a ticket with a short transcript,
// and BenchmarkAppendMessages adding one message to it.
func BenchmarkCreateTicket(b *testing.B) {
	s := mustBenchStore(b)
	ctx := context.Background()
	now := time.Now()
	for b.Loop() {
		t := &handoff.Ticket{OpenID: "o-1", Lane: "normal", Reasons: []string{"user_request"}, Status: handoff.StatusClosed,
			CreatedAt: now, UpdatedAt: now, Messages: []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: "转人工", At: now}}}
		if err := s.CreateTicket(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessages(b *testing.B) {
	s := mustBenchStore(b)
	ctx := context.Background()
	now := time.Now()
	t := &handoff.Ticket{OpenID: "o-1", Lane: "normal", Status: handoff.StatusQueued, CreatedAt: now}
	if err := s.CreateTicket(ctx, t); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if i%50 == 0 { // a new ticket now and then, so the transcript stays short
			t = &handoff.Ticket{OpenID: "o-1", Lane: "normal", Status: handoff.StatusQueued, CreatedAt: now}
			if err := s.CreateTicket(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.AppendMessages(ctx, t.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "还在吗？", At: now}); err != nil {
			b.Fatal(err)
		}
	}
}

func mustBenchStore(b *testing.B) handoff.Store {
	b.Helper()
	db, err := sqlitedb.Open(filepath.Join(b.TempDir(), "kefu.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return mustStore(b, func() (*sql.DB, error) { return db, nil })
}

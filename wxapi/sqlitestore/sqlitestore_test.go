package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/quotatest"
	"github.com/kefuhq/kefu/wxapi/sqlitestore"
	"github.com/kefuhq/kefu/wxapi/tokentest"
)

func TestTokenCache(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		tokentest.TestTokenCache(t, func(t *testing.T, now func() time.Time) wxapi.TokenCache {
			return mustStore(t, now, func() (*sql.DB, error) { return sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db")) })
		})
	})
	t.Run("Memory", func(t *testing.T) {
		tokentest.TestTokenCache(t, func(t *testing.T, now func() time.Time) wxapi.TokenCache {
			return mustStore(t, now, sqlitedb.OpenMemory)
		})
	})
}

func mustStore(t *testing.T, now func() time.Time, open func() (*sql.DB, error)) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(mustOpen(t, open))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Now = now
	return s
}

func TestQuota(t *testing.T) {
	// Two *sql.DB on one file, as two processes would be.
	t.Run("File", func(t *testing.T) {
		quotatest.TestQuota(t, func(t *testing.T) func(now func() time.Time) wxapi.QuotaStates {
			path := filepath.Join(t.TempDir(), "kefu.db")
			return func(now func() time.Time) wxapi.QuotaStates {
				return mustStore(t, now, func() (*sql.DB, error) { return sqlitedb.Open(path) })
			}
		})
	})
	t.Run("Memory", func(t *testing.T) {
		quotatest.TestQuota(t, func(t *testing.T) func(now func() time.Time) wxapi.QuotaStates {
			db := mustOpen(t, sqlitedb.OpenMemory)
			return func(now func() time.Time) wxapi.QuotaStates {
				return mustStore(t, now, func() (*sql.DB, error) { return db, nil })
			}
		})
	})
}

func TestDeleteExpiredQuotas(t *testing.T) {
	clk := clocktest.NewNear()
	s := mustStore(t, clk.Now, sqlitedb.OpenMemory)
	q, err := wxapi.NewTracker(s, wxapi.QuotaLimits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, kind := range []wxapi.InteractionKind{wxapi.InteractionMessage, wxapi.InteractionEvent} {
		if err := q.Interaction(ctx, "o_user"+strconv.Itoa(i), kind, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if n, err := s.DeleteExpiredQuotas(ctx); n != 1 || err != nil {
		t.Fatalf("DeleteExpiredQuotas = %d, %v; want the event's row", n, err)
	}
	if a, err := q.Peek(ctx, "o_user0", clk.Now()); err != nil || a.Remaining != 5 {
		t.Fatalf("Peek = %+v, %v; want the message grant kept", a, err)
	}
}

func mustOpen(t *testing.T, open func() (*sql.DB, error)) *sql.DB {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

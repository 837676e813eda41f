package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/sqlitestore"
	"github.com/kefuhq/kefu/bot/storetest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func TestSessionStore(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
			return mustStore(t, mustOpen(t), sqlitestore.DefaultCacheSize)
		})
	})
	t.Run("Memory", func(t *testing.T) {
		storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
			return mustStore(t, mustOpenMemory(t), sqlitestore.DefaultCacheSize)
		})
	})
	t.Run("NoCache", func(t *testing.T) {
		storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
			return mustStore(t, mustOpenMemory(t), 0)
		})
	})
	t.Run("TinyCache", func(t *testing.T) {
		storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
			return mustStore(t, mustOpenMemory(t), 1)
		})
	})
}

func TestDeduper(t *testing.T) {
	storetest.TestDeduper(t, func(t *testing.T, now func() time.Time) bot.Deduper {
		return sqlitestore.NewDeduper(now)
	})
}

func TestLocker(t *testing.T) {
	storetest.TestLocker(t, func(t *testing.T) bot.Locker { return sqlitestore.NewLocker() })
}

func mustOpen(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sqlitedb.Open(filepath.Join(tb.TempDir(), "data", "kefu.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustOpenMemory(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustStore(tb testing.TB, db *sql.DB, cache int) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.NewWithCache(db, cache)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

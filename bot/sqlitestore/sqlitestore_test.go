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
	for _, tc := range []struct {
		name  string
		open  func(testing.TB) *sql.DB
		cache int
		delay time.Duration
	}{
		{"File", mustOpen, sqlitestore.DefaultCacheSize, sqlitestore.DefaultWriteDelay},
		{"Memory", mustOpenMemory, sqlitestore.DefaultCacheSize, sqlitestore.DefaultWriteDelay},
		{"NoCache", mustOpenMemory, 0, sqlitestore.DefaultWriteDelay},
		{"TinyCache", mustOpenMemory, 1, sqlitestore.DefaultWriteDelay},
		{"WriteThrough", mustOpen, sqlitestore.DefaultCacheSize, 0},
		{"WriteThroughNoCache", mustOpenMemory, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
				return mustStore(t, tc.open(t), tc.cache, tc.delay)
			})
		})
	}
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

func mustStore(tb testing.TB, db *sql.DB, cache int, delay time.Duration) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.NewWithOptions(db, sqlitestore.Options{CacheSize: cache, WriteDelay: delay})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

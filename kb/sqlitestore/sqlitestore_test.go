package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbtest"
	"github.com/kefuhq/kefu/kb/sqlitestore"
)

func TestStore(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		kbtest.TestStore(t, func(t *testing.T) kb.Store {
			return mustStore(t, mustDB(t, func() (*sql.DB, error) { return sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db")) }))
		})
	})
	t.Run("Memory", func(t *testing.T) {
		kbtest.TestStore(t, func(t *testing.T) kb.Store { return mustStore(t, mustDB(t, sqlitedb.OpenMemory)) })
	})
}

func TestNotifier(t *testing.T) {
	kbtest.TestNotifier(t, func(t *testing.T) (kb.Notifier, kb.Notifier) {
		n := kb.NewLocalNotifier()
		return n, n
	})
}

// TestWatch: two instances in one process share the database and the
// LocalNotifier.
func TestWatch(t *testing.T) {
	kbtest.TestWatch(t, func(t *testing.T) (kbtest.Instance, kbtest.Instance) {
		db := mustDB(t, sqlitedb.OpenMemory)
		n := kb.NewLocalNotifier()
		return kbtest.Instance{Store: mustStore(t, db), Notifier: n}, kbtest.Instance{Store: mustStore(t, db), Notifier: n}
	})
}

// TestWatchPoll: a second process on the same file cannot notify this one;
// Watch polls.
func TestWatchPoll(t *testing.T) {
	kbtest.TestWatchPoll(t, func(t *testing.T) (kbtest.Instance, kbtest.Instance) {
		path := filepath.Join(t.TempDir(), "kefu.db")
		open := func() (*sql.DB, error) { return sqlitedb.Open(path) }
		return kbtest.Instance{Store: mustStore(t, mustDB(t, open))}, kbtest.Instance{Store: mustStore(t, mustDB(t, open))}
	})
}

func TestMigrateTwice(t *testing.T) {
	db := mustDB(t, sqlitedb.OpenMemory)
	mustStore(t, db)
	mustStore(t, db)
}

func mustDB(t testing.TB, open func() (*sql.DB, error)) *sql.DB {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustStore(t testing.TB, db *sql.DB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

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

func TestStore(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store {
			return mustStore(t, func() (*sql.DB, error) { return sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db")) })
		})
	})
	t.Run("Memory", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store { return mustStore(t, sqlitedb.OpenMemory) })
	})
	// The suite's lanes are short: with the default limit QueuePosition
	// always counts the tickets behind. With a limit of 2 it counts those
	// ahead for all but the last two of a lane, so the suite takes both
	// ways.
	t.Run("BehindLimit2", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store {
			s := mustStore(t, sqlitedb.OpenMemory)
			sqlitestore.SetBehindLimit(s, 2)
			return s
		})
	})
}

// mustStore returns a Store on the database open returns, closed when the
// test ends, when it is also checked that handoff_queue_counts holds the
// length of every lane's queue.
func mustStore(t testing.TB, open func() (*sql.DB, error)) *sqlitestore.Store {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return mustStoreOn(t, db)
}

// mustStoreOn returns a Store on db, checked and closed as by mustStore;
// db stays open.
func mustStoreOn(t testing.TB, db *sql.DB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	t.Cleanup(func() {
		counts, err := sqlitestore.RecountQueues(context.Background(), s)
		if err != nil {
			t.Errorf("recounting the queues: %v", err)
		}
		for lane, c := range counts {
			if c[0] != c[1] {
				t.Errorf("handoff_queue_counts: lane %s has n = %d, and %d queued tickets", lane, c[0], c[1])
			}
		}
	})
	return s
}

func TestAgentOps(t *testing.T) { handofftest.TestAgentOps(t, twoStores) }

func TestService(t *testing.T) { handofftest.TestService(t, twoStores) }

// twoStores returns two Stores on one new database file, as two services
// of one process would have.
func twoStores(t *testing.T) [2]handoff.Store {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return [2]handoff.Store{mustStoreOn(t, db), mustStoreOn(t, db)}
}

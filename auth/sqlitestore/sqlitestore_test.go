package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/authtest"
	"github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func TestStore(t *testing.T) {
	// Each store opens the file anew, as two kefu processes would.
	t.Run("File", func(t *testing.T) {
		authtest.TestStore(t, func(t *testing.T) authtest.Open {
			path := filepath.Join(t.TempDir(), "kefu.db")
			return func(now func() time.Time) auth.Store {
				return mustStore(t, now, mustDB(t, func() (*sql.DB, error) { return sqlitedb.Open(path) }))
			}
		})
	})
	t.Run("Memory", func(t *testing.T) {
		authtest.TestStore(t, func(t *testing.T) authtest.Open {
			db := mustDB(t, sqlitedb.OpenMemory)
			return func(now func() time.Time) auth.Store { return mustStore(t, now, db) }
		})
	})
}

func mustDB(t *testing.T, open func() (*sql.DB, error)) *sql.DB {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustStore(t *testing.T, now func() time.Time, db *sql.DB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = now
	return s
}

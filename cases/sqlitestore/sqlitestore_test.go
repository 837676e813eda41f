package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/cases/casestest"
	"github.com/kefuhq/kefu/cases/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func TestStore(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		casestest.TestStore(t, func(t *testing.T) cases.Store {
			return mustStore(t, mustDB(t, func() (*sql.DB, error) { return sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db")) }))
		})
	})
	t.Run("Memory", func(t *testing.T) {
		casestest.TestStore(t, func(t *testing.T) cases.Store { return mustStore(t, mustDB(t, sqlitedb.OpenMemory)) })
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

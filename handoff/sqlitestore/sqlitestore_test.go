package sqlitestore_test

import (
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
}

func mustStore(t testing.TB, open func() (*sql.DB, error)) *sqlitestore.Store {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

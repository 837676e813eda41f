package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
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
	s.Now = now
	return s
}

package sqlitedb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func TestOpen(t *testing.T) {
	// A parent directory that does not exist yet, with a space, non-ASCII
	// letters and URI characters in the path.
	path := filepath.Join(t.TempDir(), "数据 dir", "a?b#c%20", "kefu.db")
	db := mustOpen(t, path)
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %s: %v", path, err)
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "1", // NORMAL
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		var got string
		if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if n := db.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
	db.Close()

	// Reopened, the data is still there.
	db = mustOpen(t, path)
	if _, err := db.Exec(`INSERT INTO t (x) VALUES (1)`); err != nil {
		t.Errorf("table lost after reopening: %v", err)
	}
}

func TestOpenErrEmptyPath(t *testing.T) {
	if db, err := sqlitedb.Open(""); err == nil {
		db.Close()
		t.Fatal("Open(\"\"): err = nil")
	}
}

func TestOpenMemory(t *testing.T) {
	a, b := mustOpenMemory(t), mustOpenMemory(t)
	if _, err := a.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Errorf("two in-memory databases share tables: %v", err)
	}
	var fk int
	if err := a.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("PRAGMA foreign_keys = %d, %v; want 1", fk, err)
	}
}

// TestConcurrentTransactions runs read-modify-write transactions from many
// goroutines: with one connection and BEGIN IMMEDIATE none fails as busy
// and no increment is lost.
func TestConcurrentTransactions(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "kefu.db"))
	if _, err := db.Exec(`CREATE TABLE c (n INTEGER NOT NULL); INSERT INTO c VALUES (0)`); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := increment(db); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var n int
	if err := db.QueryRow(`SELECT n FROM c`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Errorf("n = %d, want %d", n, workers*each)
	}
}

func increment(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT n FROM c`).Scan(&n); err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE c SET n = ?`, n+1); err != nil {
		return err
	}
	return tx.Commit()
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := mustOpenMemory(t)
	v1 := []string{`CREATE TABLE a (x INTEGER); CREATE INDEX a_x ON a (x)`}
	v2 := append(v1, `ALTER TABLE a ADD COLUMN y TEXT`)

	if err := sqlitedb.Migrate(ctx, db, "test.a", v1...); err != nil {
		t.Fatalf("first migration: %v", err)
	}
	if err := sqlitedb.Migrate(ctx, db, "test.a", v1...); err != nil {
		t.Fatalf("same migrations again: %v", err)
	}
	if err := sqlitedb.Migrate(ctx, db, "test.a", v2...); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO a (x, y) VALUES (1, 'y')`); err != nil {
		t.Errorf("upgraded table: %v", err)
	}
	if err := sqlitedb.Migrate(ctx, db, "test.a", v1...); err == nil {
		t.Errorf("downgrade: err = nil")
	}
	// Components count their versions apart.
	if err := sqlitedb.Migrate(ctx, db, "test.b", `CREATE TABLE b (x INTEGER)`); err != nil {
		t.Errorf("second component: %v", err)
	}
	var v int
	if err := db.QueryRow(`SELECT version FROM schema_versions WHERE component = 'test.a'`).Scan(&v); err != nil || v != 2 {
		t.Errorf("test.a at version %d, %v; want 2", v, err)
	}

	// A failing migration changes nothing.
	bad := append(v2, `CREATE TABLE c (x INTEGER)`, `NOT SQL`)
	if err := sqlitedb.Migrate(ctx, db, "test.a", bad...); err == nil {
		t.Fatal("bad migration: err = nil")
	}
	if _, err := db.Exec(`SELECT * FROM c`); err == nil {
		t.Errorf("a failed migration left table c behind")
	}
	if err := db.QueryRow(`SELECT version FROM schema_versions WHERE component = 'test.a'`).Scan(&v); err != nil || v != 2 {
		t.Errorf("after a failed migration test.a is at version %d, %v; want 2", v, err)
	}
}

func mustOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustOpenMemory(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

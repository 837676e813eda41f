package sqlitedb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// TestCheckpointer writes through one connection while the Checkpointer
// copies the WAL from its own: the writer never checkpoints (its safety
// net is far away), yet the WAL is copied and starts over, and every row
// is in the database file once the WAL is gone.
func TestCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kefu.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cp, err := sqlitedb.StartCheckpointer(db, path, time.Hour, nil) // rounds run by hand below
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 3000) // about a page a row
	write := func(from, to int) {
		for k := from; k < to; k++ {
			if _, err := db.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, k, pad); err != nil {
				t.Fatal(err)
			}
		}
	}
	walSize := func() int64 {
		st, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	write(0, 1500) // past SQLite's default of 1,000 pages
	grown := walSize()
	if grown < 1400*4096 {
		t.Fatalf("WAL holds %d bytes after 1,500 pages: the writer checkpointed itself", grown)
	}
	if left, err := cp.Checkpoint(context.Background()); err != nil || left != 0 {
		t.Fatalf("Checkpoint = %d frames left, %v; want 0", left, err)
	}
	write(1500, 1600) // the writer starts the WAL over: it stops growing
	if size := walSize(); size > grown {
		t.Errorf("WAL grew from %d to %d bytes after a full checkpoint", grown, size)
	}
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // the last connection: checkpoints, removes the WAL
		t.Fatal(err)
	}
	again, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var n int
	if err := again.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1600 {
		t.Errorf("rows = %d, %v; want 1600", n, err)
	}
}

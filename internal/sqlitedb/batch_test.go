package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// TestBatcher runs many writers at once, some failing: every write that
// succeeds is committed, every one that fails leaves no row, whatever
// batch it shared.
func TestBatcher(t *testing.T) {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	b := sqlitedb.NewBatcher(db)
	ctx := context.Background()
	errOdd := errors.New("odd keys fail after writing")
	var wg sync.WaitGroup
	for k := range 200 {
		wg.Go(func() {
			err := b.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, k, fmt.Sprint("v", k)); err != nil {
					return err
				}
				if k%2 == 1 {
					return errOdd
				}
				return nil
			})
			if k%2 == 1 && !errors.Is(err, errOdd) || k%2 == 0 && err != nil {
				t.Errorf("Do(%d) = %v", k, err)
			}
		})
	}
	wg.Wait()
	var n, odd int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE k % 2 = 1) FROM t`).Scan(&n, &odd); err != nil {
		t.Fatal(err)
	}
	if n != 100 || odd != 0 {
		t.Errorf("table holds %d rows, %d of them odd; want 100 even rows", n, odd)
	}

	// A statement error inside a call undoes only that call too.
	if err := b.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (0, 'taken')`)
		return err
	}); err == nil {
		t.Error("duplicate key: no error")
	}

	// A call whose context has ended does not run.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := b.Do(canceled, func(context.Context, *sql.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("canceled call: err %v, ran %v", err, ran)
	}
}

package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// batchFixture is a Batcher on a fresh database file with a table t, and a
// call holding the Batcher busy until release is closed.
func batchFixture(t *testing.T) (b *Batcher, db *sql.DB, release chan struct{}) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	b, release = NewBatcher(db), make(chan struct{})
	busy := make(chan struct{})
	go b.Do(context.Background(), func(context.Context, *sql.Tx) error {
		close(busy)
		<-release
		return nil
	})
	<-busy
	return b, db, release
}

// waitPending waits until n calls wait for the next batch.
func (b *Batcher) waitPending(n int) {
	for {
		b.mu.Lock()
		p := len(b.pending)
		b.mu.Unlock()
		if p == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func insert(k int) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, 'v')`, k)
		return err
	}
}

func rows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBatcherCallerGoesAway: a caller whose ctx ends while its function
// runs interrupts nothing, so the other calls of the batch are kept.
func TestBatcherCallerGoesAway(t *testing.T) {
	b, db, release := batchFixture(t)
	errA := make(chan error, 1)
	go func() { errA <- b.Do(context.Background(), insert(1)) }()
	b.waitPending(1)
	ctxB, cancelB := context.WithCancel(context.Background())
	errB := make(chan error, 1)
	go func() {
		errB <- b.Do(ctxB, func(ctx context.Context, tx *sql.Tx) error {
			cancelB() // the client disconnects mid-call
			return insert(2)(ctx, tx)
		})
	}()
	b.waitPending(2)
	close(release)
	if err := <-errA; err != nil {
		t.Errorf("A: %v", err)
	}
	if err := <-errB; err != nil {
		t.Errorf("B, gone mid-call: %v", err)
	}
	if n := rows(t, db); n != 2 {
		t.Errorf("table holds %d rows, want 2", n)
	}
}

// TestBatcherDeadlineWhileQueued: a call whose ctx ends while it waits for
// its batch returns at once, and its function never runs.
func TestBatcherDeadlineWhileQueued(t *testing.T) {
	b, db, release := batchFixture(t)
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.Do(ctx, insert(1))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("Do = %v after %v; want the deadline's error within a second", err, time.Since(start))
	}
	b.waitPending(0)
	_ = db
}

// TestBatcherPanic: a function that panics fails alone.
func TestBatcherPanic(t *testing.T) {
	b, db, release := batchFixture(t)
	errs := make(chan error, 2)
	go func() { errs <- b.Do(context.Background(), insert(1)) }()
	b.waitPending(1)
	go func() {
		errs <- b.Do(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(2)(ctx, tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	b.waitPending(2)
	close(release)
	var failed int
	for range 2 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if n := rows(t, db); failed != 1 || n != 1 {
		t.Errorf("%d calls failed, table holds %d rows; want 1 and 1", failed, n)
	}
}

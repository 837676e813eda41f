package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Batcher runs the write transactions of concurrent callers as one SQLite
// transaction (group commit). A commit costs the same whether it holds one
// caller's rows or twenty: a WAL frame per changed page, the locks and
// the system calls around them, and pages that several callers change
// (the right edge of an index on time or sequence, a counter row) are
// written once. Under load the callers waiting while one transaction is
// written are batched into the next.
//
// Each call runs behind its own savepoint, so an error undoes only that
// call's statements. The functions run one after another on the Batcher's
// goroutine, never at once.
type Batcher struct {
	db      *sql.DB
	mu      sync.Mutex
	pending []*batchJob
	running bool // a goroutine is writing batches
}

type batchJob struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

// NewBatcher returns a Batcher writing to db.
func NewBatcher(db *sql.DB) *Batcher {
	return &Batcher{db: db}
}

// Do runs fn in a transaction shared with the calls made meanwhile and
// returns once that transaction is committed or rolled back: fn's error,
// or the transaction's, or nil when fn's statements are committed. fn runs
// on another goroutine; it must use only tx (never the *sql.DB, which the
// transaction holds), must not commit or roll it back, and should not
// block: the other calls in the batch wait for it. A call whose ctx ends
// before its turn is skipped with ctx's error; one that has run is waited
// for.
func (b *Batcher) Do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	j := &batchJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, j)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-j.done
	return j.err
}

// loop writes batches until no call waits.
func (b *Batcher) loop() {
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(batch)
		for _, j := range batch {
			close(j.done)
		}
	}
}

// run writes one batch in one transaction.
func (b *Batcher) run(batch []*batchJob) {
	ctx := context.Background() // the batch outlives any one caller
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("sqlitedb: begin: %w", err)
		}
		return
	}
	defer tx.Rollback()
	ran := false
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if len(batch) == 1 {
			j.err = j.fn(tx)
			ran = j.err == nil
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batch_job`); err != nil {
			j.err = fmt.Errorf("sqlitedb: savepoint: %w", err)
			continue
		}
		if j.err = j.fn(tx); j.err != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch_job`); err != nil {
				// The transaction is in an unknown state: undo it all.
				for _, k := range batch {
					if k.err == nil {
						k.err = fmt.Errorf("sqlitedb: rollback to savepoint: %w", err)
					}
				}
				return
			}
		} else {
			ran = true
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batch_job`); err != nil {
			for _, k := range batch {
				if k.err == nil {
					k.err = fmt.Errorf("sqlitedb: release savepoint: %w", err)
				}
			}
			return
		}
	}
	if !ran {
		return // nothing to keep: rolled back
	}
	if err := tx.Commit(); err != nil {
		for _, j := range batch {
			if j.err == nil {
				j.err = fmt.Errorf("sqlitedb: commit: %w", err)
			}
		}
	}
}

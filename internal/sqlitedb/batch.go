package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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
// When a call of a batch fails, the batch runs again with each call behind
// its own savepoint, so an error a call returns undoes only its statements
// (see run). An error after which
// SQLite gives up the whole transaction (a full disk, an I/O error) fails
// every call of the batch. The functions run one after another on the
// Batcher's goroutine, never at once.
type Batcher struct {
	db      *sql.DB
	mu      sync.Mutex
	pending []*batchJob
	running bool // a goroutine is writing batches
}

type batchJob struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *sql.Tx) error
	taken bool // in a batch: it will run, or fail with the batch
	err   error
	done  chan struct{}
}

// NewBatcher returns a Batcher writing to db.
func NewBatcher(db *sql.DB) *Batcher {
	return &Batcher{db: db}
}

// Do runs fn in a transaction shared with the calls made meanwhile and
// returns once that transaction is committed or rolled back: fn's error,
// or the batch's, or nil when fn's statements are committed. fn runs on
// another goroutine with a context that carries ctx's values but not its
// end (interrupting a statement would roll back the other calls' work
// too); it must use only tx (never the *sql.DB, which the transaction
// holds), must not commit or roll it back, may run twice (when another
// call of its batch fails; see run), and should not block: the
// other calls in the batch wait for it. When ctx ends before fn's batch
// starts, Do returns ctx's error and fn never runs; once it has started,
// Do waits for it.
func (b *Batcher) Do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &batchJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, j)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !j.taken {
		b.pending = slices.DeleteFunc(b.pending, func(k *batchJob) bool { return k == j })
		b.mu.Unlock()
		return ctx.Err()
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
		for _, j := range batch {
			j.taken = true
		}
		b.mu.Unlock()
		b.run(batch)
		for _, j := range batch {
			close(j.done)
		}
	}
}

// run writes one batch in one transaction. It first runs the calls one
// after another as they are; only when one of them fails (rare: a
// compare-and-swap lost, a constraint) does it roll back and start again
// with each call behind its own savepoint, since the failed call may have
// left half its statements. Savepoints on every batch would cost two
// statements per call and a copy of each page in the statement journal.
// A call may so run twice; it only ever sees its transaction.
func (b *Batcher) run(batch []*batchJob) {
	ctx := context.Background() // the batch outlives any one caller
	failAll := func(err error) {
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
		}
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		failAll(fmt.Errorf("sqlitedb: batch: begin: %w", err))
		return
	}
	defer func() {
		if tx != nil {
			tx.Rollback() // after a commit, a no-op
		}
	}()
	failed := false
	for _, j := range batch {
		if call(j, tx) != nil {
			failed = true
			break
		}
	}
	if !failed {
		if err := tx.Commit(); err != nil {
			failAll(fmt.Errorf("sqlitedb: batch: commit: %w", err))
		}
		return
	}
	if len(batch) == 1 {
		return // its error is recorded; nothing to keep
	}
	if err := tx.Rollback(); err != nil {
		failAll(fmt.Errorf("sqlitedb: batch: roll back: %w", err))
		return
	}
	for _, j := range batch {
		j.err = nil
	}
	if tx, err = b.db.BeginTx(ctx, nil); err != nil {
		failAll(fmt.Errorf("sqlitedb: batch: begin: %w", err))
		return
	}
	ran := false
	for _, j := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batch_job`); err != nil {
			failAll(fmt.Errorf("sqlitedb: batch: savepoint: %w", err))
			return
		}
		if call(j, tx) != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch_job`); err != nil {
				// SQLite gave up the whole transaction.
				failAll(fmt.Errorf("sqlitedb: batch: rolled back after another write failed (%v): %w", j.err, err))
				return
			}
		} else {
			ran = true
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batch_job`); err != nil {
			failAll(fmt.Errorf("sqlitedb: batch: rolled back after a write (%v): %w", j.err, err))
			return
		}
	}
	if !ran {
		return // nothing to keep: rolled back
	}
	if err := tx.Commit(); err != nil {
		failAll(fmt.Errorf("sqlitedb: batch: commit: %w", err))
	}
}

// call runs j's function in tx and records its error; a panic becomes an
// error instead of ending the process.
func call(j *batchJob, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlitedb: batch: panic: %v", r)
		}
		j.err = err
	}()
	if err := j.ctx.Err(); err != nil {
		return err
	}
	return j.fn(context.WithoutCancel(j.ctx), tx)
}

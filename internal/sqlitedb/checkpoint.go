package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// safetyCheckpointPages is the WAL size, in pages, at which the serving
// connection checkpoints on its own, should the Checkpointer fall behind
// or stop: about 80 MB, where SQLite's default is 1,000 pages. Under a
// steady load the WAL is seldom all copied, so the writer cannot start it
// over and it grows to this size; a smaller net (4,000 pages) brought the
// stalls back in the load test.
const safetyCheckpointPages = 20_000

// Checkpointer copies the WAL into the database file from a connection of
// its own, every so often, so that the connection serving requests never
// stops for it. Left to itself, SQLite checkpoints inside the commit that
// takes the WAL past 1,000 pages: that commit copies the pages and syncs
// the file while every other statement waits for the one connection (in
// the load test, checkpoints cost a tenth of the throughput and a quarter
// of the 99th percentile latency). A passive checkpoint from another
// connection runs beside the writer; the writer starts the WAL over once
// it is all copied.
type Checkpointer struct {
	conn    *sql.DB
	stop    chan struct{}
	stopped sync.WaitGroup
	onError func(error)
	once    sync.Once
	err     error
}

// StartCheckpointer checkpoints the database file at path, which db
// serves, every interval, and raises db's own automatic checkpoint to a
// safety net far beyond. Errors go to onError (nil: dropped); the next
// round tries again. Close it before db.
func StartCheckpointer(db *sql.DB, path string, interval time.Duration, onError func(error)) (*Checkpointer, error) {
	conn, err := Open(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: checkpointer: %w", err)
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, safetyCheckpointPages)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlitedb: checkpointer: %w", err)
	}
	c := &Checkpointer{conn: conn, stop: make(chan struct{}), onError: onError}
	c.stopped.Add(1)
	go c.loop(interval)
	return c, nil
}

func (c *Checkpointer) loop(interval time.Duration) {
	defer c.stopped.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if _, err := c.Checkpoint(context.Background()); err != nil && c.onError != nil {
			c.onError(err)
		}
	}
}

// Checkpoint runs one passive checkpoint now and returns the frames it
// left in the WAL uncopied (those of transactions still being read, or
// written meanwhile).
func (c *Checkpointer) Checkpoint(ctx context.Context) (left int, err error) {
	var busy, frames, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return 0, fmt.Errorf("sqlitedb: checkpoint: %w", err)
	}
	return frames - copied, nil
}

// Close stops the checkpoints and closes the Checkpointer's connection.
// Later calls return the first one's error.
func (c *Checkpointer) Close() error {
	c.once.Do(func() {
		close(c.stop)
		c.stopped.Wait()
		c.err = c.conn.Close()
	})
	return c.err
}

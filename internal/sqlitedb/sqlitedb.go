// Package sqlitedb opens the SQLite database of the embedded mode and keeps
// the schema versions of the packages that store tables in it.
//
// The database is opened with the pure-Go driver modernc.org/sqlite (no cgo)
// in WAL mode with synchronous=NORMAL, a busy timeout, foreign keys on, and
// transactions that begin IMMEDIATE, so a transaction that will write takes
// the write lock up front instead of failing half-way with SQLITE_BUSY.
//
// The returned *sql.DB has a single connection. SQLite allows one writer at a
// time anyway, and when several connections compete for it SQLite's busy
// handler sleeps at least a millisecond per retry, which costs far more than
// the microseconds a statement takes. The embedded mode's hot paths are
// short writes, so one connection is both the fastest and the simplest
// setting. Measured on 2 cores with two stores saving sessions at once:
// 54 µs a round trip with one connection, 107 µs with four; a single store
// gains a little from more readers (46 µs against 59 µs without its
// cache, the same 36 µs with it). See BenchmarkSessionRoundTrip in
// bot/sqlitestore.
//
// One connection has one rule for callers: while a *sql.Tx or a *sql.Rows
// is open, make no other call on the *sql.DB from the same goroutine — it
// would wait for the connection that goroutine holds. Use the Tx (and
// Tx.StmtContext for prepared statements), or read the Rows to the end and
// close them first.
package sqlitedb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUniqueViolation reports whether err is SQLite's refusal of a row that
// would duplicate a UNIQUE index's key (SQLITE_CONSTRAINT_UNIQUE).
func IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// busyTimeoutMS bounds how long a statement waits for a lock held by
// another process (a backup tool, the sqlite3 shell).
const busyTimeoutMS = 5000

// Open opens the SQLite database file at path, creating it and its parent
// directory when missing.
func Open(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlitedb: open: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return open("file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode(), path)
}

// OpenMemory opens a new, private in-memory database with the same
// settings as Open (without WAL, which needs a file). It is meant for tests;
// the data is lost when the *sql.DB is closed.
func OpenMemory() (*sql.DB, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("sqlitedb: open memory: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "memory")
	q.Set("cache", "shared")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return open("file:kefu-"+hex.EncodeToString(b[:])+"?"+q.Encode(), ":memory:")
}

func open(dsn, name string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", name, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	// The one connection lives as long as the pool: closing it would drop
	// an in-memory database and the prepared statements.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: open %s: %w", name, err)
	}
	return db, nil
}

// Migrate brings the tables of one component (a package name such as
// "bot.sessions") up to date: it runs, in one transaction, the migrations
// the database has not seen yet, in order, and records how many it has
// seen. Each migration may hold several statements. Migrations once
// released must never change; add new ones at the end.
func Migrate(ctx context.Context, db *sql.DB, component string, migrations ...string) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_versions (
	component TEXT PRIMARY KEY,
	version   INTEGER NOT NULL
) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlitedb: migrate %s: %w", component, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitedb: migrate %s: %w", component, err)
	}
	defer tx.Rollback()
	var have int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = ?`, component).Scan(&have)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("sqlitedb: migrate %s: %w", component, err)
	}
	if have > len(migrations) {
		return fmt.Errorf("sqlitedb: migrate %s: database is at version %d, this build knows %d: downgrade refused", component, have, len(migrations))
	}
	if have == len(migrations) {
		return nil
	}
	for i := have; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlitedb: migrate %s to version %d: %w", component, i+1, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_versions (component, version) VALUES (?, ?)
ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(migrations))
	if err != nil {
		return fmt.Errorf("sqlitedb: migrate %s: %w", component, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitedb: migrate %s: %w", component, err)
	}
	return nil
}

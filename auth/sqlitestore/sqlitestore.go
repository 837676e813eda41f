// Package sqlitestore keeps accounts, sessions and sign-in counters in the
// SQLite database of the embedded mode (internal/sqlitedb).
//
// Tables: auth_accounts (one row per account, lanes as a JSON array),
// auth_sessions (one row per session, keyed by the token's hash) and
// auth_hits (one row per rate-limit key with a running window). Times are
// unix milliseconds. Every write is one statement, so two processes on
// one database file (kefu serve and kefu agent) count and check alike.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

var _ auth.Store = (*Store)(nil)

// migrations create the tables; see sqlitedb.Migrate.
var migrations = []string{
	`CREATE TABLE auth_accounts (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	lanes         TEXT NOT NULL, -- JSON array of lane names
	capacity      INTEGER NOT NULL,
	disabled      INTEGER NOT NULL,
	password_hash BLOB NOT NULL, -- bcrypt
	version       INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;
CREATE TABLE auth_sessions (
	hash       TEXT PRIMARY KEY, -- hex SHA-256 of the token
	account_id TEXT NOT NULL,
	client_ip  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_sessions_account ON auth_sessions (account_id, created_at);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);
CREATE TABLE auth_hits (
	key      TEXT PRIMARY KEY,
	n        INTEGER NOT NULL,
	reset_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_hits_reset ON auth_hits (reset_at);`,
}

// Store is the embedded auth.Store.
type Store struct {
	// Now returns the current time; time.Now unless a test sets it.
	Now func() time.Time

	db *sql.DB
}

// New returns a Store on db, creating its tables when missing.
func New(db *sql.DB) (*Store, error) {
	if err := sqlitedb.Migrate(context.Background(), db, "auth", migrations...); err != nil {
		return nil, fmt.Errorf("auth: store: %w", err)
	}
	return &Store{Now: time.Now, db: db}, nil
}

func (s *Store) nowMS() int64 { return s.Now().UnixMilli() }

const accountColumns = `id, username, name, role, lanes, capacity, disabled, password_hash, version, created_at, updated_at`

// CreateAccount stores a new account; see auth.Store.
func (s *Store) CreateAccount(ctx context.Context, a *auth.Account) error {
	if a.ID == "" || a.Username == "" {
		return fmt.Errorf("auth: create account: id and username are required: %w", auth.ErrInvalid)
	}
	lanes, err := encodeLanes(a.Lanes)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO auth_accounts (`+accountColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`,
		a.ID, a.Username, a.Name, string(a.Role), lanes, a.Capacity, a.Disabled, a.PasswordHash,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("auth: create account %s: %w", a.Username, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("auth: create account %s: %w", a.Username, auth.ErrConflict)
	}
	a.Version = 1
	return nil
}

// Account returns the account with this id; see auth.Store.
func (s *Store) Account(ctx context.Context, id string) (auth.Account, error) {
	return s.account(ctx, `id`, id)
}

// AccountByUsername returns the account with this username; see
// auth.Store.
func (s *Store) AccountByUsername(ctx context.Context, username string) (auth.Account, error) {
	return s.account(ctx, `username`, username)
}

func (s *Store) account(ctx context.Context, column, value string) (auth.Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM auth_accounts WHERE `+column+` = ?`, value)
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Account{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Account{}, fmt.Errorf("auth: account %s: %w", value, err)
	}
	return a, nil
}

// Accounts lists every account by username; see auth.Store.
func (s *Store) Accounts(ctx context.Context) ([]auth.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM auth_accounts ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("auth: accounts: %w", err)
	}
	defer rows.Close()
	var out []auth.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: accounts: %w", err)
	}
	return out, nil
}

// UpdateAccount replaces the account if its version is a.Version; see
// auth.Store.
func (s *Store) UpdateAccount(ctx context.Context, a *auth.Account) error {
	lanes, err := encodeLanes(a.Lanes)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_accounts SET name = ?, role = ?, lanes = ?, capacity = ?,
	disabled = ?, password_hash = ?, updated_at = ?, version = version + 1
WHERE id = ? AND version = ?`,
		a.Name, string(a.Role), lanes, a.Capacity, a.Disabled, a.PasswordHash, a.UpdatedAt.UnixMilli(), a.ID, a.Version)
	if err != nil {
		return fmt.Errorf("auth: update account %s: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("auth: update account %s: %w", a.ID, err)
	} else if n == 0 {
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM auth_accounts WHERE id = ?`, a.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		return fmt.Errorf("auth: update account %s at version %d: %w", a.ID, a.Version, auth.ErrConflict)
	}
	a.Version++
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAccount(row scanner) (auth.Account, error) {
	var (
		a                auth.Account
		role, lanes      string
		created, updated int64
	)
	err := row.Scan(&a.ID, &a.Username, &a.Name, &role, &lanes, &a.Capacity, &a.Disabled, &a.PasswordHash,
		&a.Version, &created, &updated)
	if err != nil {
		return a, err
	}
	a.Role = auth.Role(role)
	if err := json.Unmarshal([]byte(lanes), &a.Lanes); err != nil {
		return a, fmt.Errorf("lanes of %s: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return a, nil
}

func encodeLanes(lanes []string) (string, error) {
	if lanes == nil {
		lanes = []string{}
	}
	b, err := json.Marshal(lanes)
	if err != nil {
		return "", fmt.Errorf("auth: lanes: %w", err)
	}
	return string(b), nil
}

// CreateSession stores a session; see auth.Store. It also drops the
// sessions and rate-limit windows that have ended.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	now := s.nowMS()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at <= ?`, now); err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_hits WHERE reset_at <= ?`, now); err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO auth_sessions (hash, account_id, client_ip, created_at, expires_at)
VALUES (?, ?, ?, ?, ?)`, sess.Hash, sess.AccountID, sess.ClientIP, sess.CreatedAt.UnixMilli(), sess.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	return nil
}

const sessionColumns = `hash, account_id, client_ip, created_at, expires_at`

// Session returns an unexpired session; see auth.Store.
func (s *Store) Session(ctx context.Context, hash string) (auth.Session, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM auth_sessions WHERE hash = ? AND expires_at > ?`,
		hash, s.nowMS())
	sess, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Session{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Session{}, fmt.Errorf("auth: session: %w", err)
	}
	return sess, nil
}

// Sessions lists the account's unexpired sessions; see auth.Store.
func (s *Store) Sessions(ctx context.Context, accountID string) ([]auth.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM auth_sessions
WHERE account_id = ? AND expires_at > ? ORDER BY created_at, hash`, accountID, s.nowMS())
	if err != nil {
		return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []auth.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
	}
	return out, nil
}

func scanSession(row scanner) (auth.Session, error) {
	var (
		sess             auth.Session
		created, expires int64
	)
	if err := row.Scan(&sess.Hash, &sess.AccountID, &sess.ClientIP, &created, &expires); err != nil {
		return sess, err
	}
	sess.CreatedAt, sess.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	return sess, nil
}

// DeleteSession revokes one session; see auth.Store.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// DeleteSessions revokes the account's sessions; see auth.Store.
func (s *Store) DeleteSessions(ctx context.Context, accountID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE account_id = ?`, accountID); err != nil {
		return fmt.Errorf("auth: delete sessions of %s: %w", accountID, err)
	}
	return nil
}

// Hit counts an attempt against key in one statement; see auth.Store.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (auth.Hits, error) {
	var (
		h     auth.Hits
		reset int64
	)
	err := s.db.QueryRowContext(ctx, `INSERT INTO auth_hits (key, n, reset_at) VALUES (?1, 1, ?2 + ?3)
ON CONFLICT (key) DO UPDATE SET
	n        = CASE WHEN reset_at <= ?2 THEN 1 ELSE n + 1 END,
	reset_at = CASE WHEN reset_at <= ?2 THEN ?2 + ?3 ELSE reset_at END
RETURNING n, reset_at`, key, s.nowMS(), window.Milliseconds()).Scan(&h.Count, &reset)
	if err != nil {
		return auth.Hits{}, fmt.Errorf("auth: hit %s: %w", key, err)
	}
	h.ResetAt = time.UnixMilli(reset)
	return h, nil
}

// UndoHit takes one attempt back; see auth.Store.
func (s *Store) UndoHit(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE auth_hits SET n = n - 1 WHERE key = ? AND n > 0 AND reset_at > ?`, key, s.nowMS())
	if err != nil {
		return fmt.Errorf("auth: undo hit %s: %w", key, err)
	}
	return nil
}

// ResetHits ends key's window; see auth.Store.
func (s *Store) ResetHits(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_hits WHERE key = ?`, key); err != nil {
		return fmt.Errorf("auth: reset hits %s: %w", key, err)
	}
	return nil
}

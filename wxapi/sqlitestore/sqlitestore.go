// Package sqlitestore keeps the access_token and the users' send windows
// (wxapi.QuotaStates) in the SQLite database of the embedded mode
// (internal/sqlitedb), so a restart neither spends one of the day's token
// requests nor forgets who may still be written to.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
)

var (
	_ wxapi.TokenCache  = (*Store)(nil)
	_ wxapi.QuotaStates = (*Store)(nil)
)

// migrations create the token table; see sqlitedb.Migrate.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS wxapi_tokens (
	app_id     TEXT PRIMARY KEY,
	token      TEXT NOT NULL,
	expires_at INTEGER NOT NULL -- unix milliseconds
) STRICT`,
}

// Store is the embedded wxapi.TokenCache and wxapi.QuotaStates.
type Store struct {
	// Now returns the current time; time.Now unless a test sets it.
	Now func() time.Time

	db            *sql.DB
	get, set, del *sql.Stmt
}

// New returns a Store on db, creating its tables when missing.
func New(db *sql.DB) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "wxapi.tokens", migrations...); err != nil {
		return nil, fmt.Errorf("wxapi: token cache: %w", err)
	}
	if err := sqlitedb.Migrate(ctx, db, "wxapi.quota", quotaMigrations...); err != nil {
		return nil, fmt.Errorf("wxapi: quota store: %w", err)
	}
	s := &Store{Now: time.Now, db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.get, `SELECT token, expires_at FROM wxapi_tokens WHERE app_id = ?`},
		{&s.set, `INSERT INTO wxapi_tokens (app_id, token, expires_at) VALUES (?, ?, ?)
ON CONFLICT (app_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at`},
		{&s.del, `DELETE FROM wxapi_tokens WHERE app_id = ?`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("wxapi: token cache: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return s, nil
}

// Close releases the prepared statements. It does not close the database.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.get, s.set, s.del} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Token returns the cached token for the app if it expires after now, or
// wxapi.ErrNoToken. The expiry is kept to the millisecond.
func (s *Store) Token(ctx context.Context, appID string) (string, time.Time, error) {
	var (
		token string
		ms    int64
	)
	err := s.get.QueryRowContext(ctx, appID).Scan(&token, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, wxapi.ErrNoToken
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("wxapi: token of %s: %w", appID, err)
	}
	exp := time.UnixMilli(ms)
	if !exp.After(s.Now()) {
		return "", time.Time{}, wxapi.ErrNoToken
	}
	return token, exp, nil
}

// SetToken caches the token until expiresAt.
func (s *Store) SetToken(ctx context.Context, appID, token string, expiresAt time.Time) error {
	if _, err := s.set.ExecContext(ctx, appID, token, expiresAt.UnixMilli()); err != nil {
		return fmt.Errorf("wxapi: set token of %s: %w", appID, err)
	}
	return nil
}

// DeleteToken drops the cached token.
func (s *Store) DeleteToken(ctx context.Context, appID string) error {
	if _, err := s.del.ExecContext(ctx, appID); err != nil {
		return fmt.Errorf("wxapi: delete token of %s: %w", appID, err)
	}
	return nil
}

package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kefuhq/kefu/wxapi"
)

// quotaMigrations create the per-user quota table of wxapi.QuotaStates:
// one row per user, updated in an IMMEDIATE transaction, so concurrent
// updates (from any number of *sql.DB on the file) are serialised by
// SQLite's write lock. A state whose grants have all closed by Now is
// deleted rather than saved; see sqlitedb.Migrate.
var quotaMigrations = []string{
	`CREATE TABLE IF NOT EXISTS wxapi_quota (
	open_id    TEXT PRIMARY KEY,
	state      TEXT NOT NULL,    -- wxapi.QuotaState as JSON
	expires_at INTEGER NOT NULL  -- unix milliseconds: every grant closed
) STRICT`,
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadQuota(ctx context.Context, q queryRower, openID string) (wxapi.QuotaState, error) {
	var (
		st   wxapi.QuotaState
		data []byte
	)
	err := q.QueryRowContext(ctx, `SELECT state FROM wxapi_quota WHERE open_id = ?`, openID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	return st, err
}

// QuotaState returns the user's stored state, the zero state when none.
func (s *Store) QuotaState(ctx context.Context, openID string) (wxapi.QuotaState, error) {
	st, err := loadQuota(ctx, s.db, openID)
	if err != nil {
		return st, fmt.Errorf("load quota: %w", err)
	}
	return st, nil
}

// UpdateQuotaState applies fn to the user's state in one transaction.
func (s *Store) UpdateQuotaState(ctx context.Context, openID string, fn func(*wxapi.QuotaState) bool) error {
	if err := s.update(ctx, openID, fn); err != nil {
		return fmt.Errorf("update quota: %w", err)
	}
	return nil
}

func (s *Store) update(ctx context.Context, openID string, fn func(*wxapi.QuotaState) bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := loadQuota(ctx, tx, openID)
	if err != nil {
		return err
	}
	if !fn(&st) {
		return nil
	}
	if exp := st.Expiry(); exp.After(s.Now()) {
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO wxapi_quota (open_id, state, expires_at) VALUES (?, ?, ?)
ON CONFLICT (open_id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at`,
			openID, string(data), exp.UnixMilli())
		if err != nil {
			return err
		}
	} else if _, err := tx.ExecContext(ctx, `DELETE FROM wxapi_quota WHERE open_id = ?`, openID); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteExpiredQuotas deletes the states whose grants have all closed by now,
// the rows of users who never came back. Run it now and then.
func (s *Store) DeleteExpiredQuotas(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM wxapi_quota WHERE expires_at <= ?`, s.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("wxapi: quota: delete expired: %w", err)
	}
	return res.RowsAffected()
}

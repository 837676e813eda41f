// Package sqlitestore keeps cases in the SQLite database of the embedded
// mode (internal/sqlitedb).
//
// A case is a row of cases: the case as JSON in data, beside columns
// copying the fields cases are listed by (open_id, flow, status,
// created_at) and the version that Update compares and swaps on.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

var _ cases.Store = (*Store)(nil)

// migrations create the tables; see sqlitedb.Migrate.
var migrations = []string{
	`CREATE TABLE cases (
	id         TEXT PRIMARY KEY,
	open_id    TEXT NOT NULL,
	flow       TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- unix microseconds
	version    INTEGER NOT NULL,
	data       TEXT NOT NULL     -- JSON of cases.Case
) STRICT, WITHOUT ROWID;
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_open_id ON cases (open_id, created_at, id);
CREATE INDEX cases_status ON cases (status, created_at, id);
CREATE INDEX cases_flow ON cases (flow, created_at, id);`,
}

// Store is the embedded cases.Store.
type Store struct {
	db *sql.DB
}

// New returns a Store on db, creating or upgrading its tables.
func New(db *sql.DB) (*Store, error) {
	if err := sqlitedb.Migrate(context.Background(), db, "cases", migrations...); err != nil {
		return nil, fmt.Errorf("cases: store: %w", err)
	}
	return &Store{db: db}, nil
}

// Create stores c unless a case with its ID exists.
func (s *Store) Create(ctx context.Context, c cases.Case) error {
	c.Version = 1
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("cases: create %s: %w", c.ID, err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO cases (id, open_id, flow, status, created_at, version, data)
VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`, c.ID, c.OpenID, c.Flow, string(c.Status), c.CreatedAt.UnixMicro(), string(data))
	if err != nil {
		return fmt.Errorf("cases: create %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("cases: create %s: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("cases: create %s: %w", c.ID, cases.ErrExists)
	}
	return nil
}

// Case returns the case id.
func (s *Store) Case(ctx context.Context, id string) (cases.Case, error) {
	c, err := scan(s.db.QueryRowContext(ctx, `SELECT version, data FROM cases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Case{}, fmt.Errorf("cases: %s: %w", id, cases.ErrNotFound)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: %s: %w", id, err)
	}
	return c, nil
}

// Update replaces case c.ID if its version is still c.Version.
func (s *Store) Update(ctx context.Context, c cases.Case) (cases.Case, error) {
	base := c.Version
	c.Version++
	data, err := json.Marshal(c)
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, err)
	}
	// OpenID, Flow and CreatedAt never change: the columns keep theirs.
	res, err := s.db.ExecContext(ctx, `UPDATE cases SET status = ?, version = ?, data = ? WHERE id = ? AND version = ?`,
		string(c.Status), c.Version, string(data), c.ID, base)
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, err)
	}
	if n == 0 {
		if _, err := s.Case(ctx, c.ID); err != nil {
			return cases.Case{}, err
		}
		return cases.Case{}, fmt.Errorf("cases: update %s: version %d is not the latest: %w", c.ID, base, cases.ErrConflict)
	}
	return c, nil
}

// Cases returns the cases f selects, newest first.
func (s *Store) Cases(ctx context.Context, f cases.Filter) ([]cases.Case, error) {
	var (
		where []string
		args  []any
	)
	for _, w := range []struct{ col, v string }{{"open_id", f.OpenID}, {"flow", f.Flow}, {"status", string(f.Status)}} {
		if w.v != "" {
			where = append(where, w.col+" = ?")
			args = append(args, w.v)
		}
	}
	q := `SELECT version, data FROM cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	defer rows.Close()
	list := []cases.Case{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("cases: list: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	return list, nil
}

type scanner interface{ Scan(dest ...any) error }

// scan reads a row of version and data.
func scan(row scanner) (cases.Case, error) {
	var (
		c       cases.Case
		version int64
		data    []byte
	)
	if err := row.Scan(&version, &data); err != nil {
		return cases.Case{}, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return cases.Case{}, err
	}
	c.Version = version
	return c, nil
}

// Package sqlitestore keeps tickets in the SQLite database of the embedded
// mode (internal/sqlitedb).
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

var _ handoff.Store = (*Store)(nil)

// migrations create the tables; see sqlitedb.Migrate. The columns beside
// data copy the fields that tickets are looked up by.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS handoff_tickets (
	id         TEXT PRIMARY KEY,
	open_id    TEXT NOT NULL,
	status     TEXT NOT NULL,
	lane       TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- unix microseconds
	version    INTEGER NOT NULL,
	data       TEXT NOT NULL     -- JSON of handoff.Ticket
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_tickets_status ON handoff_tickets (status, lane, created_at, id);
CREATE INDEX IF NOT EXISTS handoff_tickets_lane ON handoff_tickets (lane, created_at, id);
CREATE INDEX IF NOT EXISTS handoff_tickets_open_id ON handoff_tickets (open_id, created_at, id);
CREATE INDEX IF NOT EXISTS handoff_tickets_created ON handoff_tickets (created_at, id);
CREATE TABLE IF NOT EXISTS handoff_sequences (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;`,
}

// Store is the embedded handoff.Store.
type Store struct {
	db                                   *sql.DB
	get, insert, update, exists, nextSeq *sql.Stmt
	setData, open, count                 *sql.Stmt
}

// New returns a Store on db, creating its tables when missing.
func New(db *sql.DB) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "handoff.tickets", migrations...); err != nil {
		return nil, fmt.Errorf("handoff: ticket store: %w", err)
	}
	s := &Store{db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.get, `SELECT version, data FROM handoff_tickets WHERE id = ?`},
		{&s.insert, `INSERT INTO handoff_tickets (id, open_id, status, lane, created_at, version, data)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`},
		{&s.update, `UPDATE handoff_tickets SET open_id = ?, status = ?, lane = ?, created_at = ?, version = ?, data = ?
WHERE id = ? AND version = ?`},
		{&s.setData, `UPDATE handoff_tickets SET version = ?, data = ? WHERE id = ?`},
		{&s.exists, `SELECT 1 FROM handoff_tickets WHERE id = ?`},
		{&s.nextSeq, `INSERT INTO handoff_sequences (name, value) VALUES ('ticket', 1)
ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`},
		{&s.open, `SELECT version, data FROM handoff_tickets
WHERE open_id = ? AND status IN ('` + string(handoff.StatusQueued) + `', '` + string(handoff.StatusAssigned) + `')
ORDER BY created_at DESC, id DESC LIMIT 1`},
		{&s.count, `SELECT count(*) FROM handoff_tickets WHERE open_id = ? AND created_at >= ?`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("handoff: ticket store: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return s, nil
}

// Close releases the prepared statements. It does not close the database.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.get, s.insert, s.update, s.setData, s.exists, s.nextSeq, s.open, s.count} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// CreateTicket stores a new ticket, numbering it when t.ID is empty. A
// taken ID is refused with handoff.ErrConflict.
func (s *Store) CreateTicket(ctx context.Context, t *handoff.Ticket) error {
	if t.CreatedAt.IsZero() {
		return fmt.Errorf("handoff: create ticket for %s: CreatedAt is not set", t.OpenID)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("handoff: create ticket: %w", err)
	}
	defer tx.Rollback()
	id := t.ID
	if id == "" {
		var n int64
		if err := tx.StmtContext(ctx, s.nextSeq).QueryRowContext(ctx).Scan(&n); err != nil {
			return fmt.Errorf("handoff: create ticket: number: %w", err)
		}
		id = ticketID(t.CreatedAt, n)
	}
	next := *t
	next.ID, next.Version = id, 1
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	res, err := tx.StmtContext(ctx, s.insert).ExecContext(ctx, id, next.OpenID, string(next.Status), next.Lane,
		next.CreatedAt.UnixMicro(), next.Version, string(data))
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("handoff: create ticket %s: id taken: %w", id, handoff.ErrConflict)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	t.ID, t.Version = next.ID, next.Version
	return nil
}

// ticketID formats a ticket number: T + the creation date + the sequence
// number of at least five digits.
func ticketID(created time.Time, n int64) string {
	return fmt.Sprintf("T%s-%05d", created.Format("20060102"), n)
}

// Ticket returns the ticket with this id, or handoff.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id string) (handoff.Ticket, error) {
	t, err := scanTicket(s.get.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// UpdateTicket replaces the ticket if the stored version equals t.Version,
// then increments t.Version.
func (s *Store) UpdateTicket(ctx context.Context, t *handoff.Ticket) error {
	next := *t
	next.Version++
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	res, err := s.update.ExecContext(ctx, next.OpenID, string(next.Status), next.Lane, next.CreatedAt.UnixMicro(),
		next.Version, string(data), t.ID, t.Version)
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	if n == 0 {
		var one int
		err := s.exists.QueryRowContext(ctx, t.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
		case err != nil:
			return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
		}
		return fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	}
	t.Version = next.Version
	return nil
}

// AppendMessages adds messages to the transcript, and the attachments
// among them (handoff.IsEvidence) to Evidence, in one transaction, and
// increments the version.
func (s *Store) AppendMessages(ctx context.Context, id string, msgs ...handoff.Message) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	defer tx.Rollback()
	t, err := scanTicket(tx.StmtContext(ctx, s.get).QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		t.Messages = append(t.Messages, m)
		if handoff.IsEvidence(m) {
			t.Evidence = append(t.Evidence, m)
		}
	}
	t.Version++
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	// The indexed columns do not change: leave them, and their indexes, be.
	if _, err := tx.StmtContext(ctx, s.setData).ExecContext(ctx, t.Version, string(data), id); err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	return nil
}

// OpenTicket returns the user's open ticket (the newest, should there be
// more than one), or handoff.ErrNotFound.
func (s *Store) OpenTicket(ctx context.Context, openID string) (handoff.Ticket, error) {
	t, err := scanTicket(s.open.QueryRowContext(ctx, openID))
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, err)
	}
	return t, nil
}

// Tickets lists the tickets matching f, oldest first (by CreatedAt, then
// ID).
func (s *Store) Tickets(ctx context.Context, f handoff.Filter) ([]handoff.Ticket, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if f.Lane != "" {
		where = append(where, "lane = ?")
		args = append(args, f.Lane)
	}
	if f.OpenID != "" {
		where = append(where, "open_id = ?")
		args = append(args, f.OpenID)
	}
	q := "SELECT version, data FROM handoff_tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	defer rows.Close()
	var out []handoff.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("handoff: list tickets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	return out, nil
}

// CountSince counts the tickets the user opened at or after since (to the
// microsecond).
func (s *Store) CountSince(ctx context.Context, openID string, since time.Time) (int, error) {
	var n int
	if err := s.count.QueryRowContext(ctx, openID, since.UnixMicro()).Scan(&n); err != nil {
		return 0, fmt.Errorf("handoff: count tickets of %s: %w", openID, err)
	}
	return n, nil
}

// scanTicket reads a row of (version, data).
func scanTicket(row interface{ Scan(...any) error }) (handoff.Ticket, error) {
	var (
		version int64
		data    []byte
		t       handoff.Ticket
	)
	if err := row.Scan(&version, &data); err != nil {
		return handoff.Ticket{}, err
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return handoff.Ticket{}, err
	}
	t.Version = version
	return t, nil
}

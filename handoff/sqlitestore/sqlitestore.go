// Package sqlitestore keeps tickets in the SQLite database of the embedded
// mode (internal/sqlitedb).
//
// A ticket is a row of handoff_tickets — the header as JSON in data, beside
// columns copying the fields tickets are looked up and queued by — and its
// transcript in handoff_messages, one row per message or per run of messages
// written together. A row is never changed once written: appending is an
// INSERT and a version bump, whatever the length of the transcript. handoff_queue_counts holds the
// number of queued tickets of each lane, kept by triggers on
// handoff_tickets in the transaction of every write.
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

// migrations create the tables; see sqlitedb.Migrate.
//
// Version 2 moves the transcript out of handoff_tickets.data into
// handoff_messages and adds the columns of the queue order. Tickets stored
// by version 1 are converted in place; their sla_due_at column keeps the
// deadline to the millisecond only (SQLite's date functions go no further),
// which matters only to the order of tickets due within the same
// millisecond. Version 1 could, after a race, hold two open tickets of one
// user: all but the newest are closed, with a note in their transcript.
//
// Version 3 adds handoff_queue_counts, the length of each lane's queue,
// filled from the stored tickets and from then on kept by triggers: every
// INSERT, UPDATE (of status or lane) and DELETE of handoff_tickets moves
// the counts in the same statement, so in the same transaction, whatever
// code path writes the row.
//
// Version 4 adds the agent_id column (the ticket's AgentID, filled from
// data) and the partial index handoff_tickets_agent of the assigned
// tickets by agent, which AssignedCount counts in, and the partial index
// handoff_tickets_due of the queued tickets by lane and deadline, which
// Breached counts in.
//
// Version 5 adds split_from (the ticket's SplitFrom: a split ticket is not
// its user's open ticket, so handoff_tickets_one_open leaves it out) and
// breached (1 once the ticket's BreachedAt is set) with the partial index
// handoff_tickets_unbreached of the queued tickets not marked breached,
// by lane and deadline, in which MarkBreached finds the ones to mark.
//
// Version 6 lets a row of handoff_messages hold a run of messages: data is
// then a JSON array, and seq the number of the first (the next row's seq
// follows the run), so a row starting below a header's message count ends
// within it. Builds before it cannot read such rows, hence the version.
// It also replaces handoff_tickets_due and handoff_tickets_unbreached by
// handoff_tickets_deadline, one index of the queued tickets by lane,
// breached and deadline that serves both Breached (two ranges, breached 0
// and 1) and MarkBreached: one index less to write with every queued
// ticket.
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

	`ALTER TABLE handoff_tickets ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE handoff_tickets ADD COLUMN sla_due_at INTEGER NOT NULL DEFAULT 0; -- unix microseconds
ALTER TABLE handoff_tickets ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0; -- rows of handoff_messages with evidence = 0
ALTER TABLE handoff_tickets ADD COLUMN n_evidence INTEGER NOT NULL DEFAULT 0; -- and with evidence = 1
CREATE TABLE handoff_messages (
	ticket_id TEXT NOT NULL REFERENCES handoff_tickets (id),
	seq       INTEGER NOT NULL, -- 0, 1, … within the ticket, shared by messages and evidence
	evidence  INTEGER NOT NULL, -- 1: an entry of Ticket.Evidence; 0: of Ticket.Messages
	data      TEXT NOT NULL,    -- JSON of handoff.Message
	PRIMARY KEY (ticket_id, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO handoff_messages (ticket_id, seq, evidence, data)
SELECT t.id, m.key, 0, m.value FROM handoff_tickets t, json_each(t.data, '$.messages') m
WHERE json_type(t.data, '$.messages') = 'array';
INSERT INTO handoff_messages (ticket_id, seq, evidence, data)
SELECT t.id, coalesce(json_array_length(t.data, '$.messages'), 0) + e.key, 1, e.value
FROM handoff_tickets t, json_each(t.data, '$.evidence') e
WHERE json_type(t.data, '$.evidence') = 'array';
UPDATE handoff_tickets SET
	priority   = coalesce(json_extract(data, '$.priority'), 0),
	sla_due_at = coalesce(CAST(round(unixepoch(json_extract(data, '$.sla_due_at'), 'subsec') * 1000) AS INTEGER) * 1000, 0),
	n_messages = coalesce(json_array_length(data, '$.messages'), 0),
	n_evidence = coalesce(json_array_length(data, '$.evidence'), 0),
	data       = json_remove(data, '$.messages', '$.evidence');

INSERT INTO handoff_messages (ticket_id, seq, evidence, data)
SELECT o.id, o.n_messages + o.n_evidence, 0, json_object('from', 'system', 'kind', 'close',
	'text', '工单关闭：duplicate_open_ticket', 'at', strftime('%Y-%m-%dT%H:%M:%SZ'))
FROM handoff_tickets o
WHERE o.status IN ('queued', 'assigned') AND EXISTS (SELECT 1 FROM handoff_tickets n
	WHERE n.open_id = o.open_id AND n.status IN ('queued', 'assigned') AND (n.created_at, n.id) > (o.created_at, o.id));
UPDATE handoff_tickets AS o SET status = 'closed', n_messages = n_messages + 1, version = version + 1,
	data = json_set(data, '$.status', 'closed', '$.closed_at', strftime('%Y-%m-%dT%H:%M:%SZ'))
WHERE o.status IN ('queued', 'assigned') AND EXISTS (SELECT 1 FROM handoff_tickets n
	WHERE n.open_id = o.open_id AND n.status IN ('queued', 'assigned') AND (n.created_at, n.id) > (o.created_at, o.id));

-- At most one open ticket per user.
CREATE UNIQUE INDEX handoff_tickets_one_open ON handoff_tickets (open_id) WHERE status IN ('queued', 'assigned');
-- The queue of each lane, in handoff.QueueOrder.
CREATE INDEX handoff_tickets_queue ON handoff_tickets (lane, priority DESC, sla_due_at, created_at, id) WHERE status = 'queued';`,

	`CREATE TABLE handoff_queue_counts (
	lane TEXT PRIMARY KEY,
	n    INTEGER NOT NULL -- queued tickets in the lane
) STRICT, WITHOUT ROWID;
INSERT INTO handoff_queue_counts (lane, n)
SELECT lane, count(*) FROM handoff_tickets WHERE status = 'queued' GROUP BY lane;

CREATE TRIGGER handoff_queue_counts_insert AFTER INSERT ON handoff_tickets
WHEN new.status = 'queued' BEGIN
	INSERT INTO handoff_queue_counts (lane, n) VALUES (new.lane, 1)
	ON CONFLICT (lane) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER handoff_queue_counts_update AFTER UPDATE OF status, lane ON handoff_tickets
WHEN (old.status = 'queued' OR new.status = 'queued') AND (old.status IS NOT new.status OR old.lane IS NOT new.lane) BEGIN
	UPDATE handoff_queue_counts SET n = n - 1 WHERE old.status = 'queued' AND lane = old.lane;
	INSERT INTO handoff_queue_counts (lane, n) SELECT new.lane, 1 WHERE new.status = 'queued'
	ON CONFLICT (lane) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER handoff_queue_counts_delete AFTER DELETE ON handoff_tickets
WHEN old.status = 'queued' BEGIN
	UPDATE handoff_queue_counts SET n = n - 1 WHERE lane = old.lane;
END;`,

	`ALTER TABLE handoff_tickets ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
UPDATE handoff_tickets SET agent_id = coalesce(json_extract(data, '$.agent_id'), '');
CREATE INDEX handoff_tickets_agent ON handoff_tickets (agent_id) WHERE status = 'assigned';
CREATE INDEX handoff_tickets_due ON handoff_tickets (lane, sla_due_at) WHERE status = 'queued';`,

	`ALTER TABLE handoff_tickets ADD COLUMN split_from TEXT NOT NULL DEFAULT '';
ALTER TABLE handoff_tickets ADD COLUMN breached INTEGER NOT NULL DEFAULT 0; -- 1: data has breached_at
UPDATE handoff_tickets SET split_from = coalesce(json_extract(data, '$.split_from'), ''),
	breached = json_extract(data, '$.breached_at') IS NOT NULL;
DROP INDEX handoff_tickets_one_open;
CREATE UNIQUE INDEX handoff_tickets_one_open ON handoff_tickets (open_id) WHERE status IN ('queued', 'assigned') AND split_from = '';
CREATE INDEX handoff_tickets_unbreached ON handoff_tickets (lane, sla_due_at) WHERE status = 'queued' AND breached = 0;`,

	`CREATE INDEX handoff_tickets_deadline ON handoff_tickets (lane, breached, sla_due_at) WHERE status = 'queued';
DROP INDEX handoff_tickets_due;
DROP INDEX handoff_tickets_unbreached;`,
}

// defaultBehindLimit is how many tickets behind a ticket QueuePosition
// counts at most before it counts those ahead instead; see QueuePosition.
// Counting up to it costs about 25 µs, what a ticket at the head of a long
// queue (one a merge just raised) pays on top of its own short count.
const defaultBehindLimit = 256

// openStatuses is the SQL list of the open statuses. It is written out
// (not bound) in the statements that must use the partial indexes, whose
// WHERE clauses say the same.
const openStatuses = `('queued', 'assigned')`

// Store is the embedded handoff.Store.
type Store struct {
	db    *sql.DB
	batch *sqlitedb.Batcher

	header, messages, insert, insertMessage *sql.Stmt
	state, update, bump, exists, nextSeq    *sql.Stmt
	openOf, open, position, count           *sql.Stmt
	behind, queueLength                     *sql.Stmt
	moveStmt, head, assigned, breached      *sql.Stmt
	markBreached                            *sql.Stmt

	// behindLimit: see defaultBehindLimit.
	behindLimit int
}

// headerColumns are read by scanHeader.
const headerColumns = `version, n_messages, n_evidence, data`

// New returns a Store on db, creating or upgrading its tables.
func New(db *sql.DB) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "handoff.tickets", migrations...); err != nil {
		return nil, fmt.Errorf("handoff: ticket store: %w", err)
	}
	s := &Store{db: db, batch: sqlitedb.NewBatcher(db), behindLimit: defaultBehindLimit}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.header, `SELECT ` + headerColumns + ` FROM handoff_tickets WHERE id = ?`},
		{&s.messages, `SELECT evidence, data FROM handoff_messages WHERE ticket_id = ? AND seq < ? ORDER BY seq`},
		{&s.insert, `INSERT INTO handoff_tickets (id, open_id, status, lane, priority, sla_due_at, created_at,
	version, n_messages, n_evidence, data, agent_id, split_from, breached)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`},
		{&s.insertMessage, `INSERT INTO handoff_messages (ticket_id, seq, evidence, data) VALUES (?, ?, ?, ?)`},
		{&s.state, `SELECT version, n_messages, n_evidence FROM handoff_tickets WHERE id = ?`},
		{&s.update, `UPDATE handoff_tickets SET open_id = ?, status = ?, lane = ?, priority = ?, sla_due_at = ?,
	created_at = ?, version = ?, n_messages = ?, n_evidence = ?, data = ?, agent_id = ?, split_from = ?, breached = ?
WHERE id = ? AND version = ?`},
		{&s.bump, `UPDATE handoff_tickets SET version = version + 1, n_messages = n_messages + ?, n_evidence = n_evidence + ?
WHERE id = ? RETURNING n_messages, n_evidence`},
		{&s.exists, `SELECT 1 FROM handoff_tickets WHERE id = ?`},
		{&s.nextSeq, `INSERT INTO handoff_sequences (name, value) VALUES ('ticket', 1)
ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`},
		{&s.openOf, `SELECT id FROM handoff_tickets WHERE open_id = ? AND status IN ` + openStatuses + ` AND split_from = ''`},
		{&s.open, `SELECT ` + headerColumns + ` FROM handoff_tickets WHERE open_id = ? AND status IN ` + openStatuses +
			` AND split_from = ''`},
		// The tickets ahead: those of a higher priority, then those of the
		// same priority earlier in (sla_due_at, created_at, id). Each count
		// is a range of handoff_tickets_queue.
		{&s.position, `SELECT CASE WHEN t.status = 'queued' THEN 1
	+ (SELECT count(*) FROM handoff_tickets q WHERE q.status = 'queued' AND q.lane = t.lane AND q.priority > t.priority)
	+ (SELECT count(*) FROM handoff_tickets q WHERE q.status = 'queued' AND q.lane = t.lane AND q.priority = t.priority
		AND (q.sla_due_at, q.created_at, q.id) < (t.sla_due_at, t.created_at, t.id))
	ELSE 0 END
FROM handoff_tickets t WHERE t.id = ?`},
		// Whether the ticket is queued, the length of its lane's queue,
		// and the tickets behind it, counted up to a limit in each of the
		// two ranges of handoff_tickets_queue they fill: the lower
		// priorities, and the same priority later in (sla_due_at,
		// created_at, id). Both bounds are ?1, the ticket's id ?2.
		{&s.behind, `SELECT t.status = 'queued', coalesce((SELECT c.n FROM handoff_queue_counts c WHERE c.lane = t.lane), 0),
	(SELECT count(*) FROM (SELECT 1 FROM handoff_tickets q WHERE t.status = 'queued' AND q.status = 'queued'
		AND q.lane = t.lane AND q.priority < t.priority LIMIT ?1))
	+ (SELECT count(*) FROM (SELECT 1 FROM handoff_tickets q WHERE t.status = 'queued' AND q.status = 'queued'
		AND q.lane = t.lane AND q.priority = t.priority AND (q.sla_due_at, q.created_at, q.id) > (t.sla_due_at, t.created_at, t.id) LIMIT ?1))
FROM handoff_tickets t WHERE t.id = ?2`},
		{&s.queueLength, `SELECT n FROM handoff_queue_counts WHERE lane = ?`},
		{&s.count, `SELECT count(*) FROM handoff_tickets WHERE open_id = ? AND created_at >= ?`},
		// An agent-side move: the new header and one more message.
		{&s.moveStmt, `UPDATE handoff_tickets SET status = ?, lane = ?, sla_due_at = ?, agent_id = ?, data = ?,
	version = version + 1, n_messages = n_messages + 1
WHERE id = ? RETURNING version, n_messages + n_evidence`},
		// The head of a lane's queue: the first of handoff_tickets_queue.
		{&s.head, `SELECT ` + headerColumns + ` FROM handoff_tickets WHERE status = 'queued' AND lane = ?
ORDER BY priority DESC, sla_due_at, created_at, id LIMIT 1`},
		{&s.assigned, `SELECT count(*) FROM handoff_tickets WHERE status = 'assigned' AND agent_id = ?`},
		{&s.breached, `SELECT count(*) FROM handoff_tickets WHERE status = 'queued' AND lane = ? AND breached IN (0, 1)
	AND sla_due_at < ?`},
		// One statement, so one transaction: each row is marked once.
		{&s.markBreached, `UPDATE handoff_tickets SET breached = 1, version = version + 1,
	data = json_set(data, '$.breached_at', ?1)
WHERE status = 'queued' AND breached = 0 AND lane = ?2 AND sla_due_at < ?3
RETURNING ` + headerColumns},
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
	for _, st := range []*sql.Stmt{s.header, s.messages, s.insert, s.insertMessage, s.state, s.update, s.bump,
		s.exists, s.nextSeq, s.openOf, s.open, s.position, s.count, s.behind, s.queueLength, s.moveStmt, s.head, s.assigned,
		s.breached, s.markBreached} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// CreateTicket stores a new ticket, numbering it when t.ID is empty. A
// taken ID, or a second open ticket of the user, is refused with
// handoff.ErrConflict.
func (s *Store) CreateTicket(ctx context.Context, t *handoff.Ticket) error {
	if t.CreatedAt.IsZero() {
		return fmt.Errorf("handoff: create ticket for %s: CreatedAt is not set: %w", t.OpenID, handoff.ErrInvalid)
	}
	var next handoff.Ticket
	err := s.write(ctx, "create ticket for "+t.OpenID, func(ctx context.Context, tx *sql.Tx) (err error) {
		next, err = s.create(ctx, tx, *t)
		return err
	})
	if err != nil {
		return err
	}
	t.ID, t.Version = next.ID, next.Version
	return nil
}

// write runs fn in a transaction shared with concurrent writes (see
// sqlitedb.Batcher; fn may run twice, so it only sets what it returns).
// fn's own errors say what failed; an error of the batch (the commit, an
// ended ctx) is prefixed with what.
func (s *Store) write(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	var fnErr error
	err := s.batch.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		fnErr = fn(ctx, tx)
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("handoff: %s: %w", what, err)
	}
	return err
}

// create does the work of CreateTicket in tx and returns the ticket as
// stored.
func (s *Store) create(ctx context.Context, tx *sql.Tx, t handoff.Ticket) (handoff.Ticket, error) {
	if t.ID == "" {
		var n int64
		if err := tx.StmtContext(ctx, s.nextSeq).QueryRowContext(ctx).Scan(&n); err != nil {
			return t, fmt.Errorf("handoff: create ticket: number: %w", err)
		}
		t.ID = ticketID(t.CreatedAt, n)
	}
	t.Version = 1
	data, err := encodeHeader(t)
	if err != nil {
		return t, fmt.Errorf("handoff: create ticket %s: %w", t.ID, err)
	}
	res, err := tx.StmtContext(ctx, s.insert).ExecContext(ctx, t.ID, t.OpenID, string(t.Status), t.Lane,
		t.Priority, t.SLADueAt.UnixMicro(), t.CreatedAt.UnixMicro(), t.Version, len(t.Messages), len(t.Evidence), data,
		t.AgentID, t.SplitFrom, !t.BreachedAt.IsZero())
	if sqlitedb.IsUniqueViolation(err) {
		// Of handoff_tickets_one_open (the id's conflict is ignored,
		// below): the user has an open ticket. The index is the check,
		// so opening a ticket costs no lookup first.
		return t, fmt.Errorf("handoff: create ticket for %s: user has an open ticket: %w", t.OpenID, handoff.ErrConflict)
	}
	if err != nil {
		return t, fmt.Errorf("handoff: create ticket %s: %w", t.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return t, fmt.Errorf("handoff: create ticket %s: id taken: %w", t.ID, handoff.ErrConflict)
	}
	if err := s.insertMessages(ctx, tx, t.ID, 0, t.Messages, t.Evidence); err != nil {
		return t, fmt.Errorf("handoff: create ticket %s: %w", t.ID, err)
	}
	return t, nil
}

// ticketID formats a ticket number: T + the creation date + the sequence
// number of at least five digits.
func ticketID(created time.Time, n int64) string {
	return fmt.Sprintf("T%s-%05d", created.Format("20060102"), n)
}

// openOf returns the id of the user's open ticket other than except, or ""
// when there is none.
func openOf(ctx context.Context, stmt *sql.Stmt, openID, except string) (string, error) {
	var id string
	err := stmt.QueryRowContext(ctx, openID).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && id == except:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("open ticket of user: %w", err)
	}
	return id, nil
}

// insertMessages writes msgs, then evidence, to the transcript of ticket
// id from seq on: one row for each list, a single message as its JSON
// object and several as a JSON array (a run), so a ticket opened with a
// long transcript costs two inserts, not one per message.
func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, id string, seq int, msgs, evidence []handoff.Message) error {
	if len(msgs)+len(evidence) == 0 {
		return nil
	}
	stmt := tx.StmtContext(ctx, s.insertMessage)
	for i, list := range [][]handoff.Message{msgs, evidence} {
		var (
			data []byte
			err  error
		)
		switch len(list) {
		case 0:
			continue
		case 1:
			data, err = json.Marshal(list[0])
		default:
			data, err = json.Marshal(list)
		}
		if err != nil {
			return fmt.Errorf("message %d: %w", seq, err)
		}
		if _, err := stmt.ExecContext(ctx, id, seq, i, string(data)); err != nil {
			return fmt.Errorf("message %d: %w", seq, err)
		}
		seq += len(list)
	}
	return nil
}

// Ticket returns the ticket with this id, transcript included, or
// handoff.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id string) (handoff.Ticket, error) {
	t, n, err := scanHeader(s.header.QueryRowContext(ctx, id))
	if err == nil {
		err = s.loadTranscript(ctx, &t, n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// TicketHeader returns the ticket with this id without its transcript, or
// handoff.ErrNotFound.
func (s *Store) TicketHeader(ctx context.Context, id string) (handoff.Ticket, error) {
	t, _, err := scanHeader(s.header.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// loadTranscript reads the first n messages of t's transcript (the rows
// starting below n): those that existed when its header was read, so that
// header and transcript match even if messages were appended since (rows
// never change, and a run is written with the count that covers it).
func (s *Store) loadTranscript(ctx context.Context, t *handoff.Ticket, n int) error {
	if n == 0 {
		return nil
	}
	rows, err := s.messages.QueryContext(ctx, t.ID, n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			evidence bool
			data     []byte
		)
		if err := rows.Scan(&evidence, &data); err != nil {
			return err
		}
		list := &t.Messages
		if evidence {
			list = &t.Evidence
		}
		if len(data) > 0 && data[0] == '[' { // a run of messages
			var run []handoff.Message
			if err := json.Unmarshal(data, &run); err != nil {
				return fmt.Errorf("messages: %w", err)
			}
			*list = append(*list, run...)
			continue
		}
		var m handoff.Message
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		*list = append(*list, m)
	}
	return rows.Err()
}

// UpdateTicket replaces the header if the stored version equals t.Version,
// appends the messages of t beyond the stored transcript, then increments
// t.Version.
func (s *Store) UpdateTicket(ctx context.Context, t *handoff.Ticket) error {
	var next handoff.Ticket
	err := s.write(ctx, "update ticket "+t.ID, func(ctx context.Context, tx *sql.Tx) (err error) {
		next, err = s.replace(ctx, tx, t)
		return err
	})
	if err != nil {
		return err
	}
	t.Version = next.Version
	return nil
}

// replace does the work of UpdateTicket in tx and returns the ticket as
// stored.
func (s *Store) replace(ctx context.Context, tx *sql.Tx, t *handoff.Ticket) (handoff.Ticket, error) {
	var (
		version              int64
		nMessages, nEvidence int
	)
	err := tx.StmtContext(ctx, s.state).QueryRowContext(ctx, t.ID).Scan(&version, &nMessages, &nEvidence)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
	case err != nil:
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	case version != t.Version:
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	}
	if len(t.Messages) < nMessages || len(t.Evidence) < nEvidence {
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %d messages and %d evidence given, %d and %d stored: %w",
			t.ID, len(t.Messages), len(t.Evidence), nMessages, nEvidence, handoff.ErrInvalid)
	}
	if t.Status.Open() && t.SplitFrom == "" {
		other, err := openOf(ctx, tx.StmtContext(ctx, s.openOf), t.OpenID, t.ID)
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
		}
		if other != "" {
			return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: user has open ticket %s: %w", t.ID, other, handoff.ErrConflict)
		}
	}
	next := *t
	next.Version++
	data, err := encodeHeader(next)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	_, err = tx.StmtContext(ctx, s.update).ExecContext(ctx, next.OpenID, string(next.Status), next.Lane, next.Priority,
		next.SLADueAt.UnixMicro(), next.CreatedAt.UnixMicro(), next.Version, len(next.Messages), len(next.Evidence), data,
		next.AgentID, next.SplitFrom, !next.BreachedAt.IsZero(), t.ID, t.Version)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	if err := s.insertMessages(ctx, tx, t.ID, nMessages+nEvidence, t.Messages[nMessages:], t.Evidence[nEvidence:]); err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	return next, nil
}

// AppendMessages adds messages to the transcript, and the attachments
// among them (handoff.IsEvidence) to Evidence, in one transaction, and
// increments the version. It reads no message.
func (s *Store) AppendMessages(ctx context.Context, id string, msgs ...handoff.Message) error {
	if len(msgs) == 0 {
		var one int
		err := s.exists.QueryRowContext(ctx, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
		}
		return nil
	}
	var evidence []handoff.Message
	for _, m := range msgs {
		if handoff.IsEvidence(m) {
			evidence = append(evidence, m)
		}
	}
	return s.write(ctx, "append to ticket "+id, func(ctx context.Context, tx *sql.Tx) error {
		return s.appendMessages(ctx, tx, id, msgs, evidence)
	})
}

// appendMessages does the work of AppendMessages in tx.
func (s *Store) appendMessages(ctx context.Context, tx *sql.Tx, id string, msgs, evidence []handoff.Message) error {
	var nMessages, nEvidence int
	err := tx.StmtContext(ctx, s.bump).QueryRowContext(ctx, len(msgs), len(evidence), id).Scan(&nMessages, &nEvidence)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	// The counts are those after the append: the new rows start where the
	// old ones ended.
	if err := s.insertMessages(ctx, tx, id, nMessages+nEvidence-len(msgs)-len(evidence), msgs, evidence); err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	return nil
}

// OpenTicket returns the user's open ticket, transcript included, or
// handoff.ErrNotFound.
func (s *Store) OpenTicket(ctx context.Context, openID string) (handoff.Ticket, error) {
	t, n, err := scanHeader(s.open.QueryRowContext(ctx, openID))
	if err == nil {
		err = s.loadTranscript(ctx, &t, n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, err)
	}
	return t, nil
}

// QueuePosition returns the place of the stored ticket t.ID in the queue of
// its lane, or 0 when it is not queued. A ticket's place is the length of
// the queue (handoff_queue_counts) less the tickets behind it, or one more
// than the tickets ahead of it, both counted in the index
// handoff_tickets_queue. It counts the tickets behind first, up to
// behindLimit of them: a ticket with fewer behind it — a new ticket, last
// in its lane, has none — costs O(log n + behind) in the length n of the
// queue, about 10 µs. Only a ticket with more behind it counts those
// ahead, at a cost that grows with its place (an index-only count, about
// 0.1 µs a ticket: 11 ms for 100,000 ahead) plus the bounded count of
// those behind. The tickets behind are not counted without a bound
// because a merge raises a ticket's priority: it then stands ahead of
// most of its lane, with few tickets ahead and many behind. Each of the
// two statements reads one snapshot; the second names the ticket by id
// alone, so it answers for the ticket as stored then.
func (s *Store) QueuePosition(ctx context.Context, t handoff.Ticket) (int, error) {
	var (
		queued         bool
		length, behind int
	)
	err := s.behind.QueryRowContext(ctx, s.behindLimit, t.ID).Scan(&queued, &length, &behind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, handoff.ErrNotFound)
	case err != nil:
		return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, err)
	case !queued:
		return 0, nil
	case behind < s.behindLimit:
		// Both counts are below the limit, so exact.
		return length - behind, nil
	}
	var pos int
	err = s.position.QueryRowContext(ctx, t.ID).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, handoff.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, err)
	}
	return pos, nil
}

// QueueLength returns the number of queued tickets in the lane: one row of
// handoff_queue_counts.
func (s *Store) QueueLength(ctx context.Context, lane string) (int, error) {
	var n int
	err := s.queueLength.QueryRowContext(ctx, lane).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("handoff: queue length of %s: %w", lane, err)
	}
	return n, nil
}

// Tickets lists the tickets matching f, oldest first (by CreatedAt, then
// ID) or newest first.
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
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, f.CreatedBefore.UnixMicro())
	}
	q := "SELECT " + headerColumns + " FROM handoff_tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Newest {
		q += " ORDER BY created_at DESC, id DESC"
	} else {
		q += " ORDER BY created_at, id"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, counts, err := s.list(ctx, q, args)
	if err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	// With the one connection busy until the rows are closed, the
	// transcripts are read after the list.
	if !f.Summary {
		for i := range out {
			if err := s.loadTranscript(ctx, &out[i], counts[i]); err != nil {
				return nil, fmt.Errorf("handoff: list tickets: %s: %w", out[i].ID, err)
			}
		}
	}
	return out, nil
}

// list runs a query of headerColumns and returns the tickets with their
// transcript lengths.
func (s *Store) list(ctx context.Context, q string, args []any) ([]handoff.Ticket, []int, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out    []handoff.Ticket
		counts []int
	)
	for rows.Next() {
		t, n, err := scanHeader(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, t)
		counts = append(counts, n)
	}
	return out, counts, rows.Err()
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

// encodeHeader returns the JSON of the ticket's header: the ticket without
// its transcript.
func encodeHeader(t handoff.Ticket) (string, error) {
	t.Messages, t.Evidence = nil, nil
	data, err := json.Marshal(t)
	return string(data), err
}

// scanHeader reads a row of headerColumns and returns the ticket without its transcript and the number of rows of
// that transcript.
func scanHeader(row interface{ Scan(...any) error }) (handoff.Ticket, int, error) {
	var (
		version              int64
		nMessages, nEvidence int
		data                 []byte
		t                    handoff.Ticket
	)
	if err := row.Scan(&version, &nMessages, &nEvidence, &data); err != nil {
		return handoff.Ticket{}, 0, err
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return handoff.Ticket{}, 0, err
	}
	t.Version = version
	return t, nMessages + nEvidence, nil
}

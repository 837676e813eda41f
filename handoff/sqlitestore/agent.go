package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

// transition is an agent-side change of a ticket's header, e.g. a
// closure over handoff.Claimed.
type transition func(handoff.Ticket) (handoff.Ticket, error)

// ClaimTicket assigns the queued ticket to c.AgentID, in one transaction.
func (s *Store) ClaimTicket(ctx context.Context, id string, c handoff.Claim) (handoff.Ticket, error) {
	return s.moveByID(ctx, "claim", id, c.AgentID, c.Capacity, c.Note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Claimed(t, c)
	})
}

// AssignTicket assigns the open ticket to c.AgentID, in one transaction.
func (s *Store) AssignTicket(ctx context.Context, id string, c handoff.Claim) (handoff.Ticket, error) {
	return s.moveByID(ctx, "assign", id, c.AgentID, c.Capacity, c.Note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Assigned(t, c.AgentID, c.Note.At)
	})
}

// ReleaseTicket puts the assigned ticket back in its queue, in one
// transaction.
func (s *Store) ReleaseTicket(ctx context.Context, id string, note handoff.Message) (handoff.Ticket, error) {
	return s.moveByID(ctx, "release", id, "", 0, note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Released(t, note.At)
	})
}

// TransferTicket queues the open ticket in lane, in one transaction.
func (s *Store) TransferTicket(ctx context.Context, id string, lane handoff.Lane, note handoff.Message) (handoff.Ticket, error) {
	return s.moveByID(ctx, "transfer", id, "", 0, note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Transferred(t, lane, note.At)
	})
}

// ClaimNext reads the head of each lane's queue (the first row of
// handoff_tickets_queue) and claims the first of them, in one
// transaction: the write lock taken at its start keeps every other writer
// out until it ends.
func (s *Store) ClaimNext(ctx context.Context, lanes []handoff.Lane, c handoff.Claim) (handoff.Ticket, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
	}
	defer tx.Rollback()
	var (
		best      handoff.Ticket
		bestOrder int
		found     bool
	)
	head := tx.StmtContext(ctx, s.head)
	for _, l := range lanes {
		t, _, err := scanHeader(head.QueryRowContext(ctx, l.Name))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: claim next: head of %s: %w", l.Name, err)
		}
		if !found || handoff.FirstInQueue(t, l.Order, best, bestOrder) {
			best, bestOrder, found = t, l.Order, true
		}
	}
	if !found {
		return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", handoff.ErrEmpty)
	}
	next, err := s.move(ctx, tx, best, c.AgentID, c.Capacity, c.Note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Claimed(t, c)
	})
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
	}
	return next, nil
}

// Breached counts the lane's queued tickets due before now in the partial
// index handoff_tickets_deadline (its two ranges, marked breached or not):
// logarithmic in the length of the queue, plus the number counted.
func (s *Store) Breached(ctx context.Context, lane string, now time.Time) (int, error) {
	var n int
	if err := s.breached.QueryRowContext(ctx, lane, now.UnixMicro()).Scan(&n); err != nil {
		return 0, fmt.Errorf("handoff: breached in %s: %w", lane, err)
	}
	return n, nil
}

// MarkBreached marks the lane's unmarked queued tickets due before now
// with one UPDATE, which finds them in the partial index
// handoff_tickets_deadline (the range not yet marked): its cost grows with the number it marks,
// not with the tickets marked before.
func (s *Store) MarkBreached(ctx context.Context, lane string, now time.Time) ([]handoff.Ticket, error) {
	at, err := json.Marshal(now)
	if err != nil {
		return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
	}
	rows, err := s.markBreached.QueryContext(ctx, string(at[1:len(at)-1]), lane, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
	}
	defer rows.Close()
	var out []handoff.Ticket
	for rows.Next() {
		t, _, err := scanHeader(rows)
		if err != nil {
			return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
	}
	return out, nil
}

// AssignedCount counts the agent's rows in the partial index
// handoff_tickets_agent.
func (s *Store) AssignedCount(ctx context.Context, agentID string) (int, error) {
	var n int
	if err := s.assigned.QueryRowContext(ctx, agentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("handoff: tickets of agent %s: %w", agentID, err)
	}
	return n, nil
}

// moveByID reads ticket id and applies f to it, in one transaction.
func (s *Store) moveByID(ctx context.Context, op, id, agentID string, capacity int, note handoff.Message, f transition) (handoff.Ticket, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
	}
	defer tx.Rollback()
	t, _, err := scanHeader(tx.StmtContext(ctx, s.header).QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, handoff.ErrNotFound)
	}
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
	}
	next, err := s.move(ctx, tx, t, agentID, capacity, note, f)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
	}
	if err := tx.Commit(); err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
	}
	return next, nil
}

// move writes f(t) in tx, t being the header as read in tx, and appends
// note to the transcript. When capacity is positive and f gives the
// ticket to agentID, the agent must hold fewer than capacity tickets.
func (s *Store) move(ctx context.Context, tx *sql.Tx, t handoff.Ticket, agentID string, capacity int, note handoff.Message, f transition) (handoff.Ticket, error) {
	next, err := f(t)
	if err != nil {
		return handoff.Ticket{}, err
	}
	if capacity > 0 && !(t.Status == handoff.StatusAssigned && t.AgentID == agentID) {
		var n int
		if err := tx.StmtContext(ctx, s.assigned).QueryRowContext(ctx, agentID).Scan(&n); err != nil {
			return handoff.Ticket{}, fmt.Errorf("tickets of agent %s: %w", agentID, err)
		}
		if n >= capacity {
			return handoff.Ticket{}, fmt.Errorf("agent %s holds %d: %w", agentID, n, handoff.ErrAtCapacity)
		}
	}
	data, err := encodeHeader(next)
	if err != nil {
		return handoff.Ticket{}, err
	}
	msg, err := json.Marshal(note)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("note: %w", err)
	}
	var total int
	err = tx.StmtContext(ctx, s.moveStmt).QueryRowContext(ctx, string(next.Status), next.Lane, next.SLADueAt.UnixMicro(),
		next.AgentID, data, t.ID).Scan(&next.Version, &total)
	if err != nil {
		return handoff.Ticket{}, err
	}
	if _, err := tx.StmtContext(ctx, s.insertMessage).ExecContext(ctx, t.ID, total-1, 0, string(msg)); err != nil {
		return handoff.Ticket{}, fmt.Errorf("note: %w", err)
	}
	next.Messages, next.Evidence = nil, nil
	return next, nil
}

package handoff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors of UndoMerge.
var (
	// ErrNoMerge: the ticket has no merge of that number (or none kept
	// on record: merges before records were kept cannot be undone).
	ErrNoMerge = errors.New("handoff: no such merge")
	// ErrMergeUndone: the merge was undone already.
	ErrMergeUndone = errors.New("handoff: merge already undone")
)

// System messages of merging and undoing a merge.
const (
	textMerge       = "合并转人工请求："
	textUnmerged    = "坐席 %s 撤销了第 %d 次合并（%s），已拆分为工单 %s"
	textSplitFrom   = "坐席 %s 撤销合并：本工单由工单 %s 的第 %d 次合并（%s）拆分而来，首次回复时限 %s"
	splitIDTemplate = "%s-M%d"
)

// SplitID is the id of the ticket that undoing merge n of ticket id
// creates. Being fixed, it lets a second attempt find (or finish) the
// first one's work.
func SplitID(id string, n int) string { return fmt.Sprintf(splitIDTemplate, id, n) }

// UndoMerge undoes merge n (Merge.N) of the open ticket id for the agent
// by: the merged-in part — its reason, the transcript lines and evidence
// that came with it — is split out into a new queued ticket (SplitID) in
// the lane the merged request asked for, due that lane's SLA after the
// merge happened; the original gets merged −1 and its priority back, and
// its lane and deadline back if the merge had moved it to a faster lane
// and it is still there. Both get a system line saying what happened and
// who did it. It returns the original's new header and the split ticket.
//
// The original is updated first (compare-and-swap), then the split
// ticket is created: of two agents undoing at once, one wins and the
// other gets ErrMergeUndone; should the creation fail after the update,
// undoing again creates it. Errors: ErrNotFound, ErrNoMerge,
// ErrMergeUndone, ErrClosed, ErrUnknownLane (the merge's lane is no
// longer configured).
func (s *Service) UndoMerge(ctx context.Context, id string, n int, by Agent) (Ticket, Ticket, error) {
	for range maxCASRetries {
		t, err := s.store.Ticket(ctx, id)
		if err != nil {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, err)
		}
		if n < 1 || n > len(t.Merges) {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, ErrNoMerge)
		}
		m := t.Merges[n-1]
		if m.Undone() {
			split, err := s.finishSplit(ctx, t, m)
			if err != nil {
				return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, err)
			}
			return headerOf(t), split, nil
		}
		if !t.Status.Open() {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, ErrClosed)
		}
		lane, err := s.lanes.Lane(m.Lane)
		if err != nil {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, err)
		}
		now := s.now()
		split := splitOf(t, m, lane, by, now)
		unmerge(&t, n, by, split.ID, now)
		err = s.store.UpdateTicket(ctx, &t)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, err)
		}
		s.publishTicket(ctx, EventMergeUndone, t)
		err = s.store.CreateTicket(ctx, &split)
		if errors.Is(err, ErrConflict) { // finishSplit created it meanwhile
			split, err = s.store.TicketHeader(ctx, split.ID)
			return headerOf(t), split, err
		}
		if err != nil {
			return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: split out %s: %w", n, id, split.ID, err)
		}
		s.publishTicket(ctx, EventTicketCreated, split)
		return headerOf(t), headerOf(split), nil
	}
	return Ticket{}, Ticket{}, fmt.Errorf("handoff: undo merge %d of %s: %w", n, id, ErrConflict)
}

// splitGrace is how long after an undo its split ticket may be missing
// because the undo is still creating it; past it, the undo stopped.
const splitGrace = time.Minute

// finishSplit handles an undo of merge m of t that is on record already:
// ErrMergeUndone when its split ticket exists or the undo is recent
// (still creating it), else it creates it (that undo stopped between its
// two writes) and returns it.
func (s *Service) finishSplit(ctx context.Context, t Ticket, m Merge) (Ticket, error) {
	if s.now().Sub(m.UndoneAt) < splitGrace {
		return Ticket{}, ErrMergeUndone
	}
	_, err := s.store.TicketHeader(ctx, m.SplitTo)
	if !errors.Is(err, ErrNotFound) {
		if err != nil {
			return Ticket{}, err
		}
		return Ticket{}, ErrMergeUndone
	}
	lane, err := s.lanes.Lane(m.Lane)
	if err != nil {
		return Ticket{}, err
	}
	split := splitOf(t, m, lane, Agent{ID: m.UndoneBy, Name: m.UndoneBy}, m.UndoneAt)
	if err := s.store.CreateTicket(ctx, &split); err != nil {
		if errors.Is(err, ErrConflict) { // created meanwhile
			return Ticket{}, ErrMergeUndone
		}
		return Ticket{}, err
	}
	s.publishTicket(ctx, EventTicketCreated, split)
	return headerOf(split), nil
}

// splitOf returns the ticket that merge m of t splits out into, queued in
// lane with the deadline the request would have had alone.
func splitOf(t Ticket, m Merge, lane Lane, by Agent, now time.Time) Ticket {
	due := m.At.Add(lane.SLA)
	msgs := slices.Clone(t.Messages[m.Messages[0]:min(m.Messages[1], len(t.Messages))])
	msgs = append(msgs, Message{From: FromSystem, Kind: "split",
		Text: fmt.Sprintf(textSplitFrom, by.Name, t.ID, m.N, m.Reason, due.Format("01-02 15:04")), At: now})
	return Ticket{
		ID:        SplitID(t.ID, m.N),
		OpenID:    t.OpenID,
		UnionID:   t.UnionID,
		Lane:      lane.Name,
		Reasons:   []string{m.Reason},
		Status:    StatusQueued,
		SLADueAt:  due,
		SLA:       lane.SLA,
		CreatedAt: m.At,
		UpdatedAt: now,
		QueuedAt:  m.At,
		Messages:  msgs,
		Evidence:  slices.Clone(t.Evidence[m.Evidence[0]:min(m.Evidence[1], len(t.Evidence))]),
		SplitFrom: t.ID,
	}
}

// unmerge takes merge n out of t: merged −1, priority −1, its reason out,
// lane and deadline back when the merge moved the ticket and it is still
// in the lane the merge moved it to; the merge is marked undone and a
// system line says so.
func unmerge(t *Ticket, n int, by Agent, splitID string, now time.Time) {
	m := &t.Merges[n-1]
	// The reasons end with those of the merges not undone, in order.
	kept := 0
	for _, o := range t.Merges[n-1:] {
		if !o.Undone() {
			kept++
		}
	}
	if i := len(t.Reasons) - kept; i >= 1 && t.Reasons[i] == m.Reason {
		t.Reasons = slices.Delete(slices.Clone(t.Reasons), i, i+1)
	}
	t.Merged = max(t.Merged-1, 0)
	t.Priority = max(t.Priority-1, 0)
	if m.PrevLane != "" && t.Lane == m.Lane {
		t.Lane, t.SLADueAt, t.SLA = m.PrevLane, m.PrevDue, m.PrevSLA
		if !t.SLADueAt.Before(now) {
			t.BreachedAt = time.Time{}
		}
	}
	m.UndoneAt, m.UndoneBy, m.SplitTo = now, by.ID, splitID
	t.Messages = append(t.Messages, Message{From: FromSystem, Kind: "unmerge",
		Text: fmt.Sprintf(textUnmerged, by.Name, n, m.Reason, splitID), At: now})
	t.UpdatedAt = now
}

// headerOf returns t without its transcript, as the agent-side operations
// return tickets.
func headerOf(t Ticket) Ticket {
	t.Messages, t.Evidence = nil, nil
	return t
}

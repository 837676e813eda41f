package handoff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors of the agent-side operations.
var (
	// ErrNotQueued: the ticket is not waiting in a queue, e.g. another
	// agent claimed it first.
	ErrNotQueued = errors.New("handoff: ticket not queued")
	// ErrNotAssigned: the ticket is not assigned to an agent.
	ErrNotAssigned = errors.New("handoff: ticket not assigned")
	// ErrClosed: the ticket is closed.
	ErrClosed = errors.New("handoff: ticket closed")
	// ErrEmpty: no ticket waits in the queues asked for.
	ErrEmpty = errors.New("handoff: no ticket waiting")
	// ErrAtCapacity: the agent already holds as many tickets as allowed.
	ErrAtCapacity = errors.New("handoff: agent at capacity")
	// ErrNoSkill: the agent does not serve the ticket's lane (or any
	// configured lane).
	ErrNoSkill = errors.New("handoff: agent does not serve the lane")
)

// Agent is a person who works tickets, as the service needs to know them:
// the lanes they serve (their skills) and how many tickets they may hold
// at once (0 = no limit). Accounts map to it.
type Agent struct {
	ID       string
	Name     string
	Lanes    []string
	Capacity int
}

// Serves reports whether the agent serves the lane.
func (a Agent) Serves(lane string) bool { return slices.Contains(a.Lanes, lane) }

// Claim tells a Store who takes a ticket, within what load, and what the
// transcript says about it.
type Claim struct {
	AgentID string
	// Capacity, when positive, is the most tickets the agent may hold:
	// a claim that would exceed it fails with ErrAtCapacity. The store
	// checks it in the same atomic step as the claim.
	Capacity int
	// Lanes, when not nil, are the lanes the agent serves: a claim of a
	// ticket in another lane fails with ErrNoSkill (checked on the ticket
	// as stored, in the atomic step). Transfers to an agent leave it nil.
	Lanes []string
	// Note is appended to the transcript; Note.At is the time of the
	// claim.
	Note Message
}

// Claimed returns t assigned to c.AgentID at c.Note.At: the transition of
// a claim. ErrNotQueued unless t is queued, ErrNoSkill when c.Lanes does
// not hold its lane.
func Claimed(t Ticket, c Claim) (Ticket, error) {
	if t.Status != StatusQueued {
		return t, fmt.Errorf("handoff: claim %s (%s): %w", t.ID, t.Status, ErrNotQueued)
	}
	if c.Lanes != nil && !slices.Contains(c.Lanes, t.Lane) {
		return t, fmt.Errorf("handoff: claim %s: agent %s, lane %s: %w", t.ID, c.AgentID, t.Lane, ErrNoSkill)
	}
	return assign(t, c.AgentID, c.Note.At), nil
}

// Assigned returns the open ticket t assigned to agentID at `at`, whether
// it was queued or held by another agent: the transition of a transfer to
// an agent. ErrClosed when t is closed.
func Assigned(t Ticket, agentID string, at time.Time) (Ticket, error) {
	if !t.Status.Open() {
		return t, fmt.Errorf("handoff: assign %s: %w", t.ID, ErrClosed)
	}
	return assign(t, agentID, at), nil
}

func assign(t Ticket, agentID string, at time.Time) Ticket {
	t.Status = StatusAssigned
	t.AgentID = agentID
	t.AssignedAt = at
	t.UpdatedAt = at
	return t
}

// Released returns the assigned ticket t back in its lane's queue at `at`.
// It keeps its deadline, priority and creation time, so it goes back to
// the place it had; the queue timeout counts from `at`: the user is not penalised for the agent's leaving.
// ErrNotAssigned unless t is assigned.
func Released(t Ticket, at time.Time) (Ticket, error) {
	if t.Status != StatusAssigned {
		return t, fmt.Errorf("handoff: release %s (%s): %w", t.ID, t.Status, ErrNotAssigned)
	}
	return queue(t, t.Lane, t.SLADueAt, at), nil
}

// Transferred returns the open ticket t queued in lane at `at`. Its
// deadline is the earlier of the one it had and `at` plus the lane's SLA —
// the rule of a merge into a faster lane (DESIGN §3): a transfer never
// makes the user wait longer than promised, and a faster lane shortens
// the wait. ErrClosed when t is closed.
func Transferred(t Ticket, lane Lane, at time.Time) (Ticket, error) {
	if !t.Status.Open() {
		return t, fmt.Errorf("handoff: transfer %s: %w", t.ID, ErrClosed)
	}
	due := t.SLADueAt
	if d := at.Add(lane.SLA); due.IsZero() || d.Before(due) {
		due = d
	}
	// The deadline counts in the new lane's SLA from here on: a change of
	// that SLA moves it (RecomputeSLAs).
	t.SLA = lane.SLA
	return queue(t, lane.Name, due, at), nil
}

func queue(t Ticket, lane string, due, at time.Time) Ticket {
	t.Status = StatusQueued
	t.Lane = lane
	t.SLADueAt = due
	t.QueuedAt = at
	t.AgentID = ""
	t.AssignedAt = time.Time{}
	t.UpdatedAt = at
	return t
}

// Breached reports whether the ticket waits in a queue past its SLA
// deadline.
func (t Ticket) Breached(now time.Time) bool {
	return t.Status == StatusQueued && now.After(t.SLADueAt)
}

// FirstInQueue reports whether the queued ticket a, of a lane of order
// aOrder, is to be taken before b, of a lane of order bOrder: lane order
// first, then QueueOrder. Store.ClaimNext picks with it.
func FirstInQueue(a Ticket, aOrder int, b Ticket, bOrder int) bool {
	if aOrder != bOrder {
		return aOrder < bOrder
	}
	return QueueOrder(a, b) < 0
}

// System messages of the agent-side operations.
const (
	textClaim    = "坐席 %s 已接入"
	textRelease  = "已退回队列"
	textTransfer = "已转至%s队列"
	textAssign   = "已转给坐席 %s"
)

func systemNote(kind, text string, at time.Time) Message {
	return Message{From: FromSystem, Kind: kind, Text: text, At: at}
}

// Claim assigns the queued ticket to the agent, who must serve its lane
// and have room below their capacity. It returns ErrNoSkill,
// ErrAtCapacity, ErrNotQueued (another agent was first) or ErrNotFound.
func (s *Service) Claim(ctx context.Context, ticketID string, a Agent) (Ticket, error) {
	c := s.claim(a)
	c.Lanes = append([]string{}, a.Lanes...)
	t, err := s.store.ClaimTicket(ctx, ticketID, c)
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: claim %s: %w", ticketID, err)
	}
	s.publishTicket(ctx, EventClaimed, t)
	return t, nil
}

// ClaimNext claims for the agent the first ticket waiting in the lanes
// they serve: lane order, then priority and deadline. It returns ErrEmpty
// when none waits, ErrAtCapacity, or ErrNoSkill when the agent serves no
// configured lane.
func (s *Service) ClaimNext(ctx context.Context, a Agent) (Ticket, error) {
	var lanes []Lane
	for _, name := range a.Lanes {
		if l, err := s.lanes.Lane(name); err == nil {
			lanes = append(lanes, l)
		}
	}
	if len(lanes) == 0 {
		return Ticket{}, fmt.Errorf("handoff: claim next for %s: %w", a.ID, ErrNoSkill)
	}
	t, err := s.store.ClaimNext(ctx, lanes, s.claim(a))
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: claim next for %s: %w", a.ID, err)
	}
	s.publishTicket(ctx, EventClaimed, t)
	return t, nil
}

func (s *Service) claim(a Agent) Claim {
	return Claim{AgentID: a.ID, Capacity: a.Capacity,
		Note: systemNote("claim", fmt.Sprintf(textClaim, a.Name), s.now())}
}

// Release puts the assigned ticket back in its lane's queue, at its old
// place (its deadline is kept). ErrNotAssigned when it is not assigned.
func (s *Service) Release(ctx context.Context, ticketID string) (Ticket, error) {
	t, err := s.store.ReleaseTicket(ctx, ticketID, systemNote("release", textRelease, s.now()))
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: release %s: %w", ticketID, err)
	}
	s.publishTicket(ctx, EventReleased, t)
	return t, nil
}

// TransferToLane queues the open ticket in another lane; see Transferred
// for its deadline. ErrUnknownLane, ErrClosed.
func (s *Service) TransferToLane(ctx context.Context, ticketID, lane string) (Ticket, error) {
	l, err := s.lanes.Lane(lane)
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: transfer %s: %w", ticketID, err)
	}
	note := systemNote("transfer", fmt.Sprintf(textTransfer, l.Title), s.now())
	t, err := s.store.TransferTicket(ctx, ticketID, l, note)
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: transfer %s: %w", ticketID, err)
	}
	s.publishTicket(ctx, EventTransferred, t)
	return t, nil
}

// TransferToAgent assigns the open ticket to another agent, within their
// capacity. A transfer is a person's decision: the agent need not serve
// the ticket's lane. ErrAtCapacity, ErrClosed.
func (s *Service) TransferToAgent(ctx context.Context, ticketID string, to Agent) (Ticket, error) {
	c := Claim{AgentID: to.ID, Capacity: to.Capacity,
		Note: systemNote("transfer", fmt.Sprintf(textAssign, to.Name), s.now())}
	t, err := s.store.AssignTicket(ctx, ticketID, c)
	if err != nil {
		return Ticket{}, fmt.Errorf("handoff: transfer %s to %s: %w", ticketID, to.ID, err)
	}
	s.publishTicket(ctx, EventTransferred, t)
	return t, nil
}

// AddNote adds an internal note by the agent to the ticket's transcript;
// users never see notes. Its Ref names the agent ("agent:<id>").
func (s *Service) AddNote(ctx context.Context, ticketID, agentID, text string) error {
	m := Message{From: FromNote, Kind: "text", Text: text, Ref: "agent:" + agentID, At: s.now()}
	if err := s.store.AppendMessages(ctx, ticketID, m); err != nil {
		return fmt.Errorf("handoff: note on %s: %w", ticketID, err)
	}
	s.publishAppended(ctx, EventNote, ticketID, m)
	return nil
}

// Breaches returns the number of breached tickets (Ticket.Breached) in
// each configured lane, for metrics and the panel.
func (s *Service) Breaches(ctx context.Context) (map[string]int, error) {
	now := s.now()
	out := make(map[string]int, len(s.lanes.list))
	for _, l := range s.lanes.list {
		n, err := s.store.Breached(ctx, l.Name, now)
		if err != nil {
			return nil, fmt.Errorf("handoff: breaches: %w", err)
		}
		out[l.Name] = n
	}
	return out, nil
}

// Load returns the number of tickets assigned to the agent.
func (s *Service) Load(ctx context.Context, agentID string) (int, error) {
	n, err := s.store.AssignedCount(ctx, agentID)
	if err != nil {
		return 0, fmt.Errorf("handoff: load of %s: %w", agentID, err)
	}
	return n, nil
}

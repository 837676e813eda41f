package handoff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Options configure a Service.
type Options struct {
	Store Store
	Lanes Lanes
	// RepeatLimit is how many tickets a user may open within RepeatWindow
	// before being told about the latest one instead (seed 二); 0 = 3.
	RepeatLimit  int
	RepeatWindow time.Duration // 0 = 12 h
	// AgentTimeout, UserTimeout and QueueTimeout are the timeouts of
	// Sweep; 0 = DefaultAgentTimeout, DefaultUserTimeout,
	// DefaultQueueTimeout.
	AgentTimeout time.Duration
	UserTimeout  time.Duration
	QueueTimeout time.Duration
	Now          func() time.Time
	// Events, when set, receives an Event after each successful change.
	Events Events
	// Logger logs failed publishes; nil = discard.
	Logger *slog.Logger
}

// Service opens, merges and reports on tickets.
type Service struct {
	store        Store
	lanes        Lanes
	repeatLimit  int
	repeatWindow time.Duration
	agentTimeout time.Duration
	userTimeout  time.Duration
	queueTimeout time.Duration
	now          func() time.Time
	events       Events
	log          *slog.Logger
}

// NewService returns a Service over opts.Store.
func NewService(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("handoff: a store is required")
	}
	if opts.Lanes.byName == nil {
		return nil, errors.New("handoff: lanes are required")
	}
	s := &Service{store: opts.Store, lanes: opts.Lanes, repeatLimit: opts.RepeatLimit,
		repeatWindow: opts.RepeatWindow, agentTimeout: opts.AgentTimeout, userTimeout: opts.UserTimeout,
		queueTimeout: opts.QueueTimeout, now: opts.Now,
		events: opts.Events, log: cmp.Or(opts.Logger, discardLogger)}
	if s.repeatLimit <= 0 {
		s.repeatLimit = 3
	}
	if s.repeatWindow <= 0 {
		s.repeatWindow = 12 * time.Hour
	}
	if s.agentTimeout <= 0 {
		s.agentTimeout = DefaultAgentTimeout
	}
	if s.userTimeout <= 0 {
		s.userTimeout = DefaultUserTimeout
	}
	if s.queueTimeout <= 0 {
		s.queueTimeout = DefaultQueueTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Lanes returns the configured lanes.
func (s *Service) Lanes() Lanes { return s.lanes }

// Store returns the ticket store.
func (s *Service) Store() Store { return s.store }

// Request asks for a person.
type Request struct {
	OpenID string
	Lane   string
	// Reason is "failed_turns", "user_request", "urgent:<lane>" or
	// "flow:<id>".
	Reason string
	// Transcript is the conversation so far; attachments in it become
	// evidence.
	Transcript []Message
}

// Outcome tells what a handoff did.
type Outcome struct {
	Ticket Ticket
	// Merged is set when the request joined the user's open ticket.
	Merged bool
	// Limited is set when the user hit the repeat limit: no ticket was
	// opened and Ticket is their latest one, without its transcript.
	Limited bool
	// Position is the 1-based place in the lane's queue; Wait is the time
	// left until the SLA deadline, the longest the user should wait.
	Position int
	Wait     time.Duration
}

// maxCASRetries bounds the compare-and-swap retries of one update.
const maxCASRetries = 8

// Handoff opens a ticket for the request, or merges it into the user's open
// ticket: reasons and evidence appended, merged +1, priority raised, and the
// ticket moved to the request's lane when that lane is served first. When
// another instance opens the user's ticket at the same moment, the store
// refuses the second one (a user has at most one open ticket) and the
// request merges into the first.
func (s *Service) Handoff(ctx context.Context, req Request) (Outcome, error) {
	lane, err := s.lanes.Lane(req.Lane)
	if err != nil {
		return Outcome{}, err
	}
	now := s.now()
	for range maxCASRetries {
		t, err := s.store.OpenTicket(ctx, req.OpenID)
		switch {
		case errors.Is(err, ErrNotFound):
			out, err := s.open(ctx, req, lane, now)
			if errors.Is(err, ErrConflict) {
				continue // opened meanwhile: merge into it
			}
			return out, err
		case err != nil:
			return Outcome{}, fmt.Errorf("handoff: open ticket of user: %w", err)
		}
		s.merge(&t, req, lane, now)
		err = s.store.UpdateTicket(ctx, &t)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("handoff: merge into %s: %w", t.ID, err)
		}
		s.publishTicket(ctx, EventTicketMerged, t)
		return s.outcome(ctx, t, true)
	}
	return Outcome{}, fmt.Errorf("handoff: merge for user: %w", ErrConflict)
}

// open opens a new ticket, unless the user hit the repeat limit. It
// returns an error wrapping ErrConflict when the user has an open ticket
// after all.
func (s *Service) open(ctx context.Context, req Request, lane Lane, now time.Time) (Outcome, error) {
	n, err := s.store.CountSince(ctx, req.OpenID, now.Add(-s.repeatWindow))
	if err != nil {
		return Outcome{}, fmt.Errorf("handoff: count recent tickets: %w", err)
	}
	if n >= s.repeatLimit && req.Reason != "" && !isUrgent(req.Reason) {
		latest, err := s.store.Tickets(ctx, Filter{OpenID: req.OpenID, Newest: true, Limit: 1, Summary: true})
		if err != nil {
			return Outcome{}, fmt.Errorf("handoff: latest ticket: %w", err)
		}
		if len(latest) > 0 {
			return Outcome{Ticket: latest[0], Limited: true}, nil
		}
	}
	t := Ticket{
		OpenID:    req.OpenID,
		Lane:      lane.Name,
		Reasons:   []string{req.Reason},
		Status:    StatusQueued,
		SLADueAt:  now.Add(lane.SLA),
		SLA:       lane.SLA,
		CreatedAt: now,
		UpdatedAt: now,
		QueuedAt:  now,
		Messages: append(slices.Clone(req.Transcript), Message{From: FromSystem, Kind: "handoff",
			Text: fmt.Sprintf("转人工：%s，原因 %s，首次回复时限 %s", lane.Title, req.Reason,
				now.Add(lane.SLA).Format("01-02 15:04")), At: now}),
		Evidence: evidence(req.Transcript),
	}
	if err := s.store.CreateTicket(ctx, &t); err != nil {
		return Outcome{}, fmt.Errorf("handoff: create ticket: %w", err)
	}
	s.publishTicket(ctx, EventTicketCreated, t)
	return s.outcome(ctx, t, false)
}

// merge joins the request to the open ticket t and records what it added
// in t.Merges, for UndoMerge.
func (s *Service) merge(t *Ticket, req Request, lane Lane, now time.Time) {
	m := Merge{N: len(t.Merges) + 1, Reason: req.Reason, Lane: lane.Name, At: now}
	t.Reasons = append(t.Reasons, req.Reason)
	t.Merged++
	t.Priority++
	if s.lanes.Before(lane.Name, t.Lane) {
		m.PrevLane, m.PrevDue, m.PrevSLA = t.Lane, t.SLADueAt, t.SLA
		t.Lane = lane.Name
		t.SLA = lane.SLA
		if due := now.Add(lane.SLA); due.Before(t.SLADueAt) {
			t.SLADueAt = due
		}
	}
	m.Messages[0], m.Evidence[0] = len(t.Messages), len(t.Evidence)
	t.Messages = append(t.Messages, Message{From: FromSystem, Kind: "merge",
		Text: textMerge + req.Reason, At: now})
	t.Messages = append(t.Messages, newSince(t.Messages, req.Transcript)...)
	t.Evidence = append(t.Evidence, evidence(newSince(t.Evidence, req.Transcript))...)
	m.Messages[1], m.Evidence[1] = len(t.Messages), len(t.Evidence)
	t.Merges = append(t.Merges, m)
	t.UpdatedAt = now
}

// newSince returns the messages of transcript later than the last of have,
// so a merge does not repeat what the ticket already holds.
func newSince(have, transcript []Message) []Message {
	var last time.Time
	for _, m := range have {
		if m.From != FromSystem && m.At.After(last) {
			last = m.At
		}
	}
	var out []Message
	for _, m := range transcript {
		if m.At.After(last) {
			out = append(out, m)
		}
	}
	return out
}

func evidence(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if IsEvidence(m) {
			out = append(out, m)
		}
	}
	return out
}

func isUrgent(reason string) bool { return len(reason) > 7 && reason[:7] == "urgent:" }

func (s *Service) outcome(ctx context.Context, t Ticket, merged bool) (Outcome, error) {
	pos, err := s.Position(ctx, t)
	if err != nil {
		return Outcome{}, err
	}
	wait := t.SLADueAt.Sub(s.now())
	if wait < 0 {
		wait = 0
	}
	return Outcome{Ticket: t, Merged: merged, Position: pos, Wait: wait}, nil
}

// Position returns the ticket's 1-based place among the queued tickets of
// its lane, in QueueOrder, or 0 when it is not queued.
func (s *Service) Position(ctx context.Context, t Ticket) (int, error) {
	if t.Status != StatusQueued {
		return 0, nil
	}
	pos, err := s.store.QueuePosition(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("handoff: position of %s: %w", t.ID, err)
	}
	return pos, nil
}

// Append adds messages from the user (or the system) to an open ticket.
func (s *Service) Append(ctx context.Context, id string, msgs ...Message) error {
	if err := s.store.AppendMessages(ctx, id, msgs...); err != nil {
		return fmt.Errorf("handoff: append to %s: %w", id, err)
	}
	if len(msgs) > 0 {
		s.publishAppended(ctx, EventMessage, id, msgs[len(msgs)-1])
	}
	return nil
}

// Close closes a ticket with a resolution code, noting why in the
// transcript. Closing a closed ticket is not an error.
func (s *Service) Close(ctx context.Context, id, resolution string) (Ticket, error) {
	t, closed, err := s.closeIf(ctx, id, resolution, nil)
	if closed {
		s.publishTicket(ctx, EventClosed, t)
	}
	return t, err
}

// closeIf closes the ticket as Close does when cond, if given, holds for
// it as read at the compare-and-swap. It reports whether it closed it.
func (s *Service) closeIf(ctx context.Context, id, resolution string, cond func(Ticket) bool) (Ticket, bool, error) {
	for range maxCASRetries {
		t, err := s.store.Ticket(ctx, id)
		if err != nil {
			return Ticket{}, false, fmt.Errorf("handoff: close %s: %w", id, err)
		}
		if t.Status == StatusClosed || cond != nil && !cond(t) {
			return t, false, nil
		}
		now := s.now()
		t.Status = StatusClosed
		t.ClosedAt = now
		t.UpdatedAt = now
		t.Messages = append(t.Messages, Message{From: FromSystem, Kind: "close", Text: "工单关闭：" + resolution, At: now})
		err = s.store.UpdateTicket(ctx, &t)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Ticket{}, false, fmt.Errorf("handoff: close %s: %w", id, err)
		}
		return t, true, nil
	}
	return Ticket{}, false, fmt.Errorf("handoff: close %s: %w", id, ErrConflict)
}

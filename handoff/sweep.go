package handoff

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Default timeouts of DESIGN §2.
const (
	DefaultAgentTimeout = 30 * time.Minute
	DefaultUserTimeout  = 30 * time.Minute
	DefaultQueueTimeout = 24 * time.Hour
)

// Resolutions of the tickets Sweep closes.
const (
	// ResolutionUserSilent closes a ticket whose user stopped answering
	// the agent.
	ResolutionUserSilent = "user_silent"
	// ResolutionQueueTimeout closes a ticket that waited in its queue
	// longer than the queue timeout.
	ResolutionQueueTimeout = "queue_timeout"
)

// textAgentSilent is the note of a ticket taken back from a silent agent.
const textAgentSilent = "坐席超时未回复，已退回队列"

// Timeout is what a timeout does to an assigned ticket.
type Timeout int

// The timeouts of an assigned ticket (DESIGN §2).
const (
	// NoTimeout: nothing is due.
	NoTimeout Timeout = iota
	// AgentSilent: the user has waited for the agent longer than the
	// agent timeout; the ticket goes back to the queue.
	AgentSilent
	// UserSilent: the agent answered and the user has not replied for
	// longer than the user timeout; the ticket is closed.
	UserSilent
)

// TimedOut returns the timeout due at now on the assigned ticket t, whose
// transcript it reads. Only messages from the assignment on count. The
// user waits for the agent from the assignment, and again from their
// first message after each agent reply; the agent waits for the user from
// their last reply.
func TimedOut(t Ticket, now time.Time, agentTimeout, userTimeout time.Duration) Timeout {
	if t.Status != StatusAssigned {
		return NoTimeout
	}
	start := t.AssignedAt
	if start.IsZero() {
		start = t.UpdatedAt
	}
	var lastAgent time.Time
	waiting := start // when the user began to wait for the agent; zero while the agent waits
	for _, m := range t.Messages {
		if m.At.Before(start) {
			continue
		}
		switch m.From {
		case FromAgent:
			lastAgent, waiting = m.At, time.Time{}
		case FromUser:
			if waiting.IsZero() {
				waiting = m.At
			}
		}
	}
	switch {
	case !waiting.IsZero() && now.Sub(waiting) >= agentTimeout:
		return AgentSilent
	case waiting.IsZero() && now.Sub(lastAgent) >= userTimeout:
		return UserSilent
	}
	return NoTimeout
}

// QueueTimedOut reports whether the ticket t has waited in its queue
// (since QueuedAt, or CreatedAt for older tickets) for timeout or longer
// at now.
func QueueTimedOut(t Ticket, now time.Time, timeout time.Duration) bool {
	return t.Status == StatusQueued && now.Sub(t.queuedSince()) >= timeout
}

// Swept tells what a Sweep did.
type Swept struct {
	// Released went back to their lane's queue: their agent was silent.
	Released []Ticket
	// Closed were closed with ResolutionUserSilent; the caller tells their
	// users.
	Closed []Ticket
	// Expired were closed with ResolutionQueueTimeout: nobody took them
	// within the queue timeout. The caller tells their users.
	Expired []Ticket
	// Breached were marked breached by this sweep (Store.MarkBreached):
	// each ticket is in the Breached of one sweep of one instance only.
	Breached []Ticket
}

// Sweep applies the timeouts of DESIGN §2, as TimedOut and QueueTimedOut
// say: a silent agent's ticket goes back to its queue (at its old place),
// a silent user's is closed, and so is a ticket that waited in its queue
// past the queue timeout. It then marks the queued tickets past their
// deadline breached. The server calls it periodically, on every
// instance. It reads every assigned ticket with its transcript (their
// number is bounded by the agents' capacities) and the headers of the
// queued tickets created before the queue timeout. A close checks the
// timeout again on the ticket it closes (compare-and-swap); a release
// does not, so an agent's reply in the milliseconds between the read and
// the release does not save the ticket. It goes on past the errors of
// single tickets and returns them joined.
func (s *Service) Sweep(ctx context.Context) (Swept, error) {
	now := s.now()
	list, err := s.store.Tickets(ctx, Filter{Statuses: []Status{StatusAssigned}})
	if err != nil {
		return Swept{}, fmt.Errorf("handoff: sweep: %w", err)
	}
	var (
		out  Swept
		errs []error
	)
	for _, t := range list {
		switch TimedOut(t, now, s.agentTimeout, s.userTimeout) {
		case AgentSilent:
			r, err := s.store.ReleaseTicket(ctx, t.ID, systemNote("release", textAgentSilent, now))
			switch {
			case errors.Is(err, ErrNotAssigned) || errors.Is(err, ErrNotFound):
			case err != nil:
				errs = append(errs, fmt.Errorf("handoff: sweep: release %s: %w", t.ID, err))
			default:
				out.Released = append(out.Released, r)
			}
		case UserSilent:
			silent := func(t Ticket) bool { return TimedOut(t, now, s.agentTimeout, s.userTimeout) == UserSilent }
			c, closed, err := s.closeIf(ctx, t.ID, ResolutionUserSilent, silent)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("handoff: sweep: %w", err))
			case closed:
				out.Closed = append(out.Closed, c)
			}
		}
	}
	expired, err := s.expire(ctx, now)
	out.Expired = expired
	errs = append(errs, err)
	for _, l := range s.lanes.list {
		marked, err := s.store.MarkBreached(ctx, l.Name, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("handoff: sweep: mark breached in %s: %w", l.Name, err))
		}
		out.Breached = append(out.Breached, marked...)
	}
	s.publishSwept(ctx, out)
	return out, errors.Join(errs...)
}

// expire closes the queued tickets that QueueTimedOut at now, checking
// again on each ticket it closes, and returns them.
func (s *Service) expire(ctx context.Context, now time.Time) ([]Ticket, error) {
	// A ticket entered its queue at its creation or later: only those
	// created before the cutoff may have waited that long.
	list, err := s.store.Tickets(ctx, Filter{Statuses: []Status{StatusQueued},
		CreatedBefore: now.Add(-s.queueTimeout).Add(time.Microsecond), Summary: true})
	if err != nil {
		return nil, fmt.Errorf("handoff: sweep: queued tickets: %w", err)
	}
	expired := func(t Ticket) bool { return QueueTimedOut(t, now, s.queueTimeout) }
	var (
		out  []Ticket
		errs []error
	)
	for _, t := range list {
		if !expired(t) {
			continue
		}
		c, closed, err := s.closeIf(ctx, t.ID, ResolutionQueueTimeout, expired)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("handoff: sweep: %w", err))
		case closed:
			out = append(out, c)
		}
	}
	return out, errors.Join(errs...)
}

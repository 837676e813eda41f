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
)

// ResolutionUserSilent closes a ticket whose user stopped answering the
// agent (see Sweep).
const ResolutionUserSilent = "user_silent"

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

// Swept tells what a Sweep did.
type Swept struct {
	// Released went back to their lane's queue: their agent was silent.
	Released []Ticket
	// Closed were closed with ResolutionUserSilent; the caller tells their
	// users.
	Closed []Ticket
}

// Sweep applies the timeouts of DESIGN §2 to the assigned tickets, as
// TimedOut says: a silent agent's ticket goes back to its queue (at its
// old place), a silent user's is closed. The server calls it
// periodically. It reads every assigned ticket with its transcript: their
// number is bounded by the agents' capacities. A close checks the
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
	s.publishSwept(ctx, out)
	return out, errors.Join(errs...)
}

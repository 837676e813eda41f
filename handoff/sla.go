package handoff

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// recomputed returns the open ticket t with its deadline counted in the
// SLA of lane l, its lane, and whether that changed anything: the
// deadline's clock start (SLADueAt − t.SLA; CreatedAt when t.SLA is not
// known) plus l.SLA. A deadline moved past now is no longer breached.
func recomputed(t Ticket, l Lane, now time.Time) (Ticket, bool) {
	if !t.Status.Open() || t.Lane != l.Name || t.SLA == l.SLA {
		return t, false
	}
	start := t.CreatedAt
	if t.SLA > 0 {
		start = t.SLADueAt.Add(-t.SLA)
	}
	t.SLADueAt, t.SLA = start.Add(l.SLA), l.SLA
	if !t.SLADueAt.Before(now) {
		t.BreachedAt = time.Time{}
	}
	return t, true
}

// RecomputeSLAs gives the open tickets the deadlines of their lanes' SLAs
// as configured now: a ticket whose deadline was set with another SLA
// (the configuration changed since) is due its clock's start plus the
// new SLA — its creation plus the new SLA, unless it changed lanes since
// (then the transfer or merge that moved it started the clock). Tickets
// stored before tickets kept their SLA count from their creation. The
// queues reorder with the new deadlines. The server calls it at start;
// it changes nothing the second time, so every instance may. It returns
// the number of tickets changed, and goes on past the errors of single
// tickets, returning them joined.
func (s *Service) RecomputeSLAs(ctx context.Context) (int, error) {
	now := s.now()
	var (
		changed int
		errs    []error
	)
	for _, l := range s.lanes.list {
		list, err := s.store.Tickets(ctx, Filter{Statuses: []Status{StatusQueued, StatusAssigned}, Lane: l.Name, Summary: true})
		if err != nil {
			return changed, fmt.Errorf("handoff: recompute SLAs of %s: %w", l.Name, err)
		}
		for _, h := range list {
			if _, ok := recomputed(h, l, now); !ok {
				continue
			}
			ok, err := s.recompute(ctx, h.ID, l, now)
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				changed++
			}
		}
	}
	return changed, errors.Join(errs...)
}

// recompute recomputes the deadline of ticket id in lane l with
// compare-and-swap, reporting whether it changed it.
func (s *Service) recompute(ctx context.Context, id string, l Lane, now time.Time) (bool, error) {
	for range maxCASRetries {
		t, err := s.store.Ticket(ctx, id)
		if err != nil {
			return false, fmt.Errorf("handoff: recompute SLA of %s: %w", id, err)
		}
		next, ok := recomputed(t, l, now)
		if !ok {
			return false, nil
		}
		err = s.store.UpdateTicket(ctx, &next)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("handoff: recompute SLA of %s: %w", id, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("handoff: recompute SLA of %s: %w", id, ErrConflict)
}

package handofftest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

func mustPosition(t *testing.T, s handoff.Store, tk handoff.Ticket) int {
	t.Helper()
	pos, err := s.QueuePosition(context.Background(), tk)
	if err != nil {
		t.Fatalf("QueuePosition(%s): %v", tk.ID, err)
	}
	return pos
}

// testQueueOrder fills three lanes with tickets of random priorities,
// deadlines (many equal, some before creation: breached) and creation
// times, some of them not queued, and checks every ticket's place against
// handoff.QueueOrder.
func testQueueOrder(t *testing.T, s handoff.Store) {
	rng := rand.New(rand.NewPCG(20261125, 7))
	lanes := []string{"emergency", "normal", "care"}
	var all []*handoff.Ticket
	for i := range 90 {
		st := handoff.StatusQueued
		switch i % 6 {
		case 4:
			st = handoff.StatusAssigned
		case 5:
			st = handoff.StatusClosed
		}
		tk := newTicket(fmt.Sprint("o-", i), lanes[rng.IntN(len(lanes))], st, time.Duration(rng.IntN(3))*time.Minute)
		tk.Priority = rng.IntN(4) - 1
		// Deadlines fall on a few values, to the microsecond (the
		// nanoseconds beyond are not kept), so that every key breaks ties.
		tk.SLADueAt = day.Add(time.Duration(rng.IntN(4)-1)*time.Hour + time.Duration(rng.IntN(2))*time.Microsecond +
			time.Duration(rng.IntN(1000)))
		if i%9 == 0 {
			tk.ID = fmt.Sprintf("WEB-%03d", 100-i) // ids out of creation order
		}
		all = append(all, mustCreate(t, s, tk))
	}
	for _, lane := range lanes {
		var queue []handoff.Ticket
		for _, tk := range all {
			if tk.Lane == lane && tk.Status == handoff.StatusQueued {
				queue = append(queue, *tk)
			}
		}
		slices.SortFunc(queue, handoff.QueueOrder)
		for i, tk := range queue {
			if got := mustPosition(t, s, tk); got != i+1 {
				t.Errorf("%s: QueuePosition(%s priority %d due %s created %s) = %d, want %d", lane, tk.ID, tk.Priority,
					tk.SLADueAt.Format(time.RFC3339Nano), tk.CreatedAt.Format(time.TimeOnly), got, i+1)
			}
		}
	}
	for _, tk := range all {
		if tk.Status != handoff.StatusQueued {
			if got := mustPosition(t, s, *tk); got != 0 {
				t.Errorf("QueuePosition of a %s ticket = %d, want 0", tk.Status, got)
			}
		}
	}
}

// testQueueChanges moves tickets through the queue as agents and merges
// do.
func testQueueChanges(t *testing.T, s handoff.Store) {
	tickets := map[string]*handoff.Ticket{}
	for i, name := range []string{"a", "b", "c", "d"} {
		tk := newTicket("o-"+name, "normal", handoff.StatusQueued, time.Duration(i)*time.Minute)
		tk.Priority = 0
		tickets[name] = mustCreate(t, s, tk)
	}
	e := newTicket("o-e", "emergency", handoff.StatusQueued, 0)
	e.SLADueAt = day.Add(15 * time.Minute)
	tickets["e"] = mustCreate(t, s, e)
	check := func(step string, want map[string]int) {
		t.Helper()
		for name, pos := range want {
			if got := mustPosition(t, s, *tickets[name]); got != pos {
				t.Errorf("%s: position of %s = %d, want %d", step, name, got, pos)
			}
		}
	}
	check("created", map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 1})

	a := tickets["a"]
	a.Status, a.AgentID = handoff.StatusAssigned, "agent-1"
	mustUpdate(t, s, a)
	check("a assigned", map[string]int{"a": 0, "b": 1, "c": 2, "d": 3})

	d := tickets["d"] // a merge raises the priority
	d.Priority++
	d.Merged++
	d.Reasons = append(d.Reasons, "failed_turns")
	mustUpdate(t, s, d)
	check("d merged", map[string]int{"d": 1, "b": 2, "c": 3})

	c := tickets["c"]
	c.Status = handoff.StatusClosed
	mustUpdate(t, s, c)
	check("c closed", map[string]int{"c": 0, "d": 1, "b": 2})

	// A copy read before the close still gets the stored place.
	stale := *c
	stale.Status = handoff.StatusQueued
	if got := mustPosition(t, s, stale); got != 0 {
		t.Errorf("QueuePosition of a stale copy of a closed ticket = %d, want 0", got)
	}

	// An urgent merge moves b to the emergency lane, due before e.
	b := tickets["b"]
	staleB := *b
	b.Lane, b.SLADueAt, b.Priority = "emergency", day.Add(10*time.Minute), 1
	mustUpdate(t, s, b)
	check("b moved", map[string]int{"b": 1, "e": 2, "d": 1})
	if got := mustPosition(t, s, staleB); got != 1 {
		t.Errorf("QueuePosition of b read before it moved lanes = %d, want its place in the new lane, 1", got)
	}
	if got := mustPosition(t, s, handoff.Ticket{ID: tickets["e"].ID}); got != 2 {
		t.Errorf("QueuePosition of a ticket given by its ID only = %d, want 2", got)
	}

	c.Status = handoff.StatusQueued // reopened
	mustUpdate(t, s, c)
	check("c reopened", map[string]int{"d": 1, "c": 2})

	// Back from the agent, a is first again: the earliest deadline of
	// its priority.
	a.Status, a.AgentID = handoff.StatusQueued, ""
	mustUpdate(t, s, a)
	check("a requeued", map[string]int{"d": 1, "a": 2, "c": 3, "b": 1, "e": 2})

	// Appending to the transcript leaves the place be.
	mustAppend(t, s, a.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "排到我了吗", At: day})
	check("a appended", map[string]int{"a": 2})
}

func testQueueNotFound(t *testing.T, s handoff.Store) {
	_, err := s.QueuePosition(context.Background(), handoff.Ticket{ID: "T20261125-99999", Lane: "normal", Status: handoff.StatusQueued})
	if !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("QueuePosition of an unknown id: err = %v, want ErrNotFound", err)
	}
}

// testOneOpenCreate checks that a user has at most one open ticket.
func testOneOpenCreate(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	for _, st := range []handoff.Status{handoff.StatusQueued, handoff.StatusAssigned} {
		tk := newTicket("o-1", "emergency", st, time.Minute)
		if err := s.CreateTicket(ctx, tk); !errors.Is(err, handoff.ErrConflict) {
			t.Errorf("CreateTicket of a second open (%s) ticket: err = %v, want ErrConflict", st, err)
		}
	}
	// A closed ticket (e.g. one recorded by another channel) is allowed,
	// and other users are not affected.
	mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusClosed, 2*time.Minute))
	mustCreate(t, s, newTicket("o-2", "normal", handoff.StatusQueued, 2*time.Minute))
	if got, err := s.Tickets(ctx, handoff.Filter{OpenID: "o-1"}); err != nil || len(got) != 2 {
		t.Errorf("Tickets of o-1: %d, %v; want 2 (the refused ones not stored)", len(got), err)
	}
	if got, err := s.QueuePosition(ctx, handoff.Ticket{ID: first.ID}); err != nil || got != 1 {
		t.Errorf("QueuePosition of the first ticket = %d, %v; want 1 (a refused ticket is not queued)", got, err)
	}

	first.Status = handoff.StatusAssigned
	mustUpdate(t, s, first) // still the one open ticket
	first.Status = handoff.StatusClosed
	mustUpdate(t, s, first)
	next := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 3*time.Minute))
	if open, err := s.OpenTicket(ctx, "o-1"); err != nil || open.ID != next.ID {
		t.Errorf("OpenTicket after the first closed = %s, %v; want %s", open.ID, err, next.ID)
	}
}

// testOneOpenReopen checks that a closed ticket cannot be reopened while
// its user has another open one.
func testOneOpenReopen(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	old := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusClosed, 0))
	open := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, time.Hour))
	for _, st := range []handoff.Status{handoff.StatusQueued, handoff.StatusAssigned} {
		c := mustTicket(t, s, old.ID)
		c.Status = st
		if err := s.UpdateTicket(ctx, &c); !errors.Is(err, handoff.ErrConflict) {
			t.Errorf("reopening (%s) a ticket of a user with an open one: err = %v, want ErrConflict", st, err)
		}
	}
	if got := mustTicket(t, s, old.ID); got.Status != handoff.StatusClosed || got.Version != 1 {
		t.Errorf("refused reopen: stored ticket %s version %d, want closed at 1", got.Status, got.Version)
	}
	// Moving an open ticket to another user who has one is refused too.
	other := mustCreate(t, s, newTicket("o-2", "normal", handoff.StatusQueued, time.Hour))
	other.OpenID = "o-1"
	if err := s.UpdateTicket(ctx, other); !errors.Is(err, handoff.ErrConflict) {
		t.Errorf("giving o-1 a second open ticket by update: err = %v, want ErrConflict", err)
	}

	open.Status = handoff.StatusClosed
	mustUpdate(t, s, open)
	c := mustTicket(t, s, old.ID)
	c.Status = handoff.StatusQueued
	mustUpdate(t, s, &c)
	if got, err := s.OpenTicket(ctx, "o-1"); err != nil || got.ID != old.ID {
		t.Errorf("OpenTicket after reopening = %s, %v; want %s", got.ID, err, old.ID)
	}
}

// testOneOpenConcurrent has instances open a ticket for one user at once:
// exactly one wins.
func testOneOpenConcurrent(t *testing.T, s handoff.Store) {
	const n = 16
	winners := race(t, n, handoff.ErrConflict, func(i int) (string, error) {
		tk := newTicket("o-1", "normal", handoff.StatusQueued, time.Duration(i)*time.Second)
		err := s.CreateTicket(context.Background(), tk)
		return tk.ID, err
	})
	if len(winners) != 1 {
		t.Fatalf("created %v, want exactly one ticket", winners)
	}
	got, err := s.Tickets(context.Background(), handoff.Filter{OpenID: "o-1"})
	if err != nil || len(got) != 1 || got[0].ID != winners[0] {
		t.Errorf("Tickets of the user = %v, %v; want [%s]", ids(got), err, winners[0])
	}
	if pos := mustPosition(t, s, handoff.Ticket{ID: winners[0]}); pos != 1 {
		t.Errorf("QueuePosition = %d, want 1", pos)
	}
}

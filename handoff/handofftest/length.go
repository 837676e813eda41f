package handofftest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

func mustLength(t *testing.T, s handoff.Store, lane string) int {
	t.Helper()
	n, err := s.QueueLength(context.Background(), lane)
	if err != nil {
		t.Fatalf("QueueLength(%s): %v", lane, err)
	}
	return n
}

// checkLengths compares the lengths of the lanes' queues with want.
func checkLengths(t *testing.T, s handoff.Store, step string, want map[string]int) {
	t.Helper()
	for lane, n := range want {
		if got := mustLength(t, s, lane); got != n {
			t.Errorf("%s: QueueLength(%s) = %d, want %d", step, lane, got, n)
		}
	}
}

// checkQueue checks the length of the lane's queue and the place of each
// of its tickets against the tickets the test stored (all of them, in any
// lane and status, as last written).
func checkQueue(t *testing.T, s handoff.Store, step, lane string, stored []*handoff.Ticket) {
	t.Helper()
	var queue []handoff.Ticket
	for _, tk := range stored {
		if tk.Lane == lane && tk.Status == handoff.StatusQueued {
			queue = append(queue, *tk)
		}
	}
	slices.SortFunc(queue, handoff.QueueOrder)
	if got := mustLength(t, s, lane); got != len(queue) {
		t.Errorf("%s: QueueLength(%s) = %d, want %d", step, lane, got, len(queue))
	}
	for i, tk := range queue {
		if got := mustPosition(t, s, tk); got != i+1 {
			t.Errorf("%s: QueuePosition(%s in %s, priority %d) = %d, want %d of %d", step, tk.ID, lane, tk.Priority,
				got, i+1, len(queue))
		}
	}
}

// testQueueLengthChanges follows the length of two lanes' queues through
// the life of their tickets: created in and out of the queue, assigned,
// merged, moved to another lane, closed, reopened, requeued.
func testQueueLengthChanges(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	const normal, emergency = handoff.LaneNormal, handoff.LaneEmergency
	checkLengths(t, s, "empty", map[string]int{normal: 0, emergency: 0, "no-such-lane": 0})

	a := mustCreate(t, s, newTicket("o-a", normal, handoff.StatusQueued, 0))
	b := mustCreate(t, s, newTicket("o-b", normal, handoff.StatusQueued, time.Minute))
	c := mustCreate(t, s, newTicket("o-c", normal, handoff.StatusAssigned, 2*time.Minute))
	mustCreate(t, s, newTicket("o-d", normal, handoff.StatusClosed, 3*time.Minute))
	e := mustCreate(t, s, newTicket("o-e", emergency, handoff.StatusQueued, 4*time.Minute))
	checkLengths(t, s, "created", map[string]int{normal: 2, emergency: 1})

	// Refused creates leave the queue be: a second open ticket of a
	// user, a taken id.
	if err := s.CreateTicket(ctx, newTicket("o-a", normal, handoff.StatusQueued, 5*time.Minute)); !errors.Is(err, handoff.ErrConflict) {
		t.Fatalf("CreateTicket of a second open ticket: err = %v, want ErrConflict", err)
	}
	dup := newTicket("o-f", emergency, handoff.StatusQueued, 5*time.Minute)
	dup.ID = a.ID
	if err := s.CreateTicket(ctx, dup); err == nil {
		t.Fatalf("CreateTicket with a taken id: err = nil")
	}
	checkLengths(t, s, "refused creates", map[string]int{normal: 2, emergency: 1})

	a.Status, a.AgentID = handoff.StatusAssigned, "agent-1"
	mustUpdate(t, s, a)
	checkLengths(t, s, "a assigned", map[string]int{normal: 1, emergency: 1})

	// A refused update (a stale version) leaves the queue be.
	stale := *b
	stale.Version--
	stale.Status = handoff.StatusClosed
	if err := s.UpdateTicket(ctx, &stale); !errors.Is(err, handoff.ErrConflict) {
		t.Fatalf("UpdateTicket at a stale version: err = %v, want ErrConflict", err)
	}
	checkLengths(t, s, "refused update", map[string]int{normal: 1, emergency: 1})

	// A merge in the same lane raises the priority: the length stays.
	b.Priority++
	b.Merged++
	b.Reasons = append(b.Reasons, "failed_turns")
	mustUpdate(t, s, b)
	mustAppend(t, s, b.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "还要等多久", At: day})
	checkLengths(t, s, "b merged", map[string]int{normal: 1, emergency: 1})

	// An urgent merge moves b to the emergency lane.
	b = new(mustTicket(t, s, b.ID))
	b.Lane, b.SLADueAt, b.Priority = emergency, day.Add(10*time.Minute), b.Priority+1
	mustUpdate(t, s, b)
	checkLengths(t, s, "b moved", map[string]int{normal: 0, emergency: 2})

	// An assigned ticket moved to another lane is in no queue.
	c.Lane = emergency
	mustUpdate(t, s, c)
	checkLengths(t, s, "c moved while assigned", map[string]int{normal: 0, emergency: 2})

	e.Status, e.ClosedAt = handoff.StatusClosed, day.Add(time.Hour)
	mustUpdate(t, s, e)
	checkLengths(t, s, "e closed", map[string]int{normal: 0, emergency: 1})
	e.Status, e.ClosedAt = handoff.StatusClosed, day.Add(2*time.Hour) // closed again: no change
	mustUpdate(t, s, e)
	checkLengths(t, s, "e closed again", map[string]int{normal: 0, emergency: 1})

	e.Status, e.ClosedAt = handoff.StatusQueued, time.Time{} // reopened
	mustUpdate(t, s, e)
	checkLengths(t, s, "e reopened", map[string]int{normal: 0, emergency: 2})

	// Back from the agent, a is queued again, in another lane at once.
	a.Status, a.AgentID, a.Lane = handoff.StatusQueued, "", emergency
	mustUpdate(t, s, a)
	checkLengths(t, s, "a requeued", map[string]int{normal: 0, emergency: 3})

	// Closed and moved back in one update.
	b.Status, b.Lane = handoff.StatusClosed, normal
	mustUpdate(t, s, b)
	checkLengths(t, s, "b closed", map[string]int{normal: 0, emergency: 2})

	c.Status, c.Lane = handoff.StatusQueued, normal
	mustUpdate(t, s, c)
	checkQueue(t, s, "end", normal, []*handoff.Ticket{a, b, c, e})
	checkQueue(t, s, "end", emergency, []*handoff.Ticket{a, b, c, e})
}

// testQueueLengthConcurrent has instances open, assign, move and close
// tickets at once, some of them for one user (one ticket wins), and checks
// the lengths and places that result.
func testQueueLengthConcurrent(t *testing.T, s handoff.Store) {
	const n = 48
	lanes := []string{handoff.LaneNormal, handoff.LaneCare}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored []*handoff.Ticket
	)
	for i := range n {
		wg.Go(func() {
			ctx := context.Background()
			// Every fourth instance opens a ticket for the shared user
			// instead of its own: only one of those opens.
			user := fmt.Sprint("o-", i)
			if i%4 == 3 {
				user = "o-shared"
			}
			tk := newTicket(user, lanes[i%2], handoff.StatusQueued, time.Duration(i%7)*time.Second)
			tk.Priority = i % 3
			err := s.CreateTicket(ctx, tk)
			if errors.Is(err, handoff.ErrConflict) && user == "o-shared" {
				return
			}
			if err != nil {
				t.Errorf("CreateTicket(%s): %v", user, err)
				return
			}
			switch i % 6 {
			case 0:
				tk.Status, tk.AgentID = handoff.StatusAssigned, "agent-1"
			case 1:
				tk.Status = handoff.StatusClosed
			case 2:
				tk.Lane = lanes[(i+1)%2]
			}
			if i%6 < 3 {
				if err := s.UpdateTicket(ctx, tk); err != nil {
					t.Errorf("UpdateTicket(%s): %v", tk.ID, err)
				}
			}
			mu.Lock()
			stored = append(stored, tk)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, lane := range lanes {
		checkQueue(t, s, "after the concurrent writes", lane, stored)
	}
}

// testQueueRandom applies random creates and updates — statuses, lanes,
// priorities and deadlines changing, some refused because the user has
// another open ticket — and checks every lane's length and every queued
// ticket's place as it goes.
func testQueueRandom(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(20261125, 3))
	lanes := []string{handoff.LaneEmergency, handoff.LaneNormal, handoff.LaneCare}
	statuses := []handoff.Status{handoff.StatusQueued, handoff.StatusQueued, handoff.StatusQueued,
		handoff.StatusAssigned, handoff.StatusClosed}
	deadline := func() time.Time { return day.Add(time.Duration(rng.IntN(3)) * time.Hour) }
	var stored []*handoff.Ticket
	openOf := func(user, except string) bool {
		for _, tk := range stored {
			if tk.OpenID == user && tk.ID != except && tk.Status.Open() {
				return true
			}
		}
		return false
	}
	for step := range 240 {
		if len(stored) < 10 || rng.IntN(3) == 0 {
			tk := newTicket(fmt.Sprint("o-", rng.IntN(30)), lanes[rng.IntN(len(lanes))], statuses[rng.IntN(len(statuses))],
				time.Duration(step)*time.Second)
			tk.Priority = rng.IntN(3)
			tk.SLADueAt = deadline()
			err := s.CreateTicket(ctx, tk)
			switch {
			case tk.Status.Open() && openOf(tk.OpenID, ""):
				if !errors.Is(err, handoff.ErrConflict) {
					t.Fatalf("step %d: CreateTicket of a second open ticket of %s: err = %v, want ErrConflict", step, tk.OpenID, err)
				}
			case err != nil:
				t.Fatalf("step %d: CreateTicket: %v", step, err)
			default:
				stored = append(stored, tk)
			}
		} else {
			tk := stored[rng.IntN(len(stored))]
			next := *tk
			switch rng.IntN(4) {
			case 0:
				next.Status = statuses[rng.IntN(len(statuses))]
			case 1:
				next.Lane = lanes[rng.IntN(len(lanes))]
			case 2:
				next.Priority++
				next.SLADueAt = deadline()
			case 3:
				next.Status = statuses[rng.IntN(len(statuses))]
				next.Lane = lanes[rng.IntN(len(lanes))]
			}
			err := s.UpdateTicket(ctx, &next)
			switch {
			case next.Status.Open() && openOf(next.OpenID, next.ID):
				if !errors.Is(err, handoff.ErrConflict) {
					t.Fatalf("step %d: reopening %s of %s, who has another open ticket: err = %v, want ErrConflict",
						step, next.ID, next.OpenID, err)
				}
			case err != nil:
				t.Fatalf("step %d: UpdateTicket(%s): %v", step, next.ID, err)
			default:
				*tk = next
			}
		}
		if step%20 == 19 {
			for _, lane := range lanes {
				checkQueue(t, s, fmt.Sprint("step ", step), lane, stored)
			}
		}
	}
}

package handofftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/clocktest"
)

// TestService runs the conformance tests of the handoff.Service
// operations that lean on the store's guarantees — undoing a merge,
// recomputing deadlines after a change of the lanes' SLAs, the queue
// timeout, and marking breaches once across instances — over a store.
// newStores returns two stores over one empty data set, as TestAgentOps.
func TestService(t *testing.T, newStores func(t *testing.T) [2]handoff.Store) {
	one := func(t *testing.T) handoff.Store { return newStores(t)[0] }
	t.Run("UndoMerge", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testUndoMerge(t, one(t)) })
		t.Run("Errors", func(t *testing.T) { testUndoMergeErrors(t, one(t)) })
		t.Run("Race", func(t *testing.T) { testUndoMergeRace(t, newStores(t)) })
		t.Run("Finish", func(t *testing.T) { testUndoMergeFinish(t, one(t)) })
	})
	t.Run("RecomputeSLAs", func(t *testing.T) { testRecomputeSLAs(t, one(t)) })
	t.Run("QueueTimeout", func(t *testing.T) { testQueueTimeout(t, one(t)) })
	t.Run("BreachedOnce", func(t *testing.T) { testBreachedOnce(t, newStores(t)) })
}

// newService returns a Service over s with the default lanes, changed by
// the SLAs of sla (lane name → SLA), on clock.
func newService(t *testing.T, s handoff.Store, clock *clocktest.Clock, sla map[string]time.Duration, events handoff.Events) *handoff.Service {
	t.Helper()
	lanes := handoff.DefaultLanes()
	for i, l := range lanes {
		if d, ok := sla[l.Name]; ok {
			lanes[i].SLA = d
		}
	}
	ls, err := handoff.NewLanes(lanes)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := handoff.NewService(handoff.Options{Store: s, Lanes: ls, Now: clock.Now, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// MustHandoff runs svc.Handoff, failing the test on an error.
func MustHandoff(t testing.TB, svc *handoff.Service, req handoff.Request) handoff.Outcome {
	t.Helper()
	out, err := svc.Handoff(context.Background(), req)
	if err != nil {
		t.Fatalf("Handoff(%s, %s): %v", req.OpenID, req.Reason, err)
	}
	return out
}

// openTicket opens (or merges into) the user's ticket in lane, for
// user_request, and returns it.
func openTicket(t *testing.T, svc *handoff.Service, user, lane string) handoff.Ticket {
	t.Helper()
	return MustHandoff(t, svc, handoff.Request{OpenID: user, Lane: lane, Reason: "user_request"}).Ticket
}

func userSays(text string, at time.Time) handoff.Message {
	return handoff.Message{From: handoff.FromUser, Kind: "text", Text: text, At: at}
}

// mergedTicket opens a ticket for user in the normal lane at the clock's
// now, then merges into it, a minute later each, a request in the
// emergency lane (which moves the ticket there) and one in the normal
// lane with a screenshot. It returns the ticket as stored.
func mergedTicket(t *testing.T, svc *handoff.Service, s handoff.Store, clock *clocktest.Clock, user string) handoff.Ticket {
	t.Helper()
	MustHandoff(t, svc, handoff.Request{OpenID: user, Lane: handoff.LaneNormal, Reason: "user_request",
		Transcript: []handoff.Message{userSays("转人工", clock.Now())}})
	clock.Advance(time.Minute)
	MustHandoff(t, svc, handoff.Request{OpenID: user, Lane: handoff.LaneEmergency, Reason: "urgent:emergency",
		Transcript: []handoff.Message{userSays("我被骗了", clock.Now())}})
	clock.Advance(time.Minute)
	shot := handoff.Message{From: handoff.FromUser, Kind: "image", Media: "shot-1", At: clock.Now()}
	out := MustHandoff(t, svc, handoff.Request{OpenID: user, Lane: handoff.LaneNormal, Reason: "failed_turns",
		Transcript: []handoff.Message{userSays("还是不行", clock.Now()), shot}})
	if !out.Merged {
		t.Fatalf("the third handoff of %s did not merge", user)
	}
	return mustTicket(t, s, out.Ticket.ID)
}

func testUndoMerge(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	svc := newService(t, s, clock, nil, nil)
	opened := clock.Now()
	orig := mergedTicket(t, svc, s, clock, "o-merge")
	if orig.Merged != 2 || orig.Priority != 2 || orig.Lane != handoff.LaneEmergency || len(orig.Merges) != 2 {
		t.Fatalf("merged ticket: merged %d priority %d lane %s merges %d; want 2, 2, emergency, 2",
			orig.Merged, orig.Priority, orig.Lane, len(orig.Merges))
	}
	m2 := orig.Merges[1]
	if m2.N != 2 || m2.Reason != "failed_turns" || m2.Lane != handoff.LaneNormal || !m2.At.Equal(opened.Add(2*time.Minute)) {
		t.Errorf("merge 2 recorded as %+v", m2)
	}
	if got := orig.Messages[m2.Messages[0]:m2.Messages[1]]; len(got) != 3 || got[0].Kind != "merge" || got[1].Text != "还是不行" {
		t.Errorf("merge 2's messages %+v; want its system line, the text and the image", got)
	}
	clock.Advance(time.Hour)
	agent := handoff.Agent{ID: "a1", Name: "小王"}

	// Undo the second merge: its part goes to a normal-lane ticket due
	// 24 h after it happened.
	after, split, err := svc.UndoMerge(ctx, orig.ID, 2, agent)
	if err != nil {
		t.Fatalf("UndoMerge(2): %v", err)
	}
	if split.ID != handoff.SplitID(orig.ID, 2) || split.Lane != handoff.LaneNormal || split.Status != handoff.StatusQueued ||
		!split.SLADueAt.Equal(m2.At.Add(24*time.Hour)) || split.SplitFrom != orig.ID || split.OpenID != orig.OpenID ||
		!slices.Equal(split.Reasons, []string{"failed_turns"}) {
		t.Errorf("split ticket %+v", split)
	}
	if after.Merged != 1 || after.Priority != 1 || after.Lane != handoff.LaneEmergency ||
		!slices.Equal(after.Reasons, []string{"user_request", "urgent:emergency"}) {
		t.Errorf("after undoing merge 2: merged %d priority %d lane %s reasons %v; want 1, 1, emergency, [user_request urgent:emergency]",
			after.Merged, after.Priority, after.Lane, after.Reasons)
	}
	got := mustTicket(t, s, split.ID)
	if n := len(got.Messages); n != 4 || got.Messages[1].Text != "还是不行" || got.Messages[3].Kind != "split" {
		t.Errorf("split transcript %+v; want the merge's 3 lines and a system line", got.Messages)
	}
	if len(got.Evidence) != 1 || got.Evidence[0].Media != "shot-1" {
		t.Errorf("split evidence %+v; want the screenshot", got.Evidence)
	}
	stored := mustTicket(t, s, orig.ID)
	last := stored.Messages[len(stored.Messages)-1]
	if last.From != handoff.FromSystem || last.Kind != "unmerge" {
		t.Errorf("the original's last line is %+v; want the system line of the undo", last)
	}
	if m := stored.Merges[1]; !m.Undone() || m.UndoneBy != "a1" || m.SplitTo != split.ID {
		t.Errorf("merge 2 after the undo: %+v", m)
	}
	// The user's open ticket is still the original: a new handoff merges
	// into it, not into the split ticket.
	open, err := s.OpenTicket(ctx, orig.OpenID)
	if err != nil || open.ID != orig.ID {
		t.Errorf("OpenTicket = %s, %v; want %s", open.ID, err, orig.ID)
	}
	if pos := mustPosition(t, s, split); pos != 1 {
		t.Errorf("split ticket at place %d of the normal queue, want 1", pos)
	}

	// Undo the first: the ticket goes back to the normal lane and its
	// deadline.
	after, _, err = svc.UndoMerge(ctx, orig.ID, 1, agent)
	if err != nil {
		t.Fatalf("UndoMerge(1): %v", err)
	}
	if after.Merged != 0 || after.Priority != 0 || after.Lane != handoff.LaneNormal ||
		!after.SLADueAt.Equal(opened.Add(24*time.Hour)) || !slices.Equal(after.Reasons, []string{"user_request"}) {
		t.Errorf("after undoing merge 1: merged %d priority %d lane %s due %v reasons %v; want 0, 0, normal, %v, [user_request]",
			after.Merged, after.Priority, after.Lane, after.SLADueAt, after.Reasons, opened.Add(24*time.Hour))
	}
	if n, _ := s.QueueLength(ctx, handoff.LaneEmergency); n != 1 {
		t.Errorf("emergency queue holds %d, want 1 (the split of merge 1)", n)
	}
	if n, _ := s.QueueLength(ctx, handoff.LaneNormal); n != 2 {
		t.Errorf("normal queue holds %d, want 2", n)
	}
	if _, _, err := svc.UndoMerge(ctx, orig.ID, 1, agent); !errors.Is(err, handoff.ErrMergeUndone) {
		t.Errorf("undoing merge 1 again: %v, want ErrMergeUndone", err)
	}
	// The split ticket is worked like any other, and closes.
	if _, err := svc.Claim(ctx, split.ID, handoff.Agent{ID: "a2", Name: "小李", Lanes: []string{handoff.LaneNormal}}); err != nil {
		t.Errorf("claim the split ticket: %v", err)
	}
	if _, err := svc.Close(ctx, split.ID, "resolved"); err != nil {
		t.Errorf("close the split ticket: %v", err)
	}
	if open, err := s.OpenTicket(ctx, orig.OpenID); err != nil || open.ID != orig.ID {
		t.Errorf("OpenTicket after closing the split = %s, %v; want %s", open.ID, err, orig.ID)
	}
	out := MustHandoff(t, svc, handoff.Request{OpenID: orig.OpenID, Lane: handoff.LaneNormal, Reason: "user_request"})
	if !out.Merged || out.Ticket.ID != orig.ID {
		t.Errorf("a new handoff: merged %v into %s, want into %s", out.Merged, out.Ticket.ID, orig.ID)
	}
}

func testUndoMergeErrors(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	svc := newService(t, s, clock, nil, nil)
	orig := mergedTicket(t, svc, s, clock, "o-undo-errors")
	agent := handoff.Agent{ID: "a1", Name: "小王"}
	for _, tc := range []struct {
		name string
		id   string
		n    int
		want error
	}{
		{"ErrNotFound", "T20261125-99999", 1, handoff.ErrNotFound},
		{"ErrNoMerge0", orig.ID, 0, handoff.ErrNoMerge},
		{"ErrNoMerge3", orig.ID, 3, handoff.ErrNoMerge},
	} {
		if _, _, err := svc.UndoMerge(ctx, tc.id, tc.n, agent); !errors.Is(err, tc.want) {
			t.Errorf("%s: UndoMerge(%s, %d) = %v, want %v", tc.name, tc.id, tc.n, err, tc.want)
		}
	}
	if _, err := svc.Close(ctx, orig.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.UndoMerge(ctx, orig.ID, 1, agent); !errors.Is(err, handoff.ErrClosed) {
		t.Errorf("UndoMerge on a closed ticket = %v, want ErrClosed", err)
	}
}

// testUndoMergeRace undoes one merge from two instances at once: one
// undoes it, the other is told it is undone; one split ticket exists.
func testUndoMergeRace(t *testing.T, stores [2]handoff.Store) {
	clock := clocktest.New(day)
	svcs := [2]*handoff.Service{newService(t, stores[0], clock, nil, nil), newService(t, stores[1], clock, nil, nil)}
	orig := mergedTicket(t, svcs[0], stores[0], clock, "o-undo-race")
	won := race(t, 6, handoff.ErrMergeUndone, func(i int) (string, error) {
		_, split, err := svcs[i%2].UndoMerge(context.Background(), orig.ID, 2, handoff.Agent{ID: fmt.Sprint("a", i), Name: "坐席"})
		return split.ID, err
	})
	if len(won) != 1 {
		t.Fatalf("%d undos won, want 1", len(won))
	}
	stored := mustTicket(t, stores[1], orig.ID)
	if stored.Merged != 1 || stored.Priority != 1 {
		t.Errorf("after the race: merged %d priority %d, want 1, 1", stored.Merged, stored.Priority)
	}
	mustTicket(t, stores[1], handoff.SplitID(orig.ID, 2))
}

// testUndoMergeFinish: an undo that recorded the merge undone but did not
// create the split ticket (the process stopped) is finished by the next.
func testUndoMergeFinish(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	svc := newService(t, s, clock, nil, nil)
	orig := mergedTicket(t, svc, s, clock, "o-undo-finish")
	orig.Merges[1].UndoneAt, orig.Merges[1].UndoneBy, orig.Merges[1].SplitTo = clock.Now(), "a1", handoff.SplitID(orig.ID, 2)
	mustUpdate(t, s, &orig)
	if _, _, err := svc.UndoMerge(ctx, orig.ID, 2, handoff.Agent{ID: "a2", Name: "小李"}); !errors.Is(err, handoff.ErrMergeUndone) {
		t.Errorf("at once: %v, want ErrMergeUndone (the first undo may still be creating it)", err)
	}
	clock.Advance(2 * time.Minute)
	_, split, err := svc.UndoMerge(ctx, orig.ID, 2, handoff.Agent{ID: "a2", Name: "小李"})
	if err != nil || split.ID != handoff.SplitID(orig.ID, 2) {
		t.Fatalf("UndoMerge of a half-done undo = %s, %v; want the split ticket created", split.ID, err)
	}
	mustTicket(t, s, split.ID)
	if _, _, err := svc.UndoMerge(ctx, orig.ID, 2, handoff.Agent{ID: "a2", Name: "小李"}); !errors.Is(err, handoff.ErrMergeUndone) {
		t.Errorf("then again: %v, want ErrMergeUndone", err)
	}
}

// testRecomputeSLAs changes the normal lane's SLA from 24 h to 30 min:
// the ticket waiting since before the change is due 30 min after its
// creation, which puts it ahead of one opened after the change.
func testRecomputeSLAs(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	before := newService(t, s, clock, nil, nil)
	old := openTicket(t, before, "o-old", handoff.LaneNormal)
	care := openTicket(t, before, "o-care", handoff.LaneCare)
	clock.Advance(time.Hour)

	after := newService(t, s, clock, map[string]time.Duration{handoff.LaneNormal: 30 * time.Minute}, nil)
	fresh := openTicket(t, after, "o-new", handoff.LaneNormal)
	if p := mustPosition(t, s, old); p != 2 {
		t.Fatalf("before the recompute, the old ticket is at place %d, want 2", p)
	}
	n, err := after.RecomputeSLAs(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecomputeSLAs = %d, %v; want 1 ticket changed", n, err)
	}
	got := mustTicket(t, s, old.ID)
	if want := old.CreatedAt.Add(30 * time.Minute); !got.SLADueAt.Equal(want) || got.SLA != 30*time.Minute {
		t.Errorf("old ticket due %v with SLA %v; want %v, 30m", got.SLADueAt, got.SLA, want)
	}
	if p := mustPosition(t, s, old); p != 1 {
		t.Errorf("after the recompute, the old ticket is at place %d, want 1", p)
	}
	if p := mustPosition(t, s, fresh); p != 2 {
		t.Errorf("after the recompute, the new ticket is at place %d, want 2", p)
	}
	if got := mustTicket(t, s, care.ID); !got.SLADueAt.Equal(care.SLADueAt) {
		t.Errorf("the care ticket moved from %v to %v; its lane did not change", care.SLADueAt, got.SLADueAt)
	}
	mustBreached(t, s, "recomputed", handoff.LaneNormal, clock.Now(), 1)
	if n, err := after.RecomputeSLAs(ctx); err != nil || n != 0 {
		t.Errorf("RecomputeSLAs again = %d, %v; want nothing changed", n, err)
	}
	// Back to 24 h: the deadline moves past now and is no longer breached.
	back := newService(t, s, clock, nil, nil)
	if _, err := back.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := back.RecomputeSLAs(ctx); err != nil || n != 2 {
		t.Errorf("RecomputeSLAs back to 24h = %d, %v; want 2 tickets changed", n, err)
	}
	if got := mustTicket(t, s, old.ID); !got.SLADueAt.Equal(old.SLADueAt) || !got.BreachedAt.IsZero() {
		t.Errorf("old ticket back at 24h: due %v breached at %v; want %v, not breached", got.SLADueAt, got.BreachedAt, old.SLADueAt)
	}
}

// testQueueTimeout: a ticket that waited 24 h in its queue is closed; one
// released back to its queue since, or assigned, is not.
func testQueueTimeout(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	svc := newService(t, s, clock, nil, nil)
	waiting := openTicket(t, svc, "o-waiting", handoff.LaneOverseas)
	released := openTicket(t, svc, "o-released", handoff.LaneOverseas)
	agent := handoff.Agent{ID: "a1", Name: "小王", Lanes: []string{handoff.LaneOverseas}}
	if _, err := svc.Claim(ctx, released.ID, agent); err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Hour)
	if _, err := svc.Release(ctx, released.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4*time.Hour - time.Second)
	swept, err := svc.Sweep(ctx)
	if err != nil || len(swept.Expired) != 0 {
		t.Fatalf("Sweep a second before 24 h: expired %v, %v; want none", ids(swept.Expired), err)
	}
	clock.Advance(time.Second)
	if swept, err = svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(swept.Expired); !slices.Equal(got, []string{waiting.ID}) {
		t.Errorf("Sweep at 24 h expired %v, want [%s]", got, waiting.ID)
	}
	got := mustTicket(t, s, waiting.ID)
	last := got.Messages[len(got.Messages)-1]
	if got.Status != handoff.StatusClosed || last.Text != "工单关闭："+handoff.ResolutionQueueTimeout {
		t.Errorf("expired ticket: %s, last line %q; want closed with %s", got.Status, last.Text, handoff.ResolutionQueueTimeout)
	}
	if got := mustTicket(t, s, released.ID); got.Status != handoff.StatusQueued {
		t.Errorf("the ticket released 4 h ago is %s, want queued", got.Status)
	}
	if swept, err = svc.Sweep(ctx); err != nil || len(swept.Expired) != 0 {
		t.Errorf("a second sweep expired %v, %v; want none", ids(swept.Expired), err)
	}
}

// testBreachedOnce sweeps from two instances at once, many times: each
// breached ticket is marked, and its event published, once.
func testBreachedOnce(t *testing.T, stores [2]handoff.Store) {
	ctx := context.Background()
	clock := clocktest.New(day)
	bus := handoff.NewLocalEvents()
	svcs := [2]*handoff.Service{newService(t, stores[0], clock, nil, bus), newService(t, stores[1], clock, nil, bus)}
	var want []string
	for i := range 6 {
		lane := []string{handoff.LaneEmergency, handoff.LaneNormal}[i%2]
		out := MustHandoff(t, svcs[0], handoff.Request{OpenID: fmt.Sprint("o-breach-", i), Lane: lane, Reason: "user_request"})
		if lane == handoff.LaneEmergency {
			want = append(want, out.Ticket.ID)
		}
	}
	clock.Advance(time.Hour) // past the emergency SLA, not the normal one
	events := Subscribe(t, bus)
	var (
		mu     sync.Mutex
		marked []string
		wg     sync.WaitGroup
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			swept, err := svcs[i%2].Sweep(ctx)
			if err != nil {
				t.Errorf("Sweep: %v", err)
			}
			mu.Lock()
			marked = append(marked, ids(swept.Breached)...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(marked)
	slices.Sort(want)
	if !slices.Equal(marked, want) {
		t.Errorf("the sweeps marked %v, want each of %v once", marked, want)
	}
	var published []string
	for range want {
		ev := NextEvent(t, events)
		published = append(published, ev.TicketID)
		if ev.Type != handoff.EventBreached || ev.Lane != handoff.LaneEmergency || ev.Count != len(want) {
			t.Errorf("event %+v; want a breach in lane emergency, count %d", ev, len(want))
		}
	}
	NoEvent(t, events)
	slices.Sort(published)
	if !slices.Equal(published, want) {
		t.Errorf("breach events for %v, want one for each of %v", published, want)
	}
	for _, id := range want {
		if tk := mustTicket(t, stores[1], id); !tk.BreachedAt.Equal(clock.Now()) {
			t.Errorf("%s breached at %v, want %v", id, tk.BreachedAt, clock.Now())
		}
	}
}

package handofftest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

// testMarkBreached marks from two instances at once: each breached queued
// ticket is returned to one caller, once; assigned tickets, tickets not
// due yet and tickets marked already are left alone.
func testMarkBreached(t *testing.T, stores [2]handoff.Store) {
	ctx := context.Background()
	var want []string
	for i, due := range []time.Duration{-time.Hour, time.Hour, -2 * time.Hour, -time.Minute, 0} {
		tk := newTicket(string(rune('a'+i))+"-mark", handoff.LaneNormal, handoff.StatusQueued, 0)
		tk.SLADueAt = day.Add(due)
		mustCreate(t, stores[0], tk)
		if due < 0 {
			want = append(want, tk.ID)
		}
	}
	assigned := newTicket("assigned-mark", handoff.LaneNormal, handoff.StatusAssigned, 0)
	assigned.SLADueAt = day.Add(-time.Hour)
	mustCreate(t, stores[0], assigned)
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for i := range 8 {
		wg.Go(func() {
			marked, err := stores[i%2].MarkBreached(ctx, handoff.LaneNormal, day)
			if err != nil {
				t.Errorf("MarkBreached: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tk := range marked {
				got = append(got, tk.ID)
				if !tk.BreachedAt.Equal(day) || tk.Messages != nil {
					t.Errorf("marked %s: breached at %v, %d messages; want %v, the header only", tk.ID, tk.BreachedAt, len(tk.Messages), day)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("marked %v, want each of %v once", got, want)
	}
	for _, id := range want {
		tk := mustTicket(t, stores[1], id)
		if !tk.BreachedAt.Equal(day) || tk.Version != 2 {
			t.Errorf("%s stored breached at %v, version %d; want %v, 2", id, tk.BreachedAt, tk.Version, day)
		}
		// The mark leaves the queue as it was, and later writes keep it.
		tk.Priority = 3
		mustUpdate(t, stores[0], &tk)
	}
	if marked, err := stores[1].MarkBreached(ctx, handoff.LaneNormal, day); err != nil || len(marked) != 0 {
		t.Errorf("MarkBreached again: %d marked, %v; want none", len(marked), err)
	}
	mustBreached(t, stores[0], "marked", handoff.LaneNormal, day, len(want))
	if tk := mustTicket(t, stores[0], want[0]); !tk.BreachedAt.Equal(day) {
		t.Errorf("after an update, %s breached at %v, want %v", tk.ID, tk.BreachedAt, day)
	}
	if marked, err := stores[0].MarkBreached(ctx, handoff.LaneNormal, day.Add(2*time.Hour)); err != nil || len(marked) != 2 {
		t.Errorf("MarkBreached 2 h later: %d marked, %v; want the 2 tickets due since", len(marked), err)
	}
}

// testSplitTicket: a split ticket is open but not its user's open ticket.
func testSplitTicket(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	own := mustCreate(t, s, newTicket("o-split", handoff.LaneNormal, handoff.StatusQueued, 0))
	split := newTicket("o-split", handoff.LaneEmergency, handoff.StatusQueued, time.Minute)
	split.ID, split.SplitFrom = handoff.SplitID(own.ID, 1), own.ID
	mustCreate(t, s, split)
	if got, err := s.OpenTicket(ctx, "o-split"); err != nil || got.ID != own.ID {
		t.Errorf("OpenTicket = %s, %v; want %s", got.ID, err, own.ID)
	}
	tk := mustTicket(t, s, split.ID)
	if tk.SplitFrom != own.ID {
		t.Errorf("stored SplitFrom %q, want %q", tk.SplitFrom, own.ID)
	}
	tk.Status = handoff.StatusAssigned
	mustUpdate(t, s, &tk)
	o := mustTicket(t, s, own.ID)
	o.Status = handoff.StatusClosed
	mustUpdate(t, s, &o)
	// With the user's own ticket closed, the split one still is not theirs
	// to merge into; a new ticket may open beside it.
	if got, err := s.OpenTicket(ctx, "o-split"); err == nil {
		t.Errorf("OpenTicket = %s; want ErrNotFound beside an open split ticket", got.ID)
	}
	mustCreate(t, s, newTicket("o-split", handoff.LaneNormal, handoff.StatusQueued, 2*time.Minute))
}

// testCreatedBefore lists the tickets created before a time, both orders.
func testCreatedBefore(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	var all []string
	for i := range 4 {
		all = append(all, mustCreate(t, s, newTicket(string(rune('a'+i))+"-before", handoff.LaneNormal, handoff.StatusQueued,
			time.Duration(i)*time.Hour)).ID)
	}
	for _, tc := range []struct {
		name string
		f    handoff.Filter
		want []string
	}{
		{"Oldest", handoff.Filter{CreatedBefore: day.Add(2 * time.Hour)}, all[:2]},
		{"Newest", handoff.Filter{CreatedBefore: day.Add(2 * time.Hour), Newest: true}, []string{all[1], all[0]}},
		{"Limit", handoff.Filter{CreatedBefore: day.Add(3 * time.Hour), Limit: 2, Summary: true}, all[:2]},
		{"Status", handoff.Filter{CreatedBefore: day.Add(3 * time.Hour), Statuses: []handoff.Status{handoff.StatusQueued},
			Lane: handoff.LaneNormal, Newest: true, Limit: 1}, all[2:3]},
		{"None", handoff.Filter{CreatedBefore: day}, nil},
	} {
		got, err := s.Tickets(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: Tickets = %v, want %v", tc.name, ids(got), tc.want)
		}
	}
}

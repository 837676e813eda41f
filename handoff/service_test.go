package handoff_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

var (
	cst = time.FixedZone("CST", 8*3600)
	t0  = time.Date(2026, 11, 25, 9, 30, 0, 0, cst)
)

// mustService returns a Service with the default lanes over an in-memory
// SQLite store, and its clock at t0. wrap, when given, wraps the store.
func mustService(t *testing.T, opts handoff.Options, wrap func(handoff.Store) handoff.Store) (*handoff.Service, handoff.Store, *clocktest.Clock) {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lanes, err := handoff.NewLanes(handoff.DefaultLanes())
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(t0)
	opts.Store, opts.Lanes, opts.Now = st, lanes, c.Now
	if wrap != nil {
		opts.Store = wrap(st)
	}
	svc, err := handoff.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, c
}

// mustHandoff runs svc.Handoff, failing the test on an error.
var mustHandoff = handofftest.MustHandoff

func userText(text string, at time.Time) handoff.Message {
	return handoff.Message{From: handoff.FromUser, Kind: "text", Text: text, At: at}
}

var ticketOpts = cmp.Options{cmpopts.EquateEmpty()}

func TestHandoffOpen(t *testing.T) {
	svc, st, _ := mustService(t, handoff.Options{}, nil)
	transcript := []handoff.Message{
		userText("怎么退款", t0.Add(-2*time.Minute)),
		{From: handoff.FromBot, Kind: "text", Text: "请问是哪一笔订单？", At: t0.Add(-2 * time.Minute)},
		{From: handoff.FromUser, Kind: "image", Media: "media-1", At: t0.Add(-time.Minute)},
		userText("转人工", t0),
	}
	out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request", Transcript: transcript})
	want := handoff.Ticket{
		ID: out.Ticket.ID, OpenID: "o-1", Lane: handoff.LaneNormal, Reasons: []string{"user_request"},
		Status: handoff.StatusQueued, SLADueAt: t0.Add(24 * time.Hour), SLA: 24 * time.Hour, CreatedAt: t0, UpdatedAt: t0,
		QueuedAt: t0,
		Messages: append(slices.Clone(transcript), handoff.Message{From: handoff.FromSystem, Kind: "handoff",
			Text: "转人工：普通队列，原因 user_request，首次回复时限 11-26 09:30", At: t0}),
		Evidence: transcript[2:3], Version: 1,
	}
	if diff := cmp.Diff(want, out.Ticket, ticketOpts); diff != "" {
		t.Errorf("Outcome.Ticket (-want +got):\n%s", diff)
	}
	if out.Merged || out.Limited || out.Position != 1 || out.Wait != 24*time.Hour {
		t.Errorf("Outcome = merged %v limited %v position %d wait %v; want a new ticket, first, 24h",
			out.Merged, out.Limited, out.Position, out.Wait)
	}
	stored, err := st.Ticket(context.Background(), out.Ticket.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored, ticketOpts); diff != "" {
		t.Errorf("stored ticket (-want +got):\n%s", diff)
	}

	second := mustHandoff(t, svc, handoff.Request{OpenID: "o-2", Lane: handoff.LaneNormal, Reason: "failed_turns"})
	if second.Position != 2 || second.Ticket.ID == out.Ticket.ID {
		t.Errorf("another user's handoff: ticket %s position %d; want a new ticket, second", second.Ticket.ID, second.Position)
	}
	if _, err := svc.Handoff(context.Background(), handoff.Request{OpenID: "o-3", Lane: "nowhere"}); !errors.Is(err, handoff.ErrUnknownLane) {
		t.Errorf("Handoff to an unknown lane: err = %v, want ErrUnknownLane", err)
	}
}

func TestHandoffMerge(t *testing.T) {
	ctx := context.Background()
	svc, st, clk := mustService(t, handoff.Options{}, nil)
	old := userText("转人工", t0)
	first := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request",
		Transcript: []handoff.Message{old}})
	o3 := mustHandoff(t, svc, handoff.Request{OpenID: "o-3", Lane: handoff.LaneNormal, Reason: "user_request"})
	clk.Advance(time.Minute)
	o2 := mustHandoff(t, svc, handoff.Request{OpenID: "o-2", Lane: handoff.LaneNormal, Reason: "user_request"})
	if o3.Position != 2 || o2.Position != 3 {
		t.Fatalf("positions %d, %d; want 2, 3", o3.Position, o2.Position)
	}

	t.Run("LaneRaised", func(t *testing.T) {
		clk.Advance(10 * time.Minute)
		now := clk.Now()
		fraud, shot := userText("我被骗了，转了五千块", now.Add(-time.Second)), handoff.Message{From: handoff.FromUser, Kind: "image", Media: "shot", At: now}
		out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneEmergency, Reason: "urgent:emergency",
			Transcript: []handoff.Message{old, fraud, shot}})
		if !out.Merged || out.Ticket.ID != first.Ticket.ID {
			t.Fatalf("Outcome = merged %v ticket %s; want merged into %s", out.Merged, out.Ticket.ID, first.Ticket.ID)
		}
		want := first.Ticket
		want.Lane, want.SLADueAt, want.SLA, want.UpdatedAt = handoff.LaneEmergency, now.Add(15*time.Minute), 15*time.Minute, now
		want.Merges = []handoff.Merge{{N: 1, Reason: "urgent:emergency", Lane: handoff.LaneEmergency, At: now,
			Messages: [2]int{2, 5}, Evidence: [2]int{0, 1},
			PrevLane: handoff.LaneNormal, PrevDue: first.Ticket.SLADueAt, PrevSLA: 24 * time.Hour}}
		want.Reasons = []string{"user_request", "urgent:emergency"}
		want.Merged, want.Priority, want.Version = 1, 1, 2
		want.Messages = []handoff.Message{old, first.Ticket.Messages[1],
			{From: handoff.FromSystem, Kind: "merge", Text: "合并转人工请求：urgent:emergency", At: now}, fraud, shot}
		want.Evidence = []handoff.Message{shot}
		if diff := cmp.Diff(want, out.Ticket, ticketOpts); diff != "" {
			t.Errorf("merged ticket (-want +got):\n%s", diff)
		}
		stored, err := st.Ticket(ctx, first.Ticket.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored, ticketOpts); diff != "" {
			t.Errorf("stored ticket (-want +got):\n%s", diff)
		}
		if out.Position != 1 || out.Wait != 15*time.Minute {
			t.Errorf("Outcome = position %d wait %v; want 1 in the emergency lane, 15m", out.Position, out.Wait)
		}
		if pos, _ := svc.Position(ctx, o3.Ticket); pos != 1 {
			t.Errorf("o-3 is at %d after o-1 left the lane, want 1", pos)
		}
	})

	t.Run("LaneKept", func(t *testing.T) {
		before, err := st.TicketHeader(ctx, first.Ticket.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "failed_turns"})
		if !out.Merged || out.Ticket.Lane != handoff.LaneEmergency || out.Ticket.Priority != 2 ||
			!out.Ticket.SLADueAt.Equal(before.SLADueAt) || out.Ticket.Merged != 2 {
			t.Errorf("merge from a lane served later: merged %v lane %s priority %d merges %d due %v; want emergency, 2, 2, unchanged",
				out.Merged, out.Ticket.Lane, out.Ticket.Priority, out.Ticket.Merged, out.Ticket.SLADueAt)
		}
	})

	t.Run("PriorityRaised", func(t *testing.T) {
		out := mustHandoff(t, svc, handoff.Request{OpenID: "o-2", Lane: handoff.LaneNormal, Reason: "failed_turns"})
		if !out.Merged || out.Ticket.Lane != handoff.LaneNormal || out.Ticket.Priority != 1 ||
			!out.Ticket.SLADueAt.Equal(o2.Ticket.SLADueAt) {
			t.Errorf("merge from the same lane: merged %v lane %s priority %d due %v; want merged, normal, 1, unchanged",
				out.Merged, out.Ticket.Lane, out.Ticket.Priority, out.Ticket.SLADueAt)
		}
		if out.Position != 1 {
			t.Errorf("position after a merge raised the priority = %d, want 1 (ahead of o-3)", out.Position)
		}
		if pos, _ := svc.Position(ctx, o3.Ticket); pos != 2 {
			t.Errorf("o-3 is at %d, want 2", pos)
		}
	})

	t.Run("Close", func(t *testing.T) {
		closed, err := svc.Close(ctx, o3.Ticket.ID, "resolved")
		if err != nil {
			t.Fatal(err)
		}
		if closed.Status != handoff.StatusClosed || len(closed.Messages) != 2 || closed.Messages[1].Kind != "close" {
			t.Errorf("closed ticket: %s with %d messages", closed.Status, len(closed.Messages))
		}
		if pos, err := svc.Position(ctx, closed); err != nil || pos != 0 {
			t.Errorf("Position of a closed ticket = %d, %v; want 0", pos, err)
		}
		if _, err := svc.Close(ctx, o3.Ticket.ID, "resolved"); err != nil {
			t.Errorf("closing twice: %v", err)
		}
		// The user's next handoff opens a new ticket.
		out := mustHandoff(t, svc, handoff.Request{OpenID: "o-3", Lane: handoff.LaneNormal, Reason: "user_request"})
		if out.Merged || out.Ticket.ID == o3.Ticket.ID {
			t.Errorf("handoff after close: merged %v into %s; want a new ticket", out.Merged, out.Ticket.ID)
		}
	})
}

func TestHandoffRepeatLimit(t *testing.T) {
	ctx := context.Background()
	svc, st, clk := mustService(t, handoff.Options{RepeatLimit: 2}, nil)
	var last handoff.Ticket
	for i := range 2 {
		out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request",
			Transcript: []handoff.Message{userText(fmt.Sprint("转人工", i), clk.Now())}})
		var err error
		if last, err = svc.Close(ctx, out.Ticket.ID, "resolved"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
	}
	out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request"})
	if !out.Limited || out.Ticket.ID != last.ID || out.Ticket.Status != handoff.StatusClosed {
		t.Errorf("third handoff in 12h: limited %v ticket %s %s; want limited, the latest %s", out.Limited,
			out.Ticket.ID, out.Ticket.Status, last.ID)
	}
	if out.Ticket.Messages != nil {
		t.Errorf("the limited outcome carries a transcript of %d messages, want none", len(out.Ticket.Messages))
	}
	if n, _ := st.CountSince(ctx, "o-1", t0); n != 2 {
		t.Errorf("%d tickets stored, want 2", n)
	}
	urgent := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneEmergency, Reason: "urgent:emergency"})
	if urgent.Limited || urgent.Merged {
		t.Errorf("urgent handoff: limited %v merged %v; want a new ticket", urgent.Limited, urgent.Merged)
	}
	if _, err := svc.Close(ctx, urgent.Ticket.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(13 * time.Hour)
	if out := mustHandoff(t, svc, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request"}); out.Limited {
		t.Errorf("handoff after the window: limited")
	}
}

// TestHandoffConcurrent has several instances hand one user off at once:
// one ticket, the other requests merged into it.
func TestHandoffConcurrent(t *testing.T) {
	const n = 6
	ctx := context.Background()
	svc, st, _ := mustService(t, handoff.Options{}, nil)
	outs := make([]handoff.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := svc.Handoff(ctx, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: fmt.Sprint("flow:", i)})
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	opened := 0
	for _, out := range outs {
		if !out.Merged {
			opened++
		}
	}
	all, err := st.Tickets(ctx, handoff.Filter{OpenID: "o-1"})
	if err != nil {
		t.Fatal(err)
	}
	if opened != 1 || len(all) != 1 || all[0].Merged != n-1 || len(all[0].Reasons) != n {
		t.Errorf("%d opened, %d tickets stored; want 1 and 1 with %d merges", opened, len(all), n-1)
	}
}

// racyStore makes the first two OpenTicket calls both find nothing, as
// when two instances take the same user's handoff at the same moment.
type racyStore struct {
	handoff.Store
	mu    sync.Mutex
	calls int
	both  sync.WaitGroup
}

func (r *racyStore) OpenTicket(ctx context.Context, openID string) (handoff.Ticket, error) {
	r.mu.Lock()
	r.calls++
	first := r.calls <= 2
	r.mu.Unlock()
	t, err := r.Store.OpenTicket(ctx, openID)
	if first {
		r.both.Done()
		r.both.Wait()
	}
	return t, err
}

// TestHandoffRace has two instances both see no open ticket: one creates
// it, the other's create is refused and it merges instead.
func TestHandoffRace(t *testing.T) {
	ctx := context.Background()
	racy := &racyStore{}
	racy.both.Add(2)
	svc, st, _ := mustService(t, handoff.Options{}, func(s handoff.Store) handoff.Store {
		racy.Store = s
		return racy
	})
	outs := make([]handoff.Outcome, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			out, err := svc.Handoff(ctx, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request"})
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	if outs[0].Merged == outs[1].Merged || outs[0].Ticket.ID != outs[1].Ticket.ID {
		t.Errorf("outcomes: merged %v into %s, merged %v into %s; want one ticket opened, then merged",
			outs[0].Merged, outs[0].Ticket.ID, outs[1].Merged, outs[1].Ticket.ID)
	}
	all, err := st.Tickets(ctx, handoff.Filter{OpenID: "o-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Merged != 1 {
		t.Errorf("%d tickets stored (%v), want one with merged=1", len(all), all)
	}
	if racy.calls < 3 {
		t.Errorf("OpenTicket called %d times: the refused instance did not look again", racy.calls)
	}
}

package handofftest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/handoff"
)

// NextEvent returns the next event on ch, failing the test when none
// comes within a second or ch closes.
func NextEvent(t testing.TB, ch <-chan handoff.Event) handoff.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(time.Second):
		t.Fatal("no event within 1 s")
	}
	return handoff.Event{}
}

// NoEvent fails the test when an event is waiting on ch.
func NoEvent(t testing.TB, ch <-chan handoff.Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// Subscribe subscribes to ev until the test ends.
func Subscribe(t testing.TB, ev handoff.Events) <-chan handoff.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := ev.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestEvents runs the conformance tests of a handoff.Events. newBuses
// returns two buses that reach each other, as two instances of the shared
// mode do (the embedded mode returns one bus twice).
func TestEvents(t *testing.T, newBuses func(t *testing.T) [2]handoff.Events) {
	ctx := context.Background()
	t.Run("FanOut", func(t *testing.T) {
		b := newBuses(t)
		subs := []<-chan handoff.Event{Subscribe(t, b[0]), Subscribe(t, b[1]), Subscribe(t, b[1])}
		at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
		sent := []handoff.Event{
			{Type: handoff.EventTicketCreated, TicketID: "T1", Lane: "normal", OpenID: "o-1", At: at},
			{Type: handoff.EventMessage, TicketID: "T1", Lane: "normal", OpenID: "o-1", At: at, Text: "还在吗<script>"},
			{Type: handoff.EventClaimed, TicketID: "T1", Lane: "normal", OpenID: "o-1", AgentID: "a-1", At: at},
		}
		for _, ev := range sent {
			if err := b[0].Publish(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		for i, ch := range subs {
			var last int64
			for _, want := range sent {
				got := NextEvent(t, ch)
				if got.Seq <= last {
					t.Errorf("subscriber %d: seq %d after %d", i, got.Seq, last)
				}
				last, got.Seq = got.Seq, 0
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("subscriber %d (-want +got):\n%s", i, diff)
				}
			}
		}
	})
	t.Run("UnsubscribeOnCancel", func(t *testing.T) {
		b := newBuses(t)
		sctx, cancel := context.WithCancel(ctx)
		ch, err := b[1].Subscribe(sctx)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		deadline := time.After(time.Second)
		for closed := false; !closed; {
			select {
			case _, ok := <-ch:
				closed = !ok
			case <-deadline:
				t.Fatal("channel not closed 1 s after cancel")
			}
		}
		if err := b[0].Publish(ctx, handoff.Event{Type: handoff.EventNote}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPresence runs the conformance tests of a handoff.Presence.
// newPresence returns an empty one whose TTL is handoff.PresenceTTL, by
// the clock now.
func TestPresence(t *testing.T, newPresence func(t *testing.T, now func() time.Time) handoff.Presence) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	p := newPresence(t, func() time.Time { return clock })
	online := func(id string) bool {
		t.Helper()
		ok, err := p.Online(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	agents := func() []string {
		t.Helper()
		ids, err := p.OnlineAgents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	seen := func(id string) {
		t.Helper()
		if err := p.Seen(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if online("a-1") || len(agents()) != 0 {
		t.Error("never seen, yet online")
	}
	seen("a-2")
	clock = clock.Add(20 * time.Second)
	seen("a-1")
	if !online("a-1") || !online("a-2") {
		t.Error("seen within the TTL, yet offline")
	}
	if got := agents(); !cmp.Equal(got, []string{"a-1", "a-2"}) {
		t.Errorf("OnlineAgents = %v, want [a-1 a-2]", got)
	}
	clock = clock.Add(handoff.PresenceTTL - 20*time.Second) // a-2 seen a TTL ago: gone
	if online("a-2") || !online("a-1") {
		t.Error("want a-2 gone after the TTL, a-1 online")
	}
	if got := agents(); !cmp.Equal(got, []string{"a-1"}) {
		t.Errorf("OnlineAgents = %v, want [a-1]", got)
	}
	seen("a-2") // back
	if got := agents(); !cmp.Equal(got, []string{"a-1", "a-2"}) {
		t.Errorf("OnlineAgents after a-2 came back = %v", got)
	}
	clock = clock.Add(time.Minute)
	if got := agents(); len(got) != 0 {
		t.Errorf("OnlineAgents a minute later = %v, want none", got)
	}
}

package handoff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
)

func TestLocalEvents(t *testing.T) {
	handofftest.TestEvents(t, func(t *testing.T) [2]handoff.Events {
		bus := handoff.NewLocalEvents()
		return [2]handoff.Events{bus, bus}
	})
	ctx := context.Background()
	t.Run("KeepsSeq", func(t *testing.T) {
		bus := handoff.NewLocalEvents()
		ch := handofftest.Subscribe(t, bus)
		bus.Publish(ctx, handoff.Event{Type: handoff.EventClosed, Seq: 42})
		if ev := handofftest.NextEvent(t, ch); ev.Seq != 42 {
			t.Errorf("Seq = %d, want the publisher's 42", ev.Seq)
		}
	})
	t.Run("SlowSubscriberResync", func(t *testing.T) {
		bus := handoff.NewLocalEvents()
		slow, fast := handofftest.Subscribe(t, bus), handofftest.Subscribe(t, bus)
		n := handoff.SubscriberBuffer + 10
		for i := range n { // never blocks, though slow reads nothing
			bus.Publish(ctx, handoff.Event{Type: handoff.EventMessage, Seq: int64(i + 1)})
			if ev := handofftest.NextEvent(t, fast); ev.Seq != int64(i+1) {
				t.Fatalf("fast subscriber got %+v, want seq %d", ev, i+1)
			}
		}
		for i := range handoff.SubscriberBuffer - 1 {
			if ev := handofftest.NextEvent(t, slow); ev.Type != handoff.EventMessage || ev.Seq != int64(i+1) {
				t.Fatalf("slow event %d = %+v", i, ev)
			}
		}
		if ev := handofftest.NextEvent(t, slow); ev.Type != handoff.EventResync {
			t.Fatalf("after the buffer: %+v, want resync", ev)
		}
		handofftest.NoEvent(t, slow)
		// Caught up: events flow again.
		bus.Publish(ctx, handoff.Event{Type: handoff.EventClaimed})
		if ev := handofftest.NextEvent(t, slow); ev.Type != handoff.EventClaimed {
			t.Errorf("after the resync: %+v, want claimed", ev)
		}
	})
}

func TestPreview(t *testing.T) {
	long := strings.Repeat("骗", 100)
	got := handoff.Preview(long)
	if n := utf8.RuneCountInString(got); n != handoff.PreviewRunes || !strings.HasSuffix(got, "…") {
		t.Errorf("Preview of 100 runes = %d runes %q", n, got)
	}
	if got := handoff.Preview("短消息"); got != "短消息" {
		t.Errorf("Preview(short) = %q", got)
	}
	exact := strings.Repeat("a", handoff.PreviewRunes)
	if got := handoff.Preview(exact); got != exact {
		t.Errorf("Preview of exactly %d runes cut: %q", handoff.PreviewRunes, got)
	}
}

// TestServicePublishes checks the event of each operation, in order.
func TestServicePublishes(t *testing.T) {
	ctx := context.Background()
	bus := handoff.NewLocalEvents()
	svc, _, clock := mustService(t, handoff.Options{Events: bus}, nil)
	ch := handofftest.Subscribe(t, bus)
	type ev struct{ Type, Lane, Agent, Text string }
	var got []ev
	take := func() {
		t.Helper()
		e := handofftest.NextEvent(t, ch)
		if e.TicketID == "" && e.Type != handoff.EventBreached || e.At.IsZero() {
			t.Errorf("event without ticket or time: %+v", e)
		}
		if e.Type != handoff.EventBreached && e.OpenID != "o-1" {
			t.Errorf("%s: open_id %q", e.Type, e.OpenID)
		}
		got = append(got, ev{string(e.Type), e.Lane, e.AgentID, string(e.From) + ":" + e.Text})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tk := open(t, svc, "o-1", handoff.LaneNormal)
	take()
	open(t, svc, "o-1", handoff.LaneNormal)
	take()
	must(svc.Append(ctx, tk.ID, userText(strings.Repeat("钱", 90), clock.Now())))
	take()
	must(svc.Append(ctx, tk.ID, handoff.Message{From: handoff.FromUser, Kind: "image", At: clock.Now()}))
	take()
	_, err := svc.Claim(ctx, tk.ID, wang)
	must(err)
	take()
	must(svc.AddNote(ctx, tk.ID, wang.ID, "查过了"))
	take()
	_, err = svc.Release(ctx, tk.ID)
	must(err)
	take()
	_, err = svc.ClaimNext(ctx, wang)
	must(err)
	take()
	_, err = svc.TransferToAgent(ctx, tk.ID, li)
	must(err)
	take()
	_, err = svc.TransferToLane(ctx, tk.ID, handoff.LaneEmergency)
	must(err)
	take()
	clock.Advance(time.Hour) // past the emergency SLA: breached
	_, err = svc.Sweep(ctx)
	must(err)
	take()
	_, err = svc.Close(ctx, tk.ID, "resolved")
	must(err)
	take()
	_, err = svc.Close(ctx, tk.ID, "resolved") // closed already: no event
	must(err)
	handofftest.NoEvent(t, ch)

	preview := strings.Repeat("钱", handoff.PreviewRunes-1) + "…"
	want := []ev{
		{"ticket_created", "normal", "", ":"},
		{"ticket_merged", "normal", "", ":"},
		{"message", "normal", "", "user:" + preview},
		{"message", "normal", "", "user:[image]"},
		{"claimed", "normal", wang.ID, ":"},
		{"note", "normal", wang.ID, "note:查过了"},
		{"released", "normal", "", ":"},
		{"claimed", "normal", wang.ID, ":"},
		{"transferred", "normal", li.ID, ":"},
		{"transferred", "emergency", "", ":"},
		{"breached", "emergency", "", ":"},
		{"closed", "emergency", "", ":"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// failingEvents refuses every publish.
type failingEvents struct{ handoff.LocalEvents }

func (*failingEvents) Publish(context.Context, handoff.Event) error {
	return errors.New("bus down")
}

func TestServicePublishFailure(t *testing.T) {
	svc, _, _ := mustService(t, handoff.Options{Events: &failingEvents{}}, nil)
	tk := open(t, svc, "o-1", handoff.LaneNormal) // fails the test on error
	if _, err := svc.Close(context.Background(), tk.ID, "resolved"); err != nil {
		t.Errorf("Close with the bus down: %v", err)
	}
}

func TestLocalPresence(t *testing.T) {
	handofftest.TestPresence(t, func(_ *testing.T, now func() time.Time) handoff.Presence {
		return handoff.NewLocalPresence(0, now)
	})
}

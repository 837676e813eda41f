package main

import (
	"context"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/clocktest"
)

// TestSweepOnce checks the server's sweep: a ticket whose agent stays
// silent goes back to the queue, one whose user stays silent after the
// agent's reply is closed.
func TestSweepOnce(t *testing.T) {
	a, err := newTestApp(t, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clock := clocktest.NewNear()
	a.handoff, err = handoff.NewService(handoff.Options{Store: a.tickets, Lanes: a.handoff.Lanes(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	agent := handoff.Agent{ID: "A1", Name: "小王", Lanes: []string{handoff.LaneNormal}, Capacity: 5}
	open := func(user string) handoff.Ticket {
		out, err := a.handoff.Handoff(ctx, handoff.Request{OpenID: user, Lane: handoff.LaneNormal, Reason: "user_request",
			Transcript: []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: "转人工", At: clock.Now()}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.handoff.Claim(ctx, out.Ticket.ID, agent); err != nil {
			t.Fatal(err)
		}
		return out.Ticket
	}
	silentAgent, silentUser := open("o_silent_agent"), open("o_silent_user")
	reply := handoff.Message{From: handoff.FromAgent, Kind: "text", Text: "您好，请问还需要帮助吗", At: clock.Now()}
	if err := a.handoff.Append(ctx, silentUser.ID, reply); err != nil {
		t.Fatal(err)
	}
	clock.Advance(handoff.DefaultAgentTimeout + time.Minute)
	a.sweepOnce(ctx)

	got, err := a.tickets.TicketHeader(ctx, silentAgent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != handoff.StatusQueued {
		t.Errorf("silent agent's ticket is %s, want back in the queue", got.Status)
	}
	if got, err = a.tickets.TicketHeader(ctx, silentUser.ID); err != nil {
		t.Fatal(err)
	}
	if got.Status != handoff.StatusClosed {
		t.Errorf("silent user's ticket is %s, want closed", got.Status)
	}
}

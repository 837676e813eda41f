package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
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

// TestSweepQueueTimeout checks that a ticket left in its queue for the
// configured queue timeout is closed and its user told, through the
// customer-service API, with the ticket's number, the quota tracker fed
// from the transcript only; a ticket opened later waits on.
func TestSweepQueueTimeout(t *testing.T) {
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	a, err := newTestApp(t, t.TempDir(), "", "KEFU_WECHAT_APP_ID="+wxapitest.AppID,
		"KEFU_WECHAT_APP_SECRET="+wxapitest.AppSecret, "KEFU_WECHAT_API_BASE="+fake.URL(), "KEFU_QUEUE_TIMEOUT=2h")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clock := clocktest.NewNear()
	a.handoff, err = handoff.NewService(handoff.Options{Store: a.tickets, Lanes: a.handoff.Lanes(), Now: clock.Now,
		QueueTimeout: a.cfg.QueueTimeout})
	if err != nil {
		t.Fatal(err)
	}
	// The tracker is told nothing (as after a restart, or with the
	// webhook's report dropped): the window the user's message opened is
	// known from the ticket's transcript only.
	open := func(user string) handoff.Ticket {
		out, err := a.handoff.Handoff(ctx, handoff.Request{OpenID: user, Lane: handoff.LaneOverseas, Reason: "user_request",
			Transcript: []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: "转人工", At: clock.Now()}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Ticket
	}
	old := open("o_waited")
	clock.Advance(time.Hour)
	young := open("o_young")
	clock.Advance(time.Hour)
	a.sweepOnce(ctx)

	if got, err := a.tickets.TicketHeader(ctx, old.ID); err != nil || got.Status != handoff.StatusClosed {
		t.Errorf("ticket 2 h in the queue: %s, %v; want closed", got.Status, err)
	}
	if got, err := a.tickets.TicketHeader(ctx, young.ID); err != nil || got.Status != handoff.StatusQueued {
		t.Errorf("ticket 1 h in the queue: %s, %v; want queued", got.Status, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	sent, err := fake.WaitSentTo(wctx, "o_waited", 1)
	if err != nil || !strings.Contains(sent[0].Text, old.ID) || !strings.Contains(sent[0].Text, "排队") {
		t.Fatalf("sent to the user %+v, %v; want the closing message naming %s", sent, err, old.ID)
	}
	if q, err := a.quota.Peek(ctx, "o_waited", time.Now()); err != nil || q.Remaining != a.cfg.CSLimit-1 {
		t.Errorf("quota after the notice %+v, %v; want one of %d sends used", q, err, a.cfg.CSLimit)
	}
	if got := fake.Sent(); len(got) != 1 {
		t.Errorf("sent %d messages, want 1 (the waiting user of the young ticket is not told anything)", len(got))
	}
}

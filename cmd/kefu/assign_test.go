package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/handoff"
)

// TestAutoAssign checks the wiring of KEFU_AUTO_ASSIGN: the accounts that
// may be handed tickets, and a ticket handed to the online agent.
func TestAutoAssign(t *testing.T) {
	a, err := newTestApp(t, t.TempDir(), "admin password", "KEFU_AUTO_ASSIGN=true")
	if err != nil {
		t.Fatal(err)
	}
	if !a.cfg.AutoAssign {
		t.Fatal("KEFU_AUTO_ASSIGN=true not loaded")
	}
	ctx := context.Background()
	create := func(n auth.NewAccount) auth.Account {
		n.Password = "a long password"
		acc, err := a.auth.CreateAccount(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	wang := create(auth.NewAccount{Username: "wang", Name: "小王", Role: auth.RoleAgent, Lanes: []string{handoff.LaneNormal}, Capacity: 2})
	create(auth.NewAccount{Username: "editor", Role: auth.RoleEditor})
	gone := create(auth.NewAccount{Username: "gone", Role: auth.RoleAgent, Lanes: []string{handoff.LaneNormal}})
	disabled := true
	if _, err := a.auth.UpdateAccount(ctx, gone.ID, auth.Patch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}

	agents, err := a.assignable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(agents, func(ag handoff.Agent) bool { return ag.ID == wang.ID })
	if len(agents) != 2 || i < 0 || agents[i].Name != "小王" || agents[i].Capacity != 2 ||
		!slices.Equal(agents[i].Lanes, []string{handoff.LaneNormal}) {
		t.Fatalf("assignable = %+v; want wang and the admin (not the editor nor the disabled agent)", agents)
	}
	if admin := agents[1-i]; len(admin.Lanes) != len(a.handoff.Lanes().All()) || admin.Capacity <= 0 {
		t.Errorf("admin = %+v; want every lane", admin)
	}

	if err := a.presence.Seen(ctx, wang.ID); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.autoAssign(runCtx) }()
	defer func() { cancel(); <-done }()
	out, err := a.handoff.Handoff(ctx, handoff.Request{OpenID: "o-1", Lane: handoff.LaneNormal, Reason: "user_request"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		tk, err := a.tickets.TicketHeader(ctx, out.Ticket.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.AgentID == wang.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket assigned to %q, want the online agent %s (the admin is offline)", tk.AgentID, wang.ID)
		}
	}
}

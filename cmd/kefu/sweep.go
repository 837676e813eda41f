package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffapi"
	"github.com/kefuhq/kefu/internal/logid"
)

// sweepEvery is how often the server applies the session timeouts.
const sweepEvery = 30 * time.Second

// What the sweep tells the users of the tickets it closes.
const (
	// msgUserSilent: the user stopped answering the agent.
	msgUserSilent = "由于较长时间未收到您的回复，工单 %s 已关闭。如仍需帮助，请直接发送消息。\n(Ticket %s was closed because we did not hear back. Just write again if you still need help.)"
	// msgQueueTimeout: nobody took the ticket within the queue timeout.
	msgQueueTimeout = "很抱歉，工单 %s 排队等待人工客服时间过长，已自动关闭。如仍需帮助，请直接发送消息，我们会尽快为您重新转接。\n(Sorry: ticket %s waited too long for an agent and was closed. Just write again if you still need help, and we will connect you again.)"
)

// sweep applies the timeouts of DESIGN §2 every sweepEvery until ctx
// ends: silent agents' tickets go back to the queue, silent users' and
// those too long in the queue are closed and the users told (through the
// customer-service API, when it is configured), and tickets past their
// deadline are marked breached; self-service flows idle past
// KEFU_FLOW_IDLE end and their users are told. Every instance sweeps; the
// store's operations are atomic (and a flow is ended under its user's
// lock), so each is done once.
func (a *app) sweep(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.sweepOnce(ctx)
		}
	}
}

func (a *app) sweepOnce(ctx context.Context) {
	swept, err := a.handoff.Sweep(ctx)
	if err != nil {
		a.log.Error("sweep", "err", err)
	}
	if len(swept.Released) > 0 || len(swept.Closed) > 0 || len(swept.Expired) > 0 || len(swept.Breached) > 0 {
		a.log.Info("sweep", "released", len(swept.Released), "closed", len(swept.Closed),
			"expired", len(swept.Expired), "breached", len(swept.Breached))
	}
	for _, t := range swept.Closed {
		a.tellClosed(ctx, t, msgUserSilent)
	}
	for _, t := range swept.Expired {
		a.tellClosed(ctx, t, msgQueueTimeout)
	}
	a.expireIdleFlows(ctx)
}

// tellClosed tells the user of a ticket the sweep closed why, with msg
// (which names the ticket twice), if the customer-service API can reach
// them. The quota tracker first learns the windows the ticket's
// transcript shows the user opened, in case the webhook's report of them
// was lost.
func (a *app) tellClosed(ctx context.Context, t handoff.Ticket, msg string) {
	if a.replies == nil {
		return
	}
	handoffapi.SyncQuota(ctx, a.quota, t, a.log)
	if _, err := a.replies.SendText(ctx, t.OpenID, fmt.Sprintf(msg, t.ID, t.ID)); err != nil {
		a.log.Warn("sweep: tell user", "ticket", t.ID, "user", logid.Hash(t.OpenID), "err", err)
	}
}

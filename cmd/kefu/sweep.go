package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/logid"
)

// sweepEvery is how often the server applies the session timeouts.
const sweepEvery = 30 * time.Second

// msgUserSilent tells a user whose ticket closed for want of an answer.
const msgUserSilent = "由于较长时间未收到您的回复，工单 %s 已关闭。如仍需帮助，请直接发送消息。\n(Ticket %s was closed because we did not hear back. Just write again if you still need help.)"

// sweep applies the timeouts of DESIGN §2 every sweepEvery until ctx
// ends: silent agents' tickets go back to the queue, silent users' are
// closed and the users told (through the customer-service API, when it is
// configured). Every instance sweeps; the store's operations are atomic,
// so a ticket is released or closed once.
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
	if len(swept.Released) > 0 || len(swept.Closed) > 0 {
		a.log.Info("sweep", "released", len(swept.Released), "closed", len(swept.Closed))
	}
	for _, t := range swept.Closed {
		a.tellClosed(ctx, t)
	}
}

// tellClosed tells the user of a ticket closed for their silence, if the
// customer-service API can reach them.
func (a *app) tellClosed(ctx context.Context, t handoff.Ticket) {
	if a.replies == nil {
		return
	}
	if _, err := a.replies.SendText(ctx, t.OpenID, fmt.Sprintf(msgUserSilent, t.ID, t.ID)); err != nil {
		a.log.Warn("sweep: tell user", "ticket", t.ID, "user", logid.Hash(t.OpenID), "err", err)
	}
}

package main

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/logid"
	"github.com/kefuhq/kefu/wxapi"
)

// Sizes of the interactions' write-behind queue.
const (
	interactionQueue = 1024 // inbound messages waiting for the tracker
	interactionBatch = 64   // taken at once, repeats coalesced
)

// interaction is one user interaction for the quota tracker: the kind of
// window it opens, or an unsubscribe (kind empty) that closes them.
type interaction struct {
	openID string
	kind   wxapi.InteractionKind // empty: the user unsubscribed
	at     time.Time
}

// interactionOf maps a processed inbound to what it tells the tracker; ok
// is false when it tells nothing (a VIEW or LOCATION event, say).
func interactionOf(in bot.Inbound, now func() time.Time) (interaction, bool) {
	at := in.CreateTime
	if at.IsZero() { // not from WeChat: the terminal, a test
		at = now()
	}
	if in.Kind == bot.KindEvent && in.Event == bot.EventUnsubscribe {
		return interaction{openID: in.OpenID, at: at}, true
	}
	kind, ok := wxapi.InteractionOf(string(in.Kind), in.Event)
	return interaction{openID: in.OpenID, kind: kind, at: at}, ok
}

// coalesce keeps one interaction per user and kind, the newest (the
// tracker keeps only the latest of each kind anyway), with the
// unsubscribes last: one closes the windows opened before it, also those
// opened in the same batch, and leaves those opened after it alone.
func coalesce(batch []interaction) []interaction {
	at := make(map[interaction]time.Time, len(batch))
	var opened, unsubscribed []interaction
	for _, in := range batch {
		key := interaction{openID: in.openID, kind: in.kind}
		prev, seen := at[key]
		if !seen || in.at.After(prev) {
			at[key] = in.at
		}
		switch {
		case seen:
		case in.kind == "":
			unsubscribed = append(unsubscribed, key)
		default:
			opened = append(opened, key)
		}
	}
	out := append(opened, unsubscribed...)
	for i := range out {
		out[i].at = at[out[i]]
	}
	return out
}

// interactionRecorder feeds the quota tracker from the turns through a
// writeBehind: Offer is the engine's Inbound hook.
type interactionRecorder struct {
	*writeBehind[interaction]
	quota wxapi.Quota
	log   *slog.Logger
	now   func() time.Time
}

// newInteractionRecorder starts a recorder into quota with a queue of size
// (see writeBehind), counting what it drops in dropped.
func newInteractionRecorder(quota wxapi.Quota, size int, dropped prometheus.Counter, log *slog.Logger) *interactionRecorder {
	r := &interactionRecorder{quota: quota, log: log, now: time.Now}
	r.writeBehind = newWriteBehind(size, interactionBatch, dropped, r.write)
	return r
}

// Inbound is the engine's hook (bot.Options.Inbound): it queues what in
// tells the tracker, without blocking.
func (r *interactionRecorder) Inbound(in bot.Inbound) {
	if it, ok := interactionOf(in, r.now); ok {
		r.Offer(it)
	}
}

func (r *interactionRecorder) write(ctx context.Context, batch []interaction) {
	for _, it := range coalesce(batch) {
		var err error
		if it.kind == "" {
			err = r.quota.Revoke(ctx, it.openID, it.at, wxapi.ReasonClosed)
		} else {
			err = r.quota.Interaction(ctx, it.openID, it.kind, it.at)
		}
		if err != nil {
			r.log.Warn("quota: record the user's interaction", "open_id_hash", logid.Hash(it.openID),
				"kind", cmp.Or(string(it.kind), "unsubscribe"), "err", err)
		}
	}
}

// recordInteractions returns the engine's Inbound hook: it tells the quota
// tracker of every window a user opens (and closes, by unsubscribing),
// asynchronously. The recorder is closed, draining its queue, with the app.
func (a *app) recordInteractions() func(bot.Inbound) {
	r := newInteractionRecorder(a.quota, interactionQueue, a.metrics.interactionsDropped, a.log)
	a.closers = append(a.closers, r)
	return r.Inbound
}

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
//
// A user who keeps writing reopens the same window over and over: the
// recorder writes a window again only when the one it last wrote is older
// than refreshAfter (a minute for the 48 h message window, a few seconds
// for the one-minute event window). Agents' sends do not depend on it: the
// tickets API syncs the tracker from the ticket's transcript before each
// (handoffapi.SyncQuota), which also resets a count this skipped.
type interactionRecorder struct {
	*writeBehind[interaction]
	quota wxapi.Quota
	log   *slog.Logger
	now   func() time.Time
	// written is when each user's window of each kind was last written;
	// only the writer goroutine touches it.
	written map[writtenKey]time.Time
}

type writtenKey struct {
	openID string
	kind   wxapi.InteractionKind
}

// refreshAfter is how old a written window must be before the same user's
// same kind of interaction is written again.
func refreshAfter(kind wxapi.InteractionKind) time.Duration {
	if kind == wxapi.InteractionEvent {
		return 5 * time.Second
	}
	return time.Minute
}

// maxWritten bounds the recorder's memory of written windows; past it,
// the entries old enough to be written again are forgotten.
const maxWritten = 100_000

// newInteractionRecorder starts a recorder into quota with a queue of size
// (see writeBehind), counting what it drops in dropped.
func newInteractionRecorder(quota wxapi.Quota, size int, dropped prometheus.Counter, log *slog.Logger) *interactionRecorder {
	r := &interactionRecorder{quota: quota, log: log, now: time.Now, written: map[writtenKey]time.Time{}}
	r.writeBehind = newWriteBehind(size, interactionBatch, writeLinger, dropped, r.write)
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
			delete(r.written, writtenKey{it.openID, wxapi.InteractionMessage})
			delete(r.written, writtenKey{it.openID, wxapi.InteractionEvent})
		} else {
			key := writtenKey{it.openID, it.kind}
			if last, ok := r.written[key]; ok && !it.at.Before(last) && it.at.Sub(last) < refreshAfter(it.kind) {
				continue
			}
			if err = r.quota.Interaction(ctx, it.openID, it.kind, it.at); err == nil {
				r.remember(key, it.at)
			}
		}
		if err != nil {
			r.log.Warn("quota: record the user's interaction", "open_id_hash", logid.Hash(it.openID),
				"kind", cmp.Or(string(it.kind), "unsubscribe"), "err", err)
		}
	}
}

// remember notes that key's window was written at at.
func (r *interactionRecorder) remember(key writtenKey, at time.Time) {
	if len(r.written) >= maxWritten {
		for k, t := range r.written {
			if at.Sub(t) >= refreshAfter(k.kind) {
				delete(r.written, k)
			}
		}
	}
	if len(r.written) < maxWritten {
		r.written[key] = at
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

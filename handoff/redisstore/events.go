package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
)

var _ handoff.Events = (*Events)(nil)

// Events is the handoff.Events of the shared mode: events go out as JSON
// on the Redis pub/sub channel <prefix>events to every instance, this one
// included. Seq comes from the counter <prefix>events:seq, incremented in
// the same script that publishes, so it orders the events of all
// instances. An instance holds one subscription, opened by the first
// Subscribe, and fans out what it receives to its subscribers through a
// handoff.LocalEvents (so a slow one gets an EventResync and never holds
// the others up). Close ends the subscription.
type Events struct {
	rdb     redis.UniversalClient
	channel string
	seqKey  string
	log     *slog.Logger
	local   *handoff.LocalEvents

	mu     sync.Mutex
	ps     *redis.PubSub // nil until the first Subscribe
	closed bool
}

// NewEvents returns an Events on rdb whose keys start with prefix
// (DefaultPrefix when empty). log (nil = discard) gets the events that
// cannot be decoded.
func NewEvents(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Events {
	prefix = cmp.Or(prefix, DefaultPrefix)
	return &Events{rdb: rdb, channel: prefix + "events", seqKey: prefix + "events:seq",
		log: cmp.Or(log, slog.New(slog.DiscardHandler)), local: handoff.NewLocalEvents()}
}

// publishScript numbers the event (KEYS[1] is the counter) and publishes
// it on ARGV[1], the channel: ARGV[2] is its JSON without seq.
var publishScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], '{"seq":' .. n .. ',' .. string.sub(ARGV[2], 2))
return n
`)

// Publish numbers ev and publishes it on the channel.
func (e *Events) Publish(ctx context.Context, ev handoff.Event) error {
	ev.Seq = 0
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("handoff: encode event: %w", err)
	}
	if err := publishScript.Run(ctx, e.rdb, []string{e.seqKey}, e.channel, data).Err(); err != nil {
		return fmt.Errorf("handoff: publish %s event: %w", ev.Type, err)
	}
	return nil
}

// Subscribe returns the events published from now on by any instance,
// until ctx is done. The first call subscribes to the channel and returns
// once Redis confirmed it, so that no later publish is missed. When the
// connection drops, go-redis subscribes again by itself and the
// subscribers get an EventResync for what they missed meanwhile.
func (e *Events) Subscribe(ctx context.Context) (<-chan handoff.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("handoff: subscribe to %s: closed", e.channel)
	}
	if e.ps == nil {
		ps := e.rdb.Subscribe(context.WithoutCancel(ctx), e.channel)
		if _, err := ps.Receive(ctx); err != nil {
			ps.Close()
			return nil, fmt.Errorf("handoff: subscribe to %s: %w", e.channel, err)
		}
		e.ps = ps
		go e.pump(ps)
	}
	return e.local.Subscribe(ctx)
}

// pump hands what the subscription receives to the local subscribers
// until it is closed.
func (e *Events) pump(ps *redis.PubSub) {
	ctx := context.Background()
	for m := range ps.ChannelWithSubscriptions(redis.WithChannelSize(1024)) {
		switch m := m.(type) {
		case *redis.Subscription:
			// Subscribed again after a reconnect: events were missed.
			e.local.Publish(ctx, handoff.Event{Type: handoff.EventResync})
		case *redis.Message:
			var ev handoff.Event
			if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil {
				e.log.Warn("handoff: undecodable event", "channel", e.channel, "err", err)
				continue
			}
			e.local.Publish(ctx, ev)
		}
	}
}

// Close ends the subscription; the subscribers' channels stay open until
// their contexts end, without further events.
func (e *Events) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.ps == nil {
		return nil
	}
	return e.ps.Close()
}

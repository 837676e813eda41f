package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/kb"
)

var _ kb.Notifier = (*Notifier)(nil)

// Notifier is the kb.Notifier of the shared mode: publishes go out on the
// Redis pub/sub channel <prefix>kb:published to every instance subscribed
// to it, this one included.
type Notifier struct {
	rdb     redis.UniversalClient
	channel string
}

// NewNotifier returns a Notifier on rdb whose channel starts with prefix
// (DefaultPrefix when empty), as the Store's keys do.
func NewNotifier(rdb redis.UniversalClient, prefix string) *Notifier {
	return &Notifier{rdb: rdb, channel: cmp.Or(prefix, DefaultPrefix) + "kb:published"}
}

// Publish announces revision rev on the channel.
func (n *Notifier) Publish(ctx context.Context, rev int64) error {
	if err := n.rdb.Publish(ctx, n.channel, rev).Err(); err != nil {
		return fmt.Errorf("kb: notify revision %d: %w", rev, err)
	}
	return nil
}

// Subscribe subscribes to the channel and returns once Redis confirmed the
// subscription, so that no publish after it is missed. The channel closes
// after the subscription, when ctx is done. While the connection is down
// (go-redis reconnects by itself) publishes are missed: Editor.Watch polls
// the revision for that.
func (n *Notifier) Subscribe(ctx context.Context) (<-chan int64, error) {
	ps := n.rdb.Subscribe(ctx, n.channel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, fmt.Errorf("kb: subscribe to %s: %w", n.channel, err)
	}
	msgs := ps.Channel()
	out := make(chan int64, 1)
	go func() {
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				if rev, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
					kb.SendLatest(out, rev)
				}
			}
		}
	}()
	return out, nil
}

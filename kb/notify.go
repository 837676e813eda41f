package kb

import (
	"context"
	"sync"
)

// LocalNotifier is the in-process Notifier of the embedded mode: Publish
// reaches the subscribers of this LocalNotifier only. It is safe for
// concurrent use.
type LocalNotifier struct {
	mu   sync.Mutex
	subs map[chan int64]struct{}
}

var _ Notifier = (*LocalNotifier)(nil)

// NewLocalNotifier returns a LocalNotifier without subscribers.
func NewLocalNotifier() *LocalNotifier {
	return &LocalNotifier{subs: make(map[chan int64]struct{})}
}

// Publish hands rev to every current subscriber without waiting for any.
func (n *LocalNotifier) Publish(_ context.Context, rev int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		SendLatest(ch, rev)
	}
	return nil
}

// Subscribe returns a channel of the revisions published from now on; it
// is closed when ctx is done.
func (n *LocalNotifier) Subscribe(ctx context.Context) (<-chan int64, error) {
	ch := make(chan int64, 1)
	n.mu.Lock()
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	go func() {
		<-ctx.Done()
		n.mu.Lock()
		delete(n.subs, ch)
		close(ch)
		n.mu.Unlock()
	}()
	return ch, nil
}

// SendLatest puts rev into ch, a channel of capacity 1 that only the caller
// sends on, replacing a revision the receiver has not taken yet: a slow
// subscriber gets the latest revision instead of blocking the publisher.
// It is for Notifier implementations.
func SendLatest(ch chan int64, rev int64) {
	for {
		select {
		case ch <- rev:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

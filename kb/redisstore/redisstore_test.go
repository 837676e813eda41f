package redisstore_test

import (
	"testing"

	"github.com/kefuhq/kefu/internal/redistest"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbtest"
	"github.com/kefuhq/kefu/kb/redisstore"
)

func TestStore(t *testing.T) {
	kbtest.TestStore(t, func(t *testing.T) kb.Store {
		rdb, prefix := redistest.Client(t)
		return redisstore.New(rdb, prefix)
	})
}

// TestNotifier: two clients, as two instances hold them, on one Redis.
func TestNotifier(t *testing.T) {
	kbtest.TestNotifier(t, func(t *testing.T) (kb.Notifier, kb.Notifier) {
		a, prefix := redistest.Client(t)
		b, _ := redistest.Client(t)
		return redisstore.NewNotifier(a, prefix), redisstore.NewNotifier(b, prefix)
	})
}

// TestWatch: a publish by one instance reaches the other within a second.
func TestWatch(t *testing.T) {
	kbtest.TestWatch(t, func(t *testing.T) (kbtest.Instance, kbtest.Instance) {
		a, prefix := redistest.Client(t)
		b, _ := redistest.Client(t)
		return kbtest.Instance{Store: redisstore.New(a, prefix), Notifier: redisstore.NewNotifier(a, prefix)},
			kbtest.Instance{Store: redisstore.New(b, prefix), Notifier: redisstore.NewNotifier(b, prefix)}
	})
}

// TestWatchPoll: a publish whose notification is lost is found by polling.
func TestWatchPoll(t *testing.T) {
	kbtest.TestWatchPoll(t, func(t *testing.T) (kbtest.Instance, kbtest.Instance) {
		rdb, prefix := redistest.Client(t)
		return kbtest.Instance{Store: redisstore.New(rdb, prefix)}, kbtest.Instance{Store: redisstore.New(rdb, prefix)}
	})
}

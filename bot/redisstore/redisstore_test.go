package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/redisstore"
	"github.com/kefuhq/kefu/bot/storetest"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestSessionStore(t *testing.T) {
	storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore { return mustStore(t) })
}

func TestDeduper(t *testing.T) {
	storetest.TestDeduper(t, func(t *testing.T, _ func() time.Time) bot.Deduper { return mustStore(t) })
}

func TestLocker(t *testing.T) {
	storetest.TestLocker(t, func(t *testing.T) bot.Locker { return mustStore(t) })
}

// TestLockerInstances checks the lock between two Stores, as between two
// instances of kefu.
func TestLockerInstances(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	a, b := redisstore.New(rdb, prefix), redisstore.New(rdb, prefix)
	ctx := context.Background()
	unlock, err := a.Lock(ctx, "o-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short, "o-1", time.Minute); err == nil {
		t.Fatal("two instances hold one lock")
	}
	unlock()
	unlockB, err := b.Lock(ctx, "o-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
}

func mustStore(t testing.TB) *redisstore.Store {
	rdb, prefix := redistest.Client(t)
	return redisstore.New(rdb, prefix)
}

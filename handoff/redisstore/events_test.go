package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestEvents(t *testing.T) {
	// Two clients with one prefix: two instances of the shared mode.
	handofftest.TestEvents(t, func(t *testing.T) [2]handoff.Events {
		rdb, prefix := redistest.Client(t)
		other := redis.NewClient(rdb.Options())
		a, b := redisstore.NewEvents(rdb, prefix, nil), redisstore.NewEvents(other, prefix, nil)
		t.Cleanup(func() { a.Close(); b.Close(); other.Close() })
		return [2]handoff.Events{a, b}
	})
}

func TestPresence(t *testing.T) {
	handofftest.TestPresence(t, func(t *testing.T, now func() time.Time) handoff.Presence {
		rdb, prefix := redistest.Client(t)
		return redisstore.NewPresence(rdb, prefix, 0, now)
	})
}

package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestStore(t *testing.T) {
	handofftest.TestStore(t, func(t *testing.T) handoff.Store {
		rdb, prefix := redistest.Client(t)
		return redisstore.New(rdb, prefix)
	})
}

func TestAgentOps(t *testing.T) { handofftest.TestAgentOps(t, twoStores) }

func TestService(t *testing.T) { handofftest.TestService(t, twoStores) }

// twoStores returns two Stores with one prefix over two clients: two
// instances of the shared mode.
func twoStores(t *testing.T) [2]handoff.Store {
	rdb, prefix := redistest.Client(t)
	other := redis.NewClient(rdb.Options())
	t.Cleanup(func() { other.Close() })
	return [2]handoff.Store{redisstore.New(rdb, prefix), redisstore.New(other, prefix)}
}

package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/authtest"
	"github.com/kefuhq/kefu/auth/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestStore(t *testing.T) {
	authtest.TestStore(t, func(t *testing.T) authtest.Open {
		rdb, prefix := redistest.Client(t)
		// Each store has a client of its own, as two kefu processes would.
		return func(now func() time.Time) auth.Store {
			c := redis.NewClient(rdb.Options())
			t.Cleanup(func() { c.Close() })
			s := redisstore.New(c, prefix)
			s.Now = now
			return s
		}
	})
}

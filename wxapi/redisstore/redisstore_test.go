package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/internal/redistest"
	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/quotatest"
	"github.com/kefuhq/kefu/wxapi/redisstore"
	"github.com/kefuhq/kefu/wxapi/tokentest"
)

func TestTokenCache(t *testing.T) {
	tokentest.TestTokenCache(t, func(t *testing.T, now func() time.Time) wxapi.TokenCache {
		rdb, prefix := redistest.Client(t)
		s := redisstore.New(rdb, prefix)
		s.Now = now
		return s
	})
}

// TestServerExpiry checks that Redis drops the token at expiresAt by itself.
func TestServerExpiry(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	s := redisstore.New(rdb, prefix)
	ctx := context.Background()
	if err := s.SetToken(ctx, "wx-a", "token", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, prefix+"token:wx-a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("key expires in %v, want about an hour", ttl)
	}
}

func TestQuota(t *testing.T) {
	quotatest.TestQuota(t, func(t *testing.T) func(now func() time.Time) wxapi.QuotaStates {
		rdb, prefix := redistest.Client(t)
		return func(now func() time.Time) wxapi.QuotaStates {
			// Each instance has a client (a connection pool) of its own.
			other := redis.NewClient(rdb.Options())
			t.Cleanup(func() { other.Close() })
			s := redisstore.New(other, prefix)
			s.Now = now
			return s
		}
	})
}

// TestQuotaServerExpiry checks that Redis drops a user's state when its
// last grant closes, and deletes it at once when it is closed already.
func TestQuotaServerExpiry(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	q, err := wxapi.NewTracker(redisstore.New(rdb, prefix), wxapi.QuotaLimits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Interaction(ctx, "o_user", wxapi.InteractionEvent, time.Now()); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, prefix+"quota:o_user").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 50*time.Second || ttl > time.Minute {
		t.Errorf("key expires in %v, want about a minute", ttl)
	}
	if err := q.Revoke(ctx, "o_user", time.Now(), wxapi.ReasonClosed); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, prefix+"quota:o_user").Result(); n != 0 || err != nil {
		t.Errorf("closed state kept: exists = %d, %v", n, err)
	}
}

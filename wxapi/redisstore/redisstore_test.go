package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/redistest"
	"github.com/kefuhq/kefu/wxapi"
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

package redisstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/redisstore"
	"github.com/kefuhq/kefu/wxapi/tokentest"
)

func TestTokenCache(t *testing.T) {
	tokentest.TestTokenCache(t, func(t *testing.T, now func() time.Time) wxapi.TokenCache {
		rdb, prefix := mustRedis(t)
		s := redisstore.New(rdb, prefix)
		s.Now = now
		return s
	})
}

// TestServerExpiry checks that Redis drops the token at expiresAt by itself.
func TestServerExpiry(t *testing.T) {
	rdb, prefix := mustRedis(t)
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

// mustRedis connects to the server named by KEFU_TEST_REDIS_URL, skipping
// the test when it is unset. Keys get a prefix of their own, deleted after
// the test.
func mustRedis(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("KEFU_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0): skipping the Redis tests")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("KEFU_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	prefix := "kefutest:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("cleaning up %s*: %v", prefix, err)
			}
		}
		rdb.Close()
	})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at KEFU_TEST_REDIS_URL: %v", err)
	}
	return rdb, prefix
}

package redisstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/redisstore"
)

func TestStore(t *testing.T) {
	handofftest.TestStore(t, func(t *testing.T) handoff.Store {
		rdb, prefix := mustRedis(t)
		return redisstore.New(rdb, prefix)
	})
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

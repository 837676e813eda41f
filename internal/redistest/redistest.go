// Package redistest connects tests to a real Redis server: the one named
// by KEFU_TEST_REDIS_URL (CI sets it, e.g. redis://127.0.0.1:6379/0). Each
// test gets a key prefix of its own, so tests may run in parallel on one
// database and leave nothing behind.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the environment variable that holds the server's URL.
const EnvURL = "KEFU_TEST_REDIS_URL"

// Client returns a client of the server at KEFU_TEST_REDIS_URL and a new
// random key prefix, "kefutest:<hex>:". It skips the test when the variable
// is unset and fails it when the server cannot be reached. When the test
// ends, the prefix's keys are deleted and the client is closed (after the
// test's own cleanups, which may still use it).
func Client(t testing.TB) (rdb *redis.Client, prefix string) {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skip(EnvURL + " is not set (e.g. redis://127.0.0.1:6379/0): skipping the tests that need Redis")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix = "kefutest:" + hex.EncodeToString(b[:]) + ":"
	rdb = redis.NewClient(opt)
	t.Cleanup(func() {
		if err := deletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Errorf("redistest: deleting the keys %s*: %v", prefix, err)
		}
		rdb.Close()
	})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: redis at %s=%s: %v", EnvURL, url, err)
	}
	return rdb, prefix
}

// deletePrefix deletes the keys that start with prefix, a batch of SCAN
// at a time.
func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

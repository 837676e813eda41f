package redistest_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/internal/redistest"
)

func TestClient(t *testing.T) {
	var (
		rdb    *redis.Client
		prefix string
	)
	ctx := context.Background()
	t.Run("Keys", func(t *testing.T) {
		rdb, prefix = redistest.Client(t)
		if !regexp.MustCompile(`^kefutest:[0-9a-f]{16}:$`).MatchString(prefix) {
			t.Errorf("prefix = %q, want kefutest:<16 hex digits>:", prefix)
		}
		if _, other := redistest.Client(t); other == prefix {
			t.Errorf("two clients share the prefix %s", prefix)
		}
		// More keys than one SCAN batch.
		p := rdb.Pipeline()
		for i := range 2500 {
			p.Set(ctx, prefix+"k"+strconv.Itoa(i), "v", 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if rdb == nil {
		return // skipped
	}
	// The subtest's cleanup deleted the keys and closed the client.
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Errorf("client still open after the test")
	}
	check, _ := redistest.Client(t)
	if keys, err := check.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("after the test: %d keys %s* left (%v)", len(keys), prefix, err)
	}
}

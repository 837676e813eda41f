package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/clocktest"
)

// TestDeduper runs the conformance tests of a bot.Deduper. newDeduper
// returns an empty deduper for one subtest; a deduper that keeps time
// itself reads it from now, which the tests advance; one that leaves
// expiry to a server ignores now (the expiry test then waits a little).
func TestDeduper(t *testing.T, newDeduper func(t *testing.T, now func() time.Time) bot.Deduper) {
	t.Run("First", func(t *testing.T) {
		c := clocktest.NewNear()
		testDedupeFirst(t, newDeduper(t, c.Now))
	})
	t.Run("Finished", func(t *testing.T) {
		c := clocktest.NewNear()
		testDedupeFinished(t, newDeduper(t, c.Now))
	})
	t.Run("FinishWithoutBegin", func(t *testing.T) {
		c := clocktest.NewNear()
		testDedupeFinishWithoutBegin(t, newDeduper(t, c.Now))
	})
	t.Run("Expiry", func(t *testing.T) {
		c := clocktest.NewNear()
		testDedupeExpiry(t, newDeduper(t, c.Now), c)
	})
	t.Run("Race", func(t *testing.T) {
		c := clocktest.NewNear()
		testDedupeRace(t, newDeduper(t, c.Now))
	})
}

const dedupeTTL = time.Minute

func mustBegin(t *testing.T, d bot.Deduper, key string, ttl time.Duration) (bot.Turn, bool) {
	t.Helper()
	turn, first, err := d.BeginTurn(context.Background(), key, ttl)
	if err != nil {
		t.Fatalf("BeginTurn(%q): %v", key, err)
	}
	return turn, first
}

func testDedupeFirst(t *testing.T, d bot.Deduper) {
	if turn, first := mustBegin(t, d, "o-1|100", dedupeTTL); !first || turn != (bot.Turn{}) {
		t.Errorf("BeginTurn of a new key = %+v, %v; want a zero turn, true", turn, first)
	}
	if turn, first := mustBegin(t, d, "o-1|100", dedupeTTL); first || turn.Done {
		t.Errorf("BeginTurn while the first is in progress = %+v, %v; want Done=false, false", turn, first)
	}
	if _, first := mustBegin(t, d, "o-1|101", dedupeTTL); !first {
		t.Errorf("BeginTurn of another key: first = false, want true")
	}
	if _, first := mustBegin(t, d, "o-2|100", dedupeTTL); !first {
		t.Errorf("BeginTurn of another user's key: first = false, want true")
	}
}

func testDedupeFinished(t *testing.T, d bot.Deduper) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  string
		turn bot.Turn
	}{
		{"Reply", "o-1|1", bot.Turn{Done: true, Reply: awkward}},
		{"NoReply", "o-1|2", bot.Turn{Done: true}},
		{"Async", "o-1|3", bot.Turn{Done: true, Async: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustBegin(t, d, tc.key, dedupeTTL)
			if err := d.FinishTurn(ctx, tc.key, tc.turn, dedupeTTL); err != nil {
				t.Fatalf("FinishTurn: %v", err)
			}
			// Every retry gets the outcome: looking does not change it.
			for retry := range 3 {
				got, first := mustBegin(t, d, tc.key, dedupeTTL)
				if first {
					t.Errorf("retry %d: BeginTurn after FinishTurn: first = true", retry)
				}
				if diff := cmp.Diff(tc.turn, got); diff != "" {
					t.Errorf("retry %d: remembered turn (-want +got):\n%s", retry, diff)
				}
			}
		})
	}
}

func testDedupeFinishWithoutBegin(t *testing.T, d bot.Deduper) {
	want := bot.Turn{Done: true, Reply: "好的"}
	if err := d.FinishTurn(context.Background(), "o-1|9", want, dedupeTTL); err != nil {
		t.Fatalf("FinishTurn: %v", err)
	}
	got, first := mustBegin(t, d, "o-1|9", dedupeTTL)
	if first || got != want {
		t.Errorf("BeginTurn = %+v, %v; want %+v, false", got, first, want)
	}
}

func testDedupeExpiry(t *testing.T, d bot.Deduper, c *clocktest.Clock) {
	const ttl = 50 * time.Millisecond
	mustBegin(t, d, "o-1|1", ttl)
	if _, first := mustBegin(t, d, "o-1|1", ttl); first {
		t.Fatalf("BeginTurn within the ttl: first = true")
	}
	// A long-lived key next to it must survive.
	mustBegin(t, d, "o-1|2", time.Hour)

	c.Advance(2 * ttl)
	if !eventually(t, 5*time.Second, func() bool {
		_, first := mustBegin(t, d, "o-1|1", ttl)
		return first
	}) {
		t.Fatalf("key still claimed long after its ttl")
	}
	if _, first := mustBegin(t, d, "o-1|2", time.Hour); first {
		t.Errorf("key with a long ttl expired")
	}
}

// testDedupeRace claims one key from many goroutines: exactly one is first.
func testDedupeRace(t *testing.T, d bot.Deduper) {
	const n = 32
	for round := range 5 {
		key := "o-race|" + string(rune('a'+round))
		var firsts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, first, err := d.BeginTurn(context.Background(), key, dedupeTTL)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := firsts.Load(); got != 1 {
			t.Errorf("round %d: %d callers were first, want 1", round, got)
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
)

// TestLocker runs the conformance tests of a bot.Locker. newLocker returns
// a locker with no locks held for one subtest.
func TestLocker(t *testing.T, newLocker func(t *testing.T) bot.Locker) {
	t.Run("OK", func(t *testing.T) { testLockOK(t, newLocker(t)) })
	t.Run("ErrLockTimeout", func(t *testing.T) { testLockTimeout(t, newLocker(t)) })
	t.Run("Canceled", func(t *testing.T) { testLockCanceled(t, newLocker(t)) })
	t.Run("WaitsForUnlock", func(t *testing.T) { testLockWaits(t, newLocker(t)) })
	t.Run("Keys", func(t *testing.T) { testLockKeys(t, newLocker(t)) })
	t.Run("MutualExclusion", func(t *testing.T) { testLockExclusion(t, newLocker(t)) })
	t.Run("Expiry", func(t *testing.T) { testLockExpiry(t, newLocker(t)) })
}

const lockTTL = 30 * time.Second

func mustLock(t *testing.T, l bot.Locker, key string, ttl time.Duration) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := l.Lock(ctx, key, ttl)
	if err != nil {
		t.Fatalf("Lock(%q): %v", key, err)
	}
	return unlock
}

// tryLock tries for a short while; it reports whether it got the lock
// (and releases it).
func tryLock(t *testing.T, l bot.Locker, key string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	unlock, err := l.Lock(ctx, key, lockTTL)
	if err != nil {
		if !errors.Is(err, bot.ErrLockTimeout) {
			t.Fatalf("Lock(%q): err = %v, want ErrLockTimeout", key, err)
		}
		return false
	}
	unlock()
	return true
}

func testLockOK(t *testing.T, l bot.Locker) {
	unlock := mustLock(t, l, "o-1", lockTTL)
	unlock()
	unlock() // a second unlock does nothing
	unlock = mustLock(t, l, "o-1", lockTTL)
	defer unlock()
}

func testLockTimeout(t *testing.T, l bot.Locker) {
	unlock := mustLock(t, l, "o-1", lockTTL)
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := l.Lock(ctx, "o-1", lockTTL)
	if !errors.Is(err, bot.ErrLockTimeout) {
		t.Fatalf("Lock of a held key: err = %v, want ErrLockTimeout", err)
	}
	if waited := time.Since(begin); waited < 40*time.Millisecond || waited > 5*time.Second {
		t.Errorf("Lock gave up after %v, want about the context's 50ms", waited)
	}
}

func testLockCanceled(t *testing.T, l bot.Locker) {
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := l.Lock(done, "o-free", lockTTL); !errors.Is(err, bot.ErrLockTimeout) {
		t.Errorf("Lock of a free key with a done context: err = %v, want ErrLockTimeout", err)
	}
	if !tryLock(t, l, "o-free") {
		t.Errorf("a refused Lock left the key locked")
	}

	unlock := mustLock(t, l, "o-1", lockTTL)
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Lock(ctx, "o-1", lockTTL)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, bot.ErrLockTimeout) {
			t.Errorf("Lock with a canceled context: err = %v, want ErrLockTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after its context was canceled")
	}
}

func testLockWaits(t *testing.T, l bot.Locker) {
	unlock := mustLock(t, l, "o-1", lockTTL)
	got := make(chan func(), 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		u, err := l.Lock(ctx, "o-1", lockTTL)
		if err != nil {
			t.Error(err)
			u = func() {}
		}
		got <- u
	}()
	select {
	case u := <-got:
		u()
		t.Fatal("second Lock got a held key")
	case <-time.After(20 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		u()
	case <-time.After(10 * time.Second):
		t.Fatal("waiting Lock did not get the key after unlock")
	}
}

func testLockKeys(t *testing.T, l bot.Locker) {
	a := mustLock(t, l, "o-a", lockTTL)
	defer a()
	if !tryLock(t, l, "o-b") {
		t.Errorf("a lock on o-a blocked o-b")
	}
	if tryLock(t, l, "o-a") {
		t.Errorf("o-a locked twice")
	}
}

// testLockExclusion has many goroutines take turns on a few keys, checking
// that no two ever hold the same key.
func testLockExclusion(t *testing.T, l bot.Locker) {
	const workers, rounds, keys = 8, 20, 2
	var holders [keys]atomic.Int32
	var count [keys]int // changed only under the lock: the race detector checks it
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				k := (w + i) % keys
				unlock := mustLock(t, l, "o-"+string(rune('a'+k)), lockTTL)
				if n := holders[k].Add(1); n != 1 {
					t.Errorf("%d holders of key %d", n, k)
				}
				count[k]++
				holders[k].Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	if total := count[0] + count[1]; total != workers*rounds {
		t.Errorf("%d turns done, want %d", total, workers*rounds)
	}
}

// testLockExpiry lets a lock outlive its ttl: another caller then gets the
// key, and the first holder's late unlock must not release it.
func testLockExpiry(t *testing.T, l bot.Locker) {
	stale := mustLock(t, l, "o-1", 50*time.Millisecond)
	begin := time.Now()
	fresh := mustLock(t, l, "o-1", lockTTL) // waits for the expiry
	if waited := time.Since(begin); waited > 5*time.Second {
		t.Errorf("expired lock freed after %v", waited)
	}
	stale()
	if tryLock(t, l, "o-1") {
		t.Errorf("the expired holder's unlock released the new holder's lock")
	}
	fresh()
	if !tryLock(t, l, "o-1") {
		t.Errorf("key still locked after unlock")
	}
}

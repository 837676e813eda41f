package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/redisstore"
	"github.com/kefuhq/kefu/bot/storetest"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestSessionStore(t *testing.T) {
	storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore { return mustStore(t) })
}

func TestDeduper(t *testing.T) {
	storetest.TestDeduper(t, func(t *testing.T, _ func() time.Time) bot.Deduper { return mustStore(t) })
}

func TestLocker(t *testing.T) {
	storetest.TestLocker(t, func(t *testing.T) bot.Locker { return mustStore(t) })
}

// TestLockerInstances checks the lock between two Stores, as between two
// instances of kefu.
func TestLockerInstances(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	a, b := redisstore.New(rdb, prefix), redisstore.New(rdb, prefix)
	ctx := context.Background()
	unlock, err := a.Lock(ctx, "o-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short, "o-1", time.Minute); err == nil {
		t.Fatal("two instances hold one lock")
	}
	unlock()
	unlockB, err := b.Lock(ctx, "o-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
}

func mustStore(t testing.TB) *redisstore.Store {
	rdb, prefix := redistest.Client(t)
	return redisstore.New(rdb, prefix)
}

// TestLockSession checks the one-step lock and read, and the one-step save
// and release: the session read under the lock is the stored one, a
// second holder waits, a conflicting save keeps the lock, and a save
// releases it.
func TestLockSession(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	stored := bot.Session{OpenID: "o-1", State: bot.StateBot, FailedTurns: 2}
	if err := s.SaveSession(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	ls, err := s.LockSession(ctx, "user:o-1", time.Minute, "o-1")
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Unlock()
	if ls.Session.FailedTurns != 2 || ls.Session.Version != 1 || ls.Session.OpenID != "o-1" {
		t.Fatalf("session under the lock = %+v, want the stored one at version 1", ls.Session)
	}
	held := func() bool {
		t.Helper()
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		unlock, err := s.Lock(short, "user:o-1", time.Minute)
		if err == nil {
			unlock()
			return false
		}
		if !errors.Is(err, bot.ErrLockTimeout) {
			t.Fatalf("Lock: %v", err)
		}
		return true
	}
	if !held() {
		t.Fatal("the lock is not held after LockSession")
	}

	stale := ls.Session
	stale.Version = 0
	if err := ls.SaveAndUnlock(ctx, &stale); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("SaveAndUnlock of a stale copy: %v, want ErrConflict", err)
	}
	if !held() {
		t.Fatal("a conflicting save released the lock")
	}

	next := ls.Session
	next.FailedTurns = 3
	if err := ls.SaveAndUnlock(ctx, &next); err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 {
		t.Errorf("version after the save = %d, want 2", next.Version)
	}
	if held() {
		t.Fatal("the lock is still held after SaveAndUnlock")
	}
	got, err := s.Session(ctx, "o-1")
	if err != nil || got.FailedTurns != 3 || got.Version != 2 {
		t.Fatalf("stored session = %+v, %v; want failed turns 3 at version 2", got, err)
	}

	// Unlock after the save leaves another holder's lock alone.
	unlock, err := s.Lock(ctx, "user:o-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ls.Unlock()
	if !held() {
		t.Error("Unlock after SaveAndUnlock released another holder's lock")
	}

	// A user never seen: a new session, and the lock.
	fresh, err := s.LockSession(ctx, "user:o-2", time.Minute, "o-2")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Unlock()
	if fresh.Session.Version != 0 || fresh.Session.State != bot.StateBot || fresh.Session.OpenID != "o-2" {
		t.Errorf("new user's session = %+v", fresh.Session)
	}
}

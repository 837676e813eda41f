package sqlitestore

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// TestCopySession guards the cache against a new reference-typed field in
// bot.Session that copySession would share between copies.
func TestCopySession(t *testing.T) {
	typ := reflect.TypeFor[bot.Session]()
	for f := range typ.Fields() {
		switch f.Type.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			if f.Name != "History" && f.Name != "Flow" {
				t.Errorf("bot.Session.%s is a %s: make copySession copy it, then list it here", f.Name, f.Type.Kind())
			}
		}
	}
}

func TestSessionCacheBounded(t *testing.T) {
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := NewWithCache(db, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		sess, err := s.Session(ctx, fmt.Sprint("o-", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := s.lru.Len(), len(s.cache); n != 10 || m != 10 {
		t.Errorf("cache holds %d (map %d) sessions, want 10", n, m)
	}
	// Evicted sessions are read back from the table.
	sess, err := s.Session(ctx, "o-0")
	if err != nil || sess.Version != 1 {
		t.Errorf("evicted session = version %d, %v; want version 1", sess.Version, err)
	}
}

func TestDeduperBounded(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	d := NewDeduper(func() time.Time { return now })
	ctx := context.Background()
	for i := range 100_000 {
		if _, _, err := d.BeginTurn(ctx, fmt.Sprint("o|", i), 15*time.Second); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Millisecond) // 1,000 turns a second: about 15,000 live keys
	}
	if n := d.Len(); n > 3*15_000 {
		t.Errorf("deduper holds %d keys, want at most %d", n, 3*15_000)
	}
}

func TestLockerBounded(t *testing.T) {
	l := NewLocker()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			unlock, err := l.Lock(ctx, fmt.Sprint("o-", i%50), time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			unlock()
		})
	}
	wg.Wait()
	// A waiter that gives up leaves nothing behind either.
	unlock, _ := l.Lock(ctx, "o-held", time.Minute)
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "o-held", time.Minute); err == nil {
		t.Fatal("held lock taken twice")
	}
	unlock()
	// An expired lock goes too.
	if _, err := l.Lock(ctx, "o-expiring", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	unlockAgain, err := l.Lock(ctx, "o-expiring", time.Minute) // waits for the expiry
	if err != nil {
		t.Fatal(err)
	}
	unlockAgain()
	if n := l.Len(); n != 0 {
		t.Errorf("locker keeps %d keys after every lock was released", n)
	}
}

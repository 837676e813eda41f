package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
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
	s, err := NewWithOptions(db, Options{CacheSize: 10, WriteDelay: DefaultWriteDelay})
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

// storedVersion reads the user's row straight from the table: 0 when none.
func storedVersion(t *testing.T, s *Store, openID string) int64 {
	t.Helper()
	var v int64
	err := s.db.QueryRow(`SELECT version FROM bot_sessions WHERE open_id = ?`, openID).Scan(&v)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return v
}

// TestWriteBehind follows a save from memory to the table: at once in
// memory, in the table within the write delay, and after a writer failure
// kept in memory and written once the table is back.
func TestWriteBehind(t *testing.T) {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := NewWithOptions(db, Options{CacheSize: 10, WriteDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	save := func(openID string) bot.Session {
		t.Helper()
		sess, err := s.Session(ctx, openID)
		if err != nil {
			t.Fatal(err)
		}
		sess.FailedTurns++
		if err := s.SaveSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	waitStored := func(openID string, want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for storedVersion(t, s, openID) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: table holds version %d, want %d", openID, storedVersion(t, s, openID), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	save("o-1")
	save("o-1")
	save("o-2")
	waitStored("o-1", 2)
	waitStored("o-2", 1)

	// The writer fails while the table is gone; the saves wait in memory.
	if _, err := db.Exec(`ALTER TABLE bot_sessions RENAME TO bot_sessions_away`); err != nil {
		t.Fatal(err)
	}
	sess := save("o-1")
	save("o-2")
	time.Sleep(100 * time.Millisecond)
	if got, err := s.Session(ctx, "o-1"); err != nil || got.Version != sess.Version || got.FailedTurns != sess.FailedTurns {
		t.Fatalf("while the writer fails: session = %+v, %v; want %+v", got, err, sess)
	}
	if _, err := db.Exec(`ALTER TABLE bot_sessions_away RENAME TO bot_sessions`); err != nil {
		t.Fatal(err)
	}
	waitStored("o-1", 3)
	waitStored("o-2", 2)

	// Close writes what is held back.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = NewWithOptions(db, Options{WriteDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	save("o-3")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, s, "o-3"); v != 1 {
		t.Errorf("after Close: o-3 stored at version %d, want 1", v)
	}
}

// TestSaveRefused: a save after Close, or of a session that cannot be
// encoded, fails at once and keeps nothing; the other sessions are
// written as usual, in either mode.
func TestSaveRefused(t *testing.T) {
	for _, delay := range []time.Duration{0, DefaultWriteDelay} {
		t.Run(delay.String(), func(t *testing.T) {
			db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s, err := NewWithOptions(db, Options{CacheSize: 10, WriteDelay: delay})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			bad := bot.Session{OpenID: "bad", State: bot.StateBot, UpdatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
			if err := s.SaveSession(ctx, &bad); err == nil || bad.Version != 0 {
				t.Errorf("unencodable session: err %v, version %d; want an error and version 0", err, bad.Version)
			}
			good := bot.Session{OpenID: "good", State: bot.StateBot, UpdatedAt: time.Now()}
			if err := s.SaveSession(ctx, &good); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if v := storedVersion(t, s, "good"); v != 1 {
				t.Errorf("good session stored at version %d, want 1", v)
			}
			if err := s.SaveSession(ctx, &good); err == nil {
				t.Error("save after Close: no error")
			}
		})
	}
}

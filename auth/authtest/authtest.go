// Package authtest is the conformance suite of auth.Store: every
// implementation runs these tests from its own test file, so the embedded
// and the shared mode behave alike.
//
//	func TestStore(t *testing.T) {
//		authtest.TestStore(t, func(t *testing.T) authtest.Open {
//			backend := newBackend(t)
//			return func(now func() time.Time) auth.Store { return newStore(backend, now) }
//		})
//	}
package authtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/internal/clocktest"
)

// Open returns a new store on one backend (a database file, a Redis key
// prefix) that reads the time from now. Stores opened by one Open stand
// for instances of kefu sharing that backend: each sees what the others
// write.
type Open func(now func() time.Time) auth.Store

// TestStore runs the conformance tests of an auth.Store. newBackend
// prepares a fresh, empty backend for one subtest.
func TestStore(t *testing.T, newBackend func(t *testing.T) Open) {
	run := func(name string, test func(t *testing.T, open Open, clk *clocktest.Clock)) {
		t.Run(name, func(t *testing.T) {
			test(t, newBackend(t), clocktest.NewNear())
		})
	}
	t.Run("CreateAccount", func(t *testing.T) {
		run("OK", testCreateOK)
		run("ErrConflict", testCreateConflict)
		run("ErrInvalid", testCreateInvalid)
		run("ConcurrentUsername", testCreateConcurrent)
	})
	run("Account/ErrNotFound", testAccountNotFound)
	run("Accounts", testAccounts)
	t.Run("UpdateAccount", func(t *testing.T) {
		run("OK", testUpdateOK)
		run("ErrConflict", testUpdateConflict)
		run("ErrNotFound", testUpdateNotFound)
		run("Race", testUpdateRace)
	})
	t.Run("Session", func(t *testing.T) {
		run("OK", testSessionOK)
		run("Expiry", testSessionExpiry)
		run("Delete", testSessionDelete)
		run("DeleteAll", testSessionDeleteAll)
	})
	t.Run("Hit", func(t *testing.T) {
		run("Window", testHitWindow)
		run("Undo", testHitUndo)
		run("Reset", testHitReset)
		run("Keys", testHitKeys)
		run("TwoInstances", testHitTwoInstances)
	})
}

var opts = cmp.Options{cmpopts.EquateEmpty()}

// newAccount returns an unsaved account created at now.
func newAccount(id, username string, now time.Time) *auth.Account {
	return &auth.Account{
		ID: id, Username: username, Name: "客服 " + username + " 😀 \"quoted\" <b>", Role: auth.RoleAgent,
		Lanes: []string{"emergency", "normal"}, Capacity: 5,
		PasswordHash: []byte("$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"),
		CreatedAt:    now, UpdatedAt: now,
	}
}

func mustCreate(t *testing.T, s auth.Store, a *auth.Account) *auth.Account {
	t.Helper()
	if err := s.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.Username, err)
	}
	return a
}

func mustAccount(t *testing.T, s auth.Store, id string) auth.Account {
	t.Helper()
	a, err := s.Account(context.Background(), id)
	if err != nil {
		t.Fatalf("Account(%s): %v", id, err)
	}
	return a
}

func testCreateOK(t *testing.T, open Open, clk *clocktest.Clock) {
	s, other := open(clk.Now), open(clk.Now)
	a := mustCreate(t, s, newAccount("A1", "alice", clk.Now()))
	if a.Version != 1 {
		t.Errorf("Version after create = %d, want 1", a.Version)
	}
	for _, st := range []auth.Store{s, other} {
		if diff := cmp.Diff(*a, mustAccount(t, st, "A1"), opts); diff != "" {
			t.Errorf("Account (-want +got):\n%s", diff)
		}
		got, err := st.AccountByUsername(context.Background(), "alice")
		if err != nil {
			t.Fatalf("AccountByUsername: %v", err)
		}
		if diff := cmp.Diff(*a, got, opts); diff != "" {
			t.Errorf("AccountByUsername (-want +got):\n%s", diff)
		}
	}
	// No lanes, disabled, an admin: kept as such.
	b := newAccount("A2", "bob", clk.Now())
	b.Lanes, b.Disabled, b.Role, b.Capacity = nil, true, auth.RoleAdmin, 0
	mustCreate(t, s, b)
	if diff := cmp.Diff(*b, mustAccount(t, other, "A2"), opts); diff != "" {
		t.Errorf("Account without lanes (-want +got):\n%s", diff)
	}
}

func testCreateConflict(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	a := mustCreate(t, s, newAccount("A1", "alice", clk.Now()))
	for _, dup := range []*auth.Account{newAccount("A2", "alice", clk.Now()), newAccount("A1", "bob", clk.Now())} {
		if err := s.CreateAccount(context.Background(), dup); !errors.Is(err, auth.ErrConflict) {
			t.Errorf("CreateAccount(id %s, username %s) over A1 alice: err = %v, want ErrConflict", dup.ID, dup.Username, err)
		}
	}
	if diff := cmp.Diff(*a, mustAccount(t, s, "A1"), opts); diff != "" {
		t.Errorf("a refused create changed the account (-want +got):\n%s", diff)
	}
	wantNoAccount(t, s, "A2", "bob")
}

// wantNoAccount checks that neither the id nor the username finds an
// account.
func wantNoAccount(t *testing.T, s auth.Store, id, username string) {
	t.Helper()
	if a, err := s.Account(context.Background(), id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Account(%s) = %s, %v; want ErrNotFound", id, a.Username, err)
	}
	if a, err := s.AccountByUsername(context.Background(), username); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("AccountByUsername(%s) = %s, %v; want ErrNotFound", username, a.ID, err)
	}
}

func testCreateInvalid(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	for _, a := range []*auth.Account{newAccount("", "alice", clk.Now()), newAccount("A1", "", clk.Now())} {
		if err := s.CreateAccount(context.Background(), a); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("CreateAccount(id %q, username %q): err = %v, want ErrInvalid", a.ID, a.Username, err)
		}
	}
}

// testCreateConcurrent creates one username from many goroutines on two
// instances: exactly one wins.
func testCreateConcurrent(t *testing.T, open Open, clk *clocktest.Clock) {
	stores := []auth.Store{open(clk.Now), open(clk.Now)}
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			a := newAccount(fmt.Sprintf("A%d", i), "carol", clk.Now())
			err := stores[i%2].CreateAccount(context.Background(), a)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, a.ID)
			case !errors.Is(err, auth.ErrConflict):
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("CreateAccount: %v", errors.Join(errs...))
	}
	if len(won) != 1 {
		t.Fatalf("%d creates of one username succeeded (%v), want 1", len(won), won)
	}
	got, err := stores[1].AccountByUsername(context.Background(), "carol")
	if err != nil || got.ID != won[0] {
		t.Errorf("AccountByUsername(carol) = %s, %v; want %s", got.ID, err, won[0])
	}
	list, err := stores[0].Accounts(context.Background())
	if err != nil || len(list) != 1 {
		t.Errorf("Accounts = %d accounts, %v; want 1", len(list), err)
	}
}

func testAccountNotFound(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	mustCreate(t, s, newAccount("A1", "alice", clk.Now()))
	wantNoAccount(t, s, "A2", "bob")
	// Ids and usernames are apart.
	wantNoAccount(t, s, "alice", "A1")
}

func testAccounts(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	list, err := s.Accounts(context.Background())
	if err != nil || len(list) != 0 {
		t.Fatalf("Accounts of an empty store = %v, %v", list, err)
	}
	ids := map[string]string{}
	for i, name := range []string{"zoe", "alice", "mike", "bob"} {
		ids[name] = fmt.Sprintf("A%d", i)
		mustCreate(t, s, newAccount(ids[name], name, clk.Now()))
	}
	var want []auth.Account
	for _, name := range []string{"alice", "bob", "mike", "zoe"} {
		a := newAccount(ids[name], name, clk.Now())
		a.Version = 1
		want = append(want, *a)
	}
	got, err := open(clk.Now).Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Accounts, by username (-want +got):\n%s", diff)
	}
}

func testUpdateOK(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	a := mustCreate(t, s, newAccount("A1", "alice", clk.Now()))
	created := a.CreatedAt
	clk.Advance(time.Hour)
	a.Name, a.Role, a.Lanes, a.Capacity, a.Disabled = "Alice 李", auth.RoleEditor, []string{"care"}, 0, true
	a.PasswordHash, a.UpdatedAt = []byte("$2a$04$new"), clk.Now()
	if err := s.UpdateAccount(context.Background(), a); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	if a.Version != 2 {
		t.Errorf("Version after update = %d, want 2", a.Version)
	}
	if diff := cmp.Diff(*a, mustAccount(t, open(clk.Now), "A1"), opts); diff != "" {
		t.Errorf("Account after update (-want +got):\n%s", diff)
	}
	// The username and the creation time never change.
	b := *a
	b.Username, b.CreatedAt, b.Lanes = "mallory", created.Add(time.Hour), nil
	if err := s.UpdateAccount(context.Background(), &b); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	got := mustAccount(t, s, "A1")
	if got.Username != "alice" || !got.CreatedAt.Equal(created) || len(got.Lanes) != 0 {
		t.Errorf("after an update with another username and creation time: username %q created %v lanes %v; want alice, %v, none",
			got.Username, got.CreatedAt, got.Lanes, created)
	}
	wantNoAccount(t, s, "A2", "mallory")
}

func testUpdateConflict(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	a := mustCreate(t, s, newAccount("A1", "alice", clk.Now()))
	stale := *a
	a.Capacity = 7
	if err := s.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	stale.Capacity = 9
	if err := open(clk.Now).UpdateAccount(context.Background(), &stale); !errors.Is(err, auth.ErrConflict) {
		t.Errorf("UpdateAccount at a stale version: err = %v, want ErrConflict", err)
	}
	if stale.Version != 1 {
		t.Errorf("a refused update changed Version to %d", stale.Version)
	}
	if got := mustAccount(t, s, "A1"); got.Capacity != 7 || got.Version != 2 {
		t.Errorf("after a refused update: capacity %d version %d, want 7 and 2", got.Capacity, got.Version)
	}
}

func testUpdateNotFound(t *testing.T, open Open, clk *clocktest.Clock) {
	a := newAccount("A1", "alice", clk.Now())
	a.Version = 1
	if err := open(clk.Now).UpdateAccount(context.Background(), a); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UpdateAccount of a missing account: err = %v, want ErrNotFound", err)
	}
}

// testUpdateRace increments the capacity from many goroutines on two
// instances, each reading and retrying on ErrConflict: no increment is
// lost.
func testUpdateRace(t *testing.T, open Open, clk *clocktest.Clock) {
	stores := []auth.Store{open(clk.Now), open(clk.Now)}
	a := newAccount("A1", "alice", clk.Now())
	a.Capacity = 0
	mustCreate(t, stores[0], a)
	const n = 12
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s := stores[i%2]
			for {
				a, err := s.Account(context.Background(), "A1")
				if err != nil {
					errc <- err
					return
				}
				a.Capacity++
				err = s.UpdateAccount(context.Background(), &a)
				if errors.Is(err, auth.ErrConflict) {
					continue
				}
				errc <- err
				return
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := mustAccount(t, stores[1], "A1"); got.Capacity != n || got.Version != n+1 {
		t.Errorf("after %d racing increments: capacity %d version %d, want %d and %d", n, got.Capacity, got.Version, n, n+1)
	}
}

// newSession returns a session of the account created at now.
func newSession(hash, accountID string, now time.Time, ttl time.Duration) auth.Session {
	return auth.Session{Hash: hash, AccountID: accountID, ClientIP: "203.0.113.7", CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

func mustCreateSession(t *testing.T, s auth.Store, sess auth.Session) {
	t.Helper()
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
}

// wantSessions checks the account's sessions.
func wantSessions(t *testing.T, s auth.Store, accountID string, want ...auth.Session) {
	t.Helper()
	got, err := s.Sessions(context.Background(), accountID)
	if err != nil {
		t.Fatalf("Sessions(%s): %v", accountID, err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Sessions(%s) (-want +got):\n%s", accountID, diff)
	}
}

// wantNoSession checks that the hash finds no session.
func wantNoSession(t *testing.T, s auth.Store, hash string) {
	t.Helper()
	if got, err := s.Session(context.Background(), hash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(%s) = %+v, %v; want ErrNotFound", hash, got, err)
	}
}

func testSessionOK(t *testing.T, open Open, clk *clocktest.Clock) {
	s, other := open(clk.Now), open(clk.Now)
	first := newSession("h1", "A1", clk.Now(), 12*time.Hour)
	mustCreateSession(t, s, first)
	clk.Advance(time.Minute)
	second := newSession("h2", "A1", clk.Now(), 12*time.Hour)
	second.ClientIP = ""
	mustCreateSession(t, other, second)
	mustCreateSession(t, s, newSession("h3", "A2", clk.Now(), time.Hour))
	for _, st := range []auth.Store{s, other} {
		got, err := st.Session(context.Background(), "h1")
		if err != nil {
			t.Fatalf("Session(h1): %v", err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("Session (-want +got):\n%s", diff)
		}
		wantSessions(t, st, "A1", first, second)
	}
	wantNoSession(t, s, "h4")
	wantSessions(t, s, "A3")
}

func testSessionExpiry(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	short := newSession("h1", "A1", clk.Now(), time.Hour)
	long := newSession("h2", "A1", clk.Now(), 2*time.Hour)
	mustCreateSession(t, s, short)
	mustCreateSession(t, s, long)
	clk.Advance(time.Hour - time.Millisecond)
	if _, err := s.Session(context.Background(), "h1"); err != nil {
		t.Errorf("Session a millisecond before it expires: %v", err)
	}
	wantSessions(t, s, "A1", short, long)
	clk.Advance(time.Millisecond)
	wantNoSession(t, s, "h1")
	wantSessions(t, s, "A1", long)
	// A new session, created on the other instance, prunes nothing live.
	clk.Advance(30 * time.Minute)
	third := newSession("h3", "A1", clk.Now(), time.Hour)
	mustCreateSession(t, open(clk.Now), third)
	wantSessions(t, s, "A1", long, third)
	clk.Advance(time.Hour)
	wantNoSession(t, s, "h2")
	wantNoSession(t, s, "h3")
	wantSessions(t, s, "A1")
}

func testSessionDelete(t *testing.T, open Open, clk *clocktest.Clock) {
	s, other := open(clk.Now), open(clk.Now)
	a := newSession("h1", "A1", clk.Now(), time.Hour)
	b := newSession("h2", "A1", clk.Now(), time.Hour)
	mustCreateSession(t, s, a)
	mustCreateSession(t, s, b)
	if err := other.DeleteSession(context.Background(), "h1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	wantNoSession(t, s, "h1")
	wantSessions(t, s, "A1", b)
	for _, h := range []string{"h1", "missing"} {
		if err := s.DeleteSession(context.Background(), h); err != nil {
			t.Errorf("DeleteSession(%s) of no session: %v", h, err)
		}
	}
}

func testSessionDeleteAll(t *testing.T, open Open, clk *clocktest.Clock) {
	s, other := open(clk.Now), open(clk.Now)
	for i := range 3 {
		mustCreateSession(t, s, newSession(fmt.Sprintf("a%d", i), "A1", clk.Now(), time.Hour))
	}
	keep := newSession("b0", "A2", clk.Now(), time.Hour)
	mustCreateSession(t, s, keep)
	if err := other.DeleteSessions(context.Background(), "A1"); err != nil {
		t.Fatalf("DeleteSessions: %v", err)
	}
	for i := range 3 {
		wantNoSession(t, s, fmt.Sprintf("a%d", i))
	}
	wantSessions(t, s, "A1")
	wantSessions(t, s, "A2", keep)
	if err := s.DeleteSessions(context.Background(), "A9"); err != nil {
		t.Errorf("DeleteSessions of an account without sessions: %v", err)
	}
	// The account signs in again afterwards.
	again := newSession("a9", "A1", clk.Now(), time.Hour)
	mustCreateSession(t, other, again)
	wantSessions(t, s, "A1", again)
}

const window = 15 * time.Minute

func mustHit(t *testing.T, s auth.Store, key string) auth.Hits {
	t.Helper()
	h, err := s.Hit(context.Background(), key, window)
	if err != nil {
		t.Fatalf("Hit(%s): %v", key, err)
	}
	return h
}

// wantHit hits key and checks the counter.
func wantHit(t *testing.T, s auth.Store, key string, count int, resetAt time.Time) {
	t.Helper()
	h := mustHit(t, s, key)
	if h.Count != count || !h.ResetAt.Equal(resetAt) {
		t.Errorf("Hit(%s) = %d until %v, want %d until %v", key, h.Count, h.ResetAt, count, resetAt)
	}
}

func testHitWindow(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	end := clk.Now().Add(window)
	wantHit(t, s, "user:alice", 1, end)
	clk.Advance(time.Minute)
	wantHit(t, s, "user:alice", 2, end)
	clk.Advance(window - time.Minute - time.Millisecond)
	wantHit(t, s, "user:alice", 3, end)
	clk.Advance(time.Millisecond)
	wantHit(t, s, "user:alice", 1, clk.Now().Add(window))
}

func testHitUndo(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	ctx := context.Background()
	end := clk.Now().Add(window)
	mustHit(t, s, "ip:203.0.113.7")
	mustHit(t, s, "ip:203.0.113.7")
	if err := s.UndoHit(ctx, "ip:203.0.113.7"); err != nil {
		t.Fatalf("UndoHit: %v", err)
	}
	wantHit(t, s, "ip:203.0.113.7", 2, end)
	for range 3 {
		if err := s.UndoHit(ctx, "ip:203.0.113.7"); err != nil {
			t.Fatal(err)
		}
	}
	wantHit(t, s, "ip:203.0.113.7", 1, end) // not below zero
	if err := s.UndoHit(ctx, "never"); err != nil {
		t.Errorf("UndoHit of a key never hit: %v", err)
	}
	wantHit(t, s, "never", 1, end)
	// Undoing after the window ended changes nothing.
	clk.Advance(window)
	if err := s.UndoHit(ctx, "never"); err != nil {
		t.Fatal(err)
	}
	wantHit(t, s, "never", 1, clk.Now().Add(window))
}

func testHitReset(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	for range 3 {
		mustHit(t, s, "user:alice")
	}
	clk.Advance(time.Minute)
	if err := open(clk.Now).ResetHits(context.Background(), "user:alice"); err != nil {
		t.Fatalf("ResetHits: %v", err)
	}
	wantHit(t, s, "user:alice", 1, clk.Now().Add(window))
	if err := s.ResetHits(context.Background(), "never"); err != nil {
		t.Errorf("ResetHits of a key never hit: %v", err)
	}
}

func testHitKeys(t *testing.T, open Open, clk *clocktest.Clock) {
	s := open(clk.Now)
	end := clk.Now().Add(window)
	mustHit(t, s, "user:alice")
	mustHit(t, s, "user:alice")
	wantHit(t, s, "user:bob", 1, end)
	wantHit(t, s, "ip:203.0.113.7", 1, end)
	wantHit(t, s, "user:alice", 3, end)
}

// testHitTwoInstances hits one key from many goroutines on two instances:
// every attempt is counted once.
func testHitTwoInstances(t *testing.T, open Open, clk *clocktest.Clock) {
	stores := []auth.Store{open(clk.Now), open(clk.Now)}
	const n = 20
	counts := make(chan int, n)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h, err := stores[i%2].Hit(context.Background(), "user:alice", window)
			errc <- err
			counts <- h.Count
		})
	}
	wg.Wait()
	close(errc)
	close(counts)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	for c := range counts {
		if c < 1 || c > n || seen[c] {
			t.Errorf("Hit returned count %d twice or out of 1..%d", c, n)
		}
		seen[c] = true
	}
	wantHit(t, stores[1], "user:alice", n+1, clk.Now().Add(window))
}

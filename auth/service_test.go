package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

const password = "correct horse"

// fixture is a Service on an in-memory store, with a clock.
type fixture struct {
	svc *auth.Service
	clk *clocktest.Clock
	db  *sql.DB
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{clk: clocktest.NewNear(), db: db}
	f.svc = f.service(t)
	return f
}

// service returns another Service on the fixture's database: a second
// instance of kefu.
func (f *fixture) service(t *testing.T) *auth.Service {
	t.Helper()
	store, err := sqlitestore.New(f.db)
	if err != nil {
		t.Fatal(err)
	}
	store.Now = f.clk.Now
	svc, err := auth.NewService(auth.Options{Store: store, Now: f.clk.Now, BcryptCost: bcrypt.MinCost,
		ValidLane: func(l string) bool { return l == "emergency" || l == "normal" || l == "care" }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (f *fixture) mustCreate(t *testing.T, username string, role auth.Role) auth.Account {
	t.Helper()
	a, err := f.svc.CreateAccount(context.Background(), auth.NewAccount{Username: username, Password: password, Role: role,
		Lanes: []string{"normal"}})
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", username, err)
	}
	return a
}

func (f *fixture) mustLogin(t *testing.T, username, pw string) auth.SignedIn {
	t.Helper()
	in, err := f.svc.Login(context.Background(), username, pw, "203.0.113.7")
	if err != nil {
		t.Fatalf("Login(%s): %v", username, err)
	}
	return in
}

// wantSignedOut checks that the token no longer authenticates.
func (f *fixture) wantSignedOut(t *testing.T, token, after string) {
	t.Helper()
	if a, _, err := f.svc.Authenticate(context.Background(), token); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate %s = %s, %v; want ErrUnauthenticated", after, a.Username, err)
	}
}

func TestCreateAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.svc.CreateAccount(ctx, auth.NewAccount{Username: " Alice ", Password: password, Role: auth.RoleAgent,
		Lanes: []string{"emergency", "normal", "emergency"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "alice" || a.Name != "alice" || a.Capacity != auth.DefaultCapacity ||
		strings.Join(a.Lanes, ",") != "emergency,normal" || !strings.HasPrefix(a.ID, "A") {
		t.Errorf("created %+v; want username and name alice, capacity %d, lanes emergency,normal", a, auth.DefaultCapacity)
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(password)) != nil {
		t.Errorf("PasswordHash is not a bcrypt hash of the password")
	}

	long := strings.Repeat("x", 73)
	for _, tc := range []struct {
		name string
		n    auth.NewAccount
		want error
	}{
		{"UsernameTaken", auth.NewAccount{Username: "ALICE", Password: password, Role: auth.RoleAgent}, auth.ErrConflict},
		{"UsernameShort", auth.NewAccount{Username: "a", Password: password, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"UsernameChars", auth.NewAccount{Username: "al ice", Password: password, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"UsernameChinese", auth.NewAccount{Username: "小王", Password: password, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"UsernameDot", auth.NewAccount{Username: ".bob", Password: password, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"UsernameLong", auth.NewAccount{Username: strings.Repeat("b", 33), Password: password, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"Role", auth.NewAccount{Username: "bob", Password: password, Role: "root"}, auth.ErrInvalid},
		{"PasswordShort", auth.NewAccount{Username: "bob", Password: "1234567", Role: auth.RoleAgent}, auth.ErrInvalid},
		{"PasswordLong", auth.NewAccount{Username: "bob", Password: long, Role: auth.RoleAgent}, auth.ErrInvalid},
		{"Lane", auth.NewAccount{Username: "bob", Password: password, Role: auth.RoleAgent, Lanes: []string{"vip"}}, auth.ErrInvalid},
		{"Capacity", auth.NewAccount{Username: "bob", Password: password, Role: auth.RoleAgent, Capacity: -1}, auth.ErrInvalid},
		{"CapacityHigh", auth.NewAccount{Username: "bob", Password: password, Role: auth.RoleAgent, Capacity: 1001}, auth.ErrInvalid},
		{"NameControl", auth.NewAccount{Username: "bob", Password: password, Role: auth.RoleAgent, Name: "Bob\x07"}, auth.ErrInvalid},
		{"NameLong", auth.NewAccount{Username: "bob", Password: password, Role: auth.RoleAgent, Name: strings.Repeat("名", 65)}, auth.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.CreateAccount(ctx, tc.n); !errors.Is(err, tc.want) {
				t.Errorf("CreateAccount: err = %v, want %v", err, tc.want)
			}
		})
	}
	// Eight Chinese characters are a long enough password.
	if _, err := f.svc.CreateAccount(ctx, auth.NewAccount{Username: "bob", Password: "我的密码很安全", Role: auth.RoleAgent}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("a 7-character Chinese password: err = %v, want ErrInvalid", err)
	}
	if _, err := f.svc.CreateAccount(ctx, auth.NewAccount{Username: "bob", Password: "我的密码非常安全", Role: auth.RoleAgent}); err != nil {
		t.Errorf("an 8-character Chinese password: %v", err)
	}
	list, err := f.svc.Accounts(ctx)
	if err != nil || len(list) != 2 {
		t.Errorf("Accounts = %d, %v; want alice and bob", len(list), err)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.mustCreate(t, "alice", auth.RoleAgent)

	t.Run("OK", func(t *testing.T) {
		in := f.mustLogin(t, "ALICE", password)
		if len(in.Token) != auth.TokenLen || in.Account.ID != alice.ID {
			t.Errorf("Login = token %q account %s; want a %d-character token for %s", in.Token, in.Account.ID, auth.TokenLen, alice.ID)
		}
		if want := f.clk.Now().Add(f.svc.SessionTTL()); !in.Session.ExpiresAt.Equal(want) {
			t.Errorf("session expires at %v, want %v", in.Session.ExpiresAt, want)
		}
		got, sess, err := f.svc.Authenticate(ctx, in.Token)
		if err != nil || got.ID != alice.ID || sess.Hash != in.Session.Hash {
			t.Fatalf("Authenticate = %s, %s, %v; want %s", got.ID, sess.Hash, err, alice.ID)
		}
		if err := f.svc.Logout(ctx, in.Token); err != nil {
			t.Fatal(err)
		}
		f.wantSignedOut(t, in.Token, "after Logout")
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		for _, c := range [][2]string{{"alice", "wrong password"}, {"nobody", password}, {"", password}, {"a b", password}} {
			if _, err := f.svc.Login(ctx, c[0], c[1], "198.51.100.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("Login(%q, %q): err = %v, want ErrInvalidCredentials", c[0], c[1], err)
			}
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		in := f.mustLogin(t, "alice", password)
		f.clk.Advance(f.svc.SessionTTL() - time.Millisecond)
		if _, _, err := f.svc.Authenticate(ctx, in.Token); err != nil {
			t.Errorf("Authenticate just before the session expires: %v", err)
		}
		f.clk.Advance(time.Millisecond)
		f.wantSignedOut(t, in.Token, "when the session expires")
	})
	t.Run("BadToken", func(t *testing.T) {
		in := f.mustLogin(t, "alice", password)
		for _, tok := range []string{"", "x", in.Token[1:], in.Token + "A", strings.ToUpper(in.Token), in.Session.Hash} {
			if tok == in.Token {
				continue
			}
			f.wantSignedOut(t, tok, fmt.Sprintf("of %q", tok))
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		bob := f.mustCreate(t, "bob", auth.RoleAgent)
		in := f.mustLogin(t, "bob", password)
		disabled := true
		if _, err := f.svc.UpdateAccount(ctx, bob.ID, auth.Patch{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		f.wantSignedOut(t, in.Token, "of a disabled account")
		if _, err := f.svc.Login(ctx, "bob", password, ""); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("Login of a disabled account: err = %v, want ErrDisabled", err)
		}
		if _, err := f.svc.Login(ctx, "bob", "wrong password", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login of a disabled account with a wrong password: err = %v, want ErrInvalidCredentials", err)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	fail := func(t *testing.T, svc *auth.Service, username, ip string) {
		t.Helper()
		if _, err := svc.Login(ctx, username, "wrong password", ip); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("Login(%s, wrong) from %s: err = %v, want ErrInvalidCredentials", username, ip, err)
		}
	}
	refused := func(t *testing.T, svc *auth.Service, username, pw, ip string, retryAt time.Time, after time.Duration) {
		t.Helper()
		_, err := svc.Login(ctx, username, pw, ip)
		var rl *auth.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("Login(%s) from %s: err = %v, want a RateLimitError", username, ip, err)
		}
		if !rl.RetryAt.Equal(retryAt) || rl.RetryAfter != after {
			t.Errorf("RateLimitError = retry at %v after %v, want %v after %v", rl.RetryAt, rl.RetryAfter, retryAt, after)
		}
		if !strings.Contains(err.Error(), "try again in "+after.String()) {
			t.Errorf("error %q does not say when to try again", err)
		}
	}

	t.Run("Username", func(t *testing.T) {
		f := newFixture(t)
		f.mustCreate(t, "alice", auth.RoleAgent)
		start := f.clk.Now()
		// Five failures from five addresses, then even the right password
		// is refused until the window ends.
		for i := range 5 {
			fail(t, f.svc, "alice", fmt.Sprintf("198.51.100.%d", i))
			f.clk.Advance(time.Minute)
		}
		refused(t, f.svc, "alice", password, "198.51.100.9", start.Add(15*time.Minute), 10*time.Minute)
		refused(t, f.svc, "Alice", "wrong password", "198.51.100.9", start.Add(15*time.Minute), 10*time.Minute)
		// Another user is not affected.
		f.mustCreate(t, "bob", auth.RoleAgent)
		f.mustLogin(t, "bob", password)
		f.clk.Advance(10 * time.Minute)
		f.mustLogin(t, "alice", password)
	})
	t.Run("SuccessClears", func(t *testing.T) {
		f := newFixture(t)
		f.mustCreate(t, "alice", auth.RoleAgent)
		for range 4 {
			fail(t, f.svc, "alice", "198.51.100.1")
		}
		f.mustLogin(t, "alice", password)
		for range 5 {
			fail(t, f.svc, "alice", "198.51.100.1")
		}
		refused(t, f.svc, "alice", password, "198.51.100.1", f.clk.Now().Add(15*time.Minute), 15*time.Minute)
	})
	t.Run("IP", func(t *testing.T) {
		f := newFixture(t)
		f.mustCreate(t, "alice", auth.RoleAgent)
		// An address guessing many usernames: 20 failures, then refused,
		// for a known user too; another address is not.
		for i := range 20 {
			fail(t, f.svc, fmt.Sprintf("user%d", i), "203.0.113.66")
		}
		refused(t, f.svc, "alice", password, "203.0.113.66", f.clk.Now().Add(15*time.Minute), 15*time.Minute)
		if _, err := f.svc.Login(ctx, "alice", password, "203.0.113.67"); err != nil {
			t.Errorf("Login from another address: %v", err)
		}
	})
	t.Run("IPSuccessesDoNotCount", func(t *testing.T) {
		f := newFixture(t)
		f.mustCreate(t, "alice", auth.RoleAgent)
		// An office behind one address signs in more times than the
		// address may fail.
		for range 21 {
			f.mustLogin(t, "alice", password)
		}
	})
	t.Run("TwoInstances", func(t *testing.T) {
		f := newFixture(t)
		f.mustCreate(t, "alice", auth.RoleAgent)
		other := f.service(t)
		for i := range 5 {
			fail(t, []*auth.Service{f.svc, other}[i%2], "alice", "198.51.100.1")
		}
		refused(t, f.svc, "alice", password, "198.51.100.1", f.clk.Now().Add(15*time.Minute), 15*time.Minute)
		refused(t, other, "alice", password, "198.51.100.1", f.clk.Now().Add(15*time.Minute), 15*time.Minute)
	})
	t.Run("ChangePassword", func(t *testing.T) {
		f := newFixture(t)
		alice := f.mustCreate(t, "alice", auth.RoleAgent)
		for range 5 {
			if err := f.svc.ChangePassword(ctx, alice.ID, "wrong password", "new password", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("ChangePassword with a wrong current password: err = %v", err)
			}
		}
		if err := f.svc.ChangePassword(ctx, alice.ID, password, "new password", ""); !errors.Is(err, auth.ErrRateLimited) {
			t.Errorf("ChangePassword after five wrong current passwords: err = %v, want ErrRateLimited", err)
		}
	})
}

func TestUpdateAccount(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		a := f.mustCreate(t, "alice", auth.RoleAgent)
		name, role, lanes, capacity := "Alice 李", auth.RoleEditor, []string{"care"}, 0
		f.clk.Advance(time.Minute)
		got, err := f.svc.UpdateAccount(ctx, a.ID, auth.Patch{Name: &name, Role: &role, Lanes: &lanes, Capacity: &capacity})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != name || got.Role != role || strings.Join(got.Lanes, ",") != "care" || got.Capacity != 0 ||
			!got.UpdatedAt.Equal(f.clk.Now()) || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Errorf("after the update: %+v", got)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		f := newFixture(t)
		a := f.mustCreate(t, "alice", auth.RoleAgent)
		role, lanes, capacity, short := auth.Role("boss"), []string{"nowhere"}, -2, "short"
		for _, p := range []auth.Patch{{Role: &role}, {Lanes: &lanes}, {Capacity: &capacity}, {Password: &short}} {
			if _, err := f.svc.UpdateAccount(ctx, a.ID, p); !errors.Is(err, auth.ErrInvalid) {
				t.Errorf("UpdateAccount(%+v): err = %v, want ErrInvalid", p, err)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.UpdateAccount(ctx, "A000000000000", auth.Patch{}); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UpdateAccount of a missing account: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("Password", func(t *testing.T) {
		f := newFixture(t)
		a := f.mustCreate(t, "alice", auth.RoleAgent)
		in := f.mustLogin(t, "alice", password)
		pw := "a new password"
		if _, err := f.svc.UpdateAccount(ctx, a.ID, auth.Patch{Password: &pw}); err != nil {
			t.Fatal(err)
		}
		f.wantSignedOut(t, in.Token, "of a session from before the password was set")
		if _, err := f.svc.Login(ctx, "alice", password, ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login with the old password: err = %v", err)
		}
		f.mustLogin(t, "alice", pw)
	})
	t.Run("LastAdmin", func(t *testing.T) {
		f := newFixture(t)
		root := f.mustCreate(t, "root", auth.RoleAdmin)
		agent, yes := auth.RoleAgent, true
		for _, p := range []auth.Patch{{Role: &agent}, {Disabled: &yes}} {
			if _, err := f.svc.UpdateAccount(ctx, root.ID, p); !errors.Is(err, auth.ErrConflict) {
				t.Errorf("UpdateAccount(%+v) of the only admin: err = %v, want ErrConflict", p, err)
			}
		}
		f.mustCreate(t, "root2", auth.RoleAdmin)
		if _, err := f.svc.UpdateAccount(ctx, root.ID, auth.Patch{Disabled: &yes}); err != nil {
			t.Errorf("disabling one of two admins: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.mustCreate(t, "alice", auth.RoleAgent)
	mine, other := f.mustLogin(t, "alice", password), f.mustLogin(t, "alice", password)
	if err := f.svc.ChangePassword(ctx, a.ID, "wrong password", "new password", mine.Session.Hash); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("ChangePassword with a wrong current password: err = %v", err)
	}
	if err := f.svc.ChangePassword(ctx, a.ID, password, "short", mine.Session.Hash); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("ChangePassword to a short one: err = %v", err)
	}
	if err := f.svc.ChangePassword(ctx, a.ID, password, "new password", mine.Session.Hash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, mine.Token); err != nil {
		t.Errorf("the session that changed the password: %v", err)
	}
	f.wantSignedOut(t, other.Token, "of another session after the change")
	f.mustLogin(t, "alice", "new password")
	sessions, err := f.svc.Sessions(ctx, a.ID)
	if err != nil || len(sessions) != 2 {
		t.Errorf("Sessions = %d, %v; want 2", len(sessions), err)
	}
	if err := f.svc.RevokeSessions(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	f.wantSignedOut(t, mine.Token, "after RevokeSessions")
}

func TestEnsureAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.EnsureAdmin(ctx, "short"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("EnsureAdmin with a short password: err = %v, want ErrInvalid", err)
	}
	created, err := f.svc.EnsureAdmin(ctx, "first password")
	if err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v; want created", created, err)
	}
	created, err = f.svc.EnsureAdmin(ctx, "second password")
	if err != nil || created {
		t.Fatalf("EnsureAdmin again = %v, %v; want not created", created, err)
	}
	in := f.mustLogin(t, auth.AdminUsername, "first password")
	if in.Account.Role != auth.RoleAdmin {
		t.Errorf("admin has role %s", in.Account.Role)
	}
	if _, err := f.svc.Login(ctx, auth.AdminUsername, "second password", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("EnsureAdmin changed the password of the existing admin: err = %v", err)
	}
}

func TestNewService(t *testing.T) {
	if _, err := auth.NewService(auth.Options{}); err == nil {
		t.Error("NewService without a store: err = nil")
	}
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewService(auth.Options{Store: store, BcryptCost: 3}); err == nil {
		t.Error("NewService with bcrypt cost 3: err = nil")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/kefuhq/kefu/auth"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// agentKefu runs kefu agent with args on the embedded store in dataDir,
// on the part of the app it uses, hashing at bcrypt's least cost.
func agentKefu(t *testing.T, dataDir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	open := func() (*app, error) {
		db, err := sqlitedb.Open(filepath.Join(dataDir, "kefu.db"))
		if err != nil {
			return nil, err
		}
		a := &app{closers: []io.Closer{db}}
		if a.accounts, err = authsqlite.New(db); err != nil {
			return nil, err
		}
		lanes, err := handoff.NewLanes(handoff.DefaultLanes())
		if err != nil {
			return nil, err
		}
		return a, fastAuth(a, lanes)
	}
	err := agentCommand(context.Background(), open, args, strings.NewReader(stdin), &out, io.Discard)
	return out.String(), err
}

func mustAgentKefu(t *testing.T, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, err := agentKefu(t, dataDir, stdin, args...)
	if err != nil {
		t.Fatalf("kefu agent %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestAgentCommand(t *testing.T) {
	dir := t.TempDir()
	out := mustAgentKefu(t, dir, "first password\n", "add", "-username", "Wang", "-name", "小王", "-lanes", "emergency,normal", "-capacity", "3")
	if !strings.Contains(out, "created agent wang") {
		t.Errorf("agent add printed %q", out)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("editor password\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustAgentKefu(t, dir, "", "add", "-username", "li", "-role", "editor", "-password-file", pwFile)

	out = mustAgentKefu(t, dir, "", "list")
	for _, want := range []string{"wang", "小王", "emergency,normal", "li", "editor", "2 account(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("agent list has no %q:\n%s", want, out)
		}
	}
	var list []auth.Account
	if err := json.Unmarshal([]byte(mustAgentKefu(t, dir, "", "list", "-json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("agent list -json: %d accounts, %v", len(list), err)
	}
	if list[0].Username != "li" || list[1].Capacity != 3 {
		t.Errorf("agent list -json: %+v", list)
	}

	mustAgentKefu(t, dir, "second password\n", "passwd", "wang")
	mustAgentKefu(t, dir, "", "passwd", "-password-file", pwFile, "li")

	for _, tc := range []struct {
		name, stdin string
		args        []string
		usage       bool
	}{
		{"NoCommand", "", nil, true},
		{"Unknown", "", []string{"remove", "wang"}, true},
		{"NoUsername", "password1\n", []string{"add"}, true},
		{"BadFlag", "", []string{"add", "-admin"}, true},
		{"Taken", "password1\n", []string{"add", "-username", "WANG"}, false},
		{"NoPassword", "", []string{"add", "-username", "zhao"}, false},
		// The lanes are those of the configuration.
		{"UnknownLane", "password1\n", []string{"add", "-username", "zhao", "-lanes", "vip"}, false},
		{"PasswdNobody", "password1\n", []string{"passwd", "nobody"}, false},
		{"PasswdNoUser", "password1\n", []string{"passwd"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := agentKefu(t, dir, tc.stdin, tc.args...)
			if err == nil || errors.Is(err, errUsage) != tc.usage {
				t.Errorf("kefu agent %s: err = %v, want an error (usage: %v)", strings.Join(tc.args, " "), err, tc.usage)
			}
		})
	}

	// The server signs them in with the passwords set last.
	h := apiServer(t, dir, "")
	for _, c := range [][3]string{{"wang", "second password", "200"}, {"wang", "first password", "401"}} {
		if got, _ := login(t, h, c[0], c[1]); got != c[2] {
			t.Errorf("login %s with %q: %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

// TestAgentDispatch runs kefu agent through the real command line.
func TestAgentDispatch(t *testing.T) {
	var out bytes.Buffer
	env := []string{"KEFU_DATA_DIR=" + t.TempDir()}
	if err := run(context.Background(), []string{"agent"}, strings.NewReader(""), &out, io.Discard, env); !errors.Is(err, errUsage) {
		t.Errorf("kefu agent: err = %v, want a usage error", err)
	}
	if err := run(context.Background(), []string{"agent", "list"}, strings.NewReader(""), &out, io.Discard, env); err != nil {
		t.Fatalf("kefu agent list: %v", err)
	}
	if !strings.Contains(out.String(), "0 account(s)") {
		t.Errorf("kefu agent list on a new store printed %q", out.String())
	}
}

// TestServeAdmin checks the wiring of kefu serve: the admin made from
// KEFU_ADMIN_PASSWORD signs in on /api/v1 and manages agents, and a
// later start with another password leaves the admin's password alone.
func TestServeAdmin(t *testing.T) {
	dir := t.TempDir()
	if _, err := newTestApp(t, dir, "admin password"); err != nil {
		t.Fatal(err)
	}
	h := apiServer(t, dir, "another password")
	got, token := login(t, h, "admin", "admin password")
	if got != "200" {
		t.Fatalf("login admin after a restart with another KEFU_ADMIN_PASSWORD: %s", got)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/agents", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"username":"admin"`) {
		t.Errorf("GET /api/v1/agents: %d %s", w.Code, w.Body)
	}
	if _, err := newTestApp(t, dir, "short"); err == nil {
		t.Errorf("KEFU_ADMIN_PASSWORD of 5 characters accepted")
	}
}

// newTestApp is kefu on the embedded store in dir, its admin ensured as
// kefu serve does, hashing passwords at bcrypt's least cost; env adds
// settings.
func newTestApp(t *testing.T, dir, adminPassword string, env ...string) (*app, error) {
	t.Helper()
	env = append([]string{"KEFU_DATA_DIR=" + dir}, env...)
	if adminPassword != "" {
		env = append(env, "KEFU_ADMIN_PASSWORD="+adminPassword)
	}
	cfg, err := config.Load("", false, env)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := fastAuth(a, a.handoff.Lanes()); err != nil {
		t.Fatal(err)
	}
	return a, a.ensureAdmin(context.Background())
}

// fastAuth replaces the app's auth service by one that hashes passwords
// at bcrypt's least cost.
func fastAuth(a *app, lanes handoff.Lanes) (err error) {
	a.auth, err = auth.NewService(auth.Options{Store: a.accounts, BcryptCost: bcrypt.MinCost, ValidLane: validLane(lanes)})
	return err
}

// apiServer returns the routes of kefu serve on the store in dir.
func apiServer(t *testing.T, dir, adminPassword string) http.Handler {
	t.Helper()
	a, err := newTestApp(t, dir, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.routes()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// login posts to /api/v1/login and returns the status and the token.
func login(t *testing.T, h http.Handler, username, password string) (status, token string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	r := httptest.NewRequest(http.MethodPost, "/api/v1/login", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var in struct{ Token string }
	_ = json.Unmarshal(w.Body.Bytes(), &in)
	return strconv.Itoa(w.Code), in.Token
}

package casesapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/auth/ginauth/ginauthtest"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/cases/casesapi"
	casessqlite "github.com/kefuhq/kefu/cases/sqlitestore"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

const password = "agent password"

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// server is the case routes on /api/v1, mounted as kefu serve mounts
// them: behind ginauth's Authenticate and Require(auth.PermServe).
type server struct {
	t      *testing.T
	h      http.Handler
	svc    *cases.Service
	clock  *clocktest.Clock
	agent  string // token of the agent "wang"
	editor string // token of the editor "li", who may not serve
}

func newServer(t *testing.T) *server {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := casessqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := authsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, clock: clocktest.New(time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC))}
	s.svc = cases.NewService(store, s.clock.Now)
	authSvc := ginauthtest.Service(t, accounts)
	signed := ginauthtest.SignIn(t, authSvc,
		auth.NewAccount{Username: "wang", Password: password, Role: auth.RoleAgent, Lanes: []string{"normal"}},
		auth.NewAccount{Username: "li", Password: password, Role: auth.RoleEditor})
	s.agent, s.editor = signed["wang"].Token, signed["li"].Token
	signIn, err := ginauth.New(ginauth.Options{Service: authSvc})
	if err != nil {
		t.Fatal(err)
	}
	h, err := casesapi.New(casesapi.Options{Service: s.svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	h.Register(r.Group("/api/v1", signIn.Authenticate(), ginauth.Require(auth.PermServe)))
	s.h = r
	return s
}

// open opens a case of the fraud_report flow for openID, a minute after
// the last.
func (s *server) open(openID, flow string) cases.Case {
	s.t.Helper()
	s.clock.Advance(time.Minute)
	c, err := s.svc.Open(context.Background(), cases.NewCase{OpenID: openID, Flow: flow, Title: "诈骗举报",
		Fields: []cases.Field{{Name: "what", Label: "发生了什么", Value: "<img src=x onerror=alert(1)>"}}})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// do sends method path with body (JSON when not nil) as token and returns
// the status and the body.
func (s *server) do(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var r *http.Request
	if body != nil {
		b, _ := json.Marshal(body)
		r = httptest.NewRequest(method, path, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// decode unmarshals body into v, failing the test when it cannot.
func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: %d %s, want %d", what, status, body, wantStatus)
		return
	}
	if got := decode[apierr.Body](t, body); got.Error.Code != wantCode || got.Error.Message == "" {
		t.Errorf("%s: error %+v, want code %s with a message", what, got.Error, wantCode)
	}
}

func TestList(t *testing.T) {
	s := newServer(t)
	a := s.open("o-a", "fraud_report")
	b := s.open("o-b", "bill_export")
	c := s.open("o-a", "bill_export")
	if _, err := s.svc.SetStatus(context.Background(), b.ID, cases.StatusProcessing, "", "wang"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, query string
		want        []string
	}{
		{"All", "", []string{c.ID, b.ID, a.ID}},
		{"Status", "?status=processing", []string{b.ID}},
		{"Flow", "?flow=bill_export", []string{c.ID, b.ID}},
		{"User", "?open_id=o-a", []string{c.ID, a.ID}},
		{"UserFlow", "?open_id=o-a&flow=fraud_report", []string{a.ID}},
		{"Limit", "?limit=2", []string{c.ID, b.ID}},
		{"None", "?status=rejected", []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.do(http.MethodGet, "/api/v1/cases"+tt.query, s.agent, nil)
			if status != http.StatusOK {
				t.Fatalf("GET: %d %s", status, body)
			}
			list := decode[[]cases.Case](t, body)
			got := []string{}
			for _, c := range list {
				got = append(got, c.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("GET /cases%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
	t.Run("ErrBadStatus", func(t *testing.T) {
		status, body := s.do(http.MethodGet, "/api/v1/cases?status=done", s.agent, nil)
		wantError(t, "GET ?status=done", status, body, http.StatusBadRequest, apierr.CodeInvalid)
	})
	t.Run("ErrBadLimit", func(t *testing.T) {
		for _, q := range []string{"0", "-1", "x", "1001"} {
			status, body := s.do(http.MethodGet, "/api/v1/cases?limit="+q, s.agent, nil)
			wantError(t, "GET ?limit="+q, status, body, http.StatusBadRequest, apierr.CodeInvalid)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		_, body := s.do(http.MethodGet, "/api/v1/cases?open_id=o-b", s.agent, nil)
		for _, key := range []string{`"id":"` + b.ID, `"open_id":"o-b"`, `"flow":"bill_export"`, `"status":"processing"`,
			`"fields":[{"name":"what","label":"发生了什么","value":`, `"history":[{"status":"submitted","by":"kefu","at":`,
			`"created_at":`, `"updated_at":`, `"version":2`} {
			if !strings.Contains(string(body), key) {
				t.Errorf("the JSON has no %s:\n%s", key, body)
			}
		}
	})
}

func TestGet(t *testing.T) {
	s := newServer(t)
	c := s.open("o-a", "fraud_report")
	status, body := s.do(http.MethodGet, "/api/v1/cases/"+strings.ToLower(c.ID), s.agent, nil)
	if status != http.StatusOK {
		t.Fatalf("GET: %d %s", status, body)
	}
	if got := decode[cases.Case](t, body); got.ID != c.ID || len(got.Fields) != 1 || got.Fields[0].Value != c.Fields[0].Value {
		t.Errorf("GET = %+v", got)
	}
	status, body = s.do(http.MethodGet, "/api/v1/cases/KF20261125-2222", s.agent, nil)
	wantError(t, "GET an unknown case", status, body, http.StatusNotFound, apierr.CodeNotFound)
}

func TestSetStatus(t *testing.T) {
	s := newServer(t)
	c := s.open("o-a", "fraud_report")
	path := "/api/v1/cases/" + c.ID + "/status"

	t.Run("OK", func(t *testing.T) {
		status, body := s.do(http.MethodPost, path, s.agent, map[string]string{"status": "processing", "note": " 已转交风控团队 "})
		if status != http.StatusOK {
			t.Fatalf("POST: %d %s", status, body)
		}
		got := decode[cases.Case](t, body)
		last := got.Last()
		if got.Status != cases.StatusProcessing || len(got.History) != 2 || last.By != "wang" || last.Note != "已转交风控团队" {
			t.Errorf("after POST: status %q, history %+v", got.Status, got.History)
		}
		// The same status with a note adds the note.
		status, body = s.do(http.MethodPost, path, s.agent, map[string]string{"status": "processing", "note": "已电话联系用户"})
		if got := decode[cases.Case](t, body); status != http.StatusOK || len(got.History) != 3 || got.Last().Note != "已电话联系用户" {
			t.Errorf("a note: %d %s", status, body)
		}
	})
	t.Run("ErrBadStatus", func(t *testing.T) {
		for _, st := range []string{"", "done", "Resolved"} {
			status, body := s.do(http.MethodPost, path, s.agent, map[string]string{"status": st})
			wantError(t, "status "+st, status, body, http.StatusBadRequest, apierr.CodeInvalid)
		}
	})
	t.Run("ErrNoteTooLong", func(t *testing.T) {
		status, body := s.do(http.MethodPost, path, s.agent, map[string]string{"status": "resolved",
			"note": strings.Repeat("字", casesapi.MaxNoteRunes+1)})
		wantError(t, "a long note", status, body, http.StatusBadRequest, apierr.CodeInvalid)
	})
	t.Run("ErrBadBody", func(t *testing.T) {
		status, body := s.do(http.MethodPost, path, s.agent, map[string]string{"status": "resolved", "by": "someone else"})
		wantError(t, "an unknown field", status, body, http.StatusBadRequest, apierr.CodeBadRequest)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		status, body := s.do(http.MethodPost, "/api/v1/cases/KF20261125-2222/status", s.agent, map[string]string{"status": "resolved"})
		wantError(t, "an unknown case", status, body, http.StatusNotFound, apierr.CodeNotFound)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		status, body := s.do(http.MethodPost, path, s.editor, map[string]string{"status": "resolved"})
		wantError(t, "an editor", status, body, http.StatusForbidden, apierr.CodeForbidden)
		status, body = s.do(http.MethodGet, "/api/v1/cases", s.editor, nil)
		wantError(t, "an editor's list", status, body, http.StatusForbidden, apierr.CodeForbidden)
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		status, body := s.do(http.MethodPost, path, "", map[string]string{"status": "resolved"})
		wantError(t, "no token", status, body, http.StatusUnauthorized, apierr.CodeUnauthenticated)
	})
	got, err := s.svc.Get(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != cases.StatusProcessing || len(got.History) != 3 {
		t.Errorf("refused requests changed the case: status %q, %d changes", got.Status, len(got.History))
	}
}

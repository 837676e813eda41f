package kbapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/auth/ginauth/ginauthtest"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbapi"
	"github.com/kefuhq/kefu/kb/kbtest"
	kbsqlite "github.com/kefuhq/kefu/kb/sqlitestore"
)

const password = "editor password"

// server is the knowledge-base routes on /api/v1, mounted as kefu serve
// mounts them: behind ginauth's Authenticate and Require(auth.PermEditKB).
// Its knowledge base starts as part of the default one, published; the live
// router follows every publish through Editor.Watch, as in kefu serve.
type server struct {
	t      *testing.T
	h      http.Handler
	ed     *kb.Editor
	clock  *clocktest.Clock // the editor's
	token  string           // the editor "li"
	agent  string           // a token of an agent, who may not edit
	router *intents.Router
	revs   chan int64 // the latest revision the live router took
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

func newServer(t *testing.T) *server {
	t.Helper()
	return newServerOver(t, nil)
}

// newServerOver is newServer with the store seen through wrap, when not
// nil: a store that races the handlers, say.
func newServerOver(t *testing.T, wrap func(kb.Store) kb.Store) *server {
	t.Helper()
	db, ed, clock := mustEditor(t, wrap)
	s := &server{t: t, ed: ed, clock: clock, revs: make(chan int64, 1)}
	s.startRouter()

	accounts, err := authsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	svc := ginauthtest.Service(t, accounts)
	signed := ginauthtest.SignIn(t, svc, auth.NewAccount{Username: "li", Password: password, Role: auth.RoleEditor},
		auth.NewAccount{Username: "wang", Password: password, Role: auth.RoleAgent, Lanes: []string{"normal"}})
	s.token, s.agent = signed["li"].Token, signed["wang"].Token

	signIn, err := ginauth.New(ginauth.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	h, err := kbapi.New(kbapi.Options{Editor: ed, Router: func() *intents.Router { return s.router },
		Logger: slog.New(slog.DiscardHandler), Choices: func() kbapi.Choices {
			return kbapi.Choices{Lanes: []kbapi.Choice{{Name: "normal", Title: "普通队列"}, {Name: "emergency", Title: "紧急"}},
				Flows: []kbapi.Choice{{Name: "bill_export", Title: "账单导出"}}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	h.Register(r.Group("/api/v1", signIn.Authenticate(), ginauth.Require(auth.PermEditKB)))
	s.h = r
	return s
}

// seedIDs are the articles of the default knowledge base the tests start
// with: building the matcher of all of it would take most of a run under
// the race detector.
var seedIDs = []string{"account-unfreeze", "bill-export", "boundary-chat-records", "boundary-ios", "channels-official-account",
	"emergency-freeze", "fraud-report", "human-agent", "minor-refund", "overseas-contact", "response-time", "self-service-tools"}

// mustEditor returns an editor over a new in-memory database, which it
// also returns, seeded with seedIDs, published, and the editor's clock.
// The editor sees the store through wrap, when not nil.
func mustEditor(t *testing.T, wrap func(kb.Store) kb.Store) (*sql.DB, *kb.Editor, *clocktest.Clock) {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := kbsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	var seen kb.Store = store
	if wrap != nil {
		seen = wrap(store)
	}
	ed, clock := kbtest.NewEditor(t, seen)
	def, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	def = slices.DeleteFunc(def, func(a kb.Article) bool { return !slices.Contains(seedIDs, a.ID) })
	if len(def) != len(seedIDs) {
		t.Fatalf("%d of the seed articles are in the default knowledge base, want %d", len(def), len(seedIDs))
	}
	if _, err := ed.Seed(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return db, ed, clock
}

// startRouter builds the live router from the published articles and
// keeps it current with Editor.Watch until the test ends.
func (s *server) startRouter() {
	t := s.t
	articles, rev, err := s.ed.PublishedArticles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.router, err = intents.NewRouter(intents.Options{Rules: intents.DefaultRules()}, kb.NewIndex(articles)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ed.Watch(ctx, rev, time.Hour, func(articles []kb.Article, rev int64) {
			s.router.SetIndex(kb.NewIndex(articles))
			kb.SendLatest(s.revs, rev) // never blocks Watch
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitRouter waits until the live router serves revision rev.
func (s *server) waitRouter(rev int64) {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-s.revs:
			if got >= rev {
				return
			}
		case <-timeout:
			s.t.Fatalf("the live router never took revision %d", rev)
		}
	}
}

// request is one request to the server; the editor's token is used
// unless bearer says otherwise ("-" sends none).
type request struct {
	method, path string
	// body is sent as it is when a string or []byte, else as JSON.
	body        any
	contentType string // default application/json when there is a body
	bearer      string
}

func (s *server) do(r request) *httptest.ResponseRecorder {
	s.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	if body != nil && ct == "" {
		ct = "application/json"
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	switch r.bearer {
	case "":
		hr.Header.Set("Authorization", "Bearer "+s.token)
	case "-":
	default:
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, hr)
	return w
}

// call sends a request and wants status; the JSON answer goes into out
// unless out is nil.
func (s *server) call(method, path string, body any, status int, out any) {
	s.t.Helper()
	s.want(s.do(request{method: method, path: path, body: body}), status, out)
}

func (s *server) want(w *httptest.ResponseRecorder, status int, out any) {
	s.t.Helper()
	if w.Code != status {
		s.t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			s.t.Fatalf("answer %s: %v", w.Body, err)
		}
	}
}

// wantError checks that the request is answered with status and the
// error code, in apierr's shape.
func (s *server) wantError(r request, status int, code string) *httptest.ResponseRecorder {
	s.t.Helper()
	w := s.do(r)
	var body apierr.Body
	if w.Code != status || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error.Code != code || body.Error.Message == "" {
		s.t.Fatalf("%s %s: status %d, body %s; want %d %s", r.method, r.path, w.Code, w.Body, status, code)
	}
	return w
}

// The JSON of the answers, as a client reads them.
type (
	summary struct {
		ID               string    `json:"id"`
		Title            string    `json:"title"`
		Question         string    `json:"question"`
		Status           kb.Status `json:"status"`
		Version          int       `json:"version"`
		PublishedVersion int       `json:"published_version"`
		Pending          bool      `json:"pending"`
		UpdatedBy        string    `json:"updated_by"`
	}
	saved struct {
		Version      kb.Version `json:"version"`
		Head         summary    `json:"head"`
		NeedsPublish bool       `json:"needs_publish"`
		Message      string     `json:"message"`
	}
	revision struct {
		Revision int64 `json:"revision"`
	}
	testResult struct {
		Threshold float64 `json:"threshold"`
		Decision  struct {
			Kind      intents.Kind `json:"kind"`
			ArticleID string       `json:"article_id"`
			Answer    string       `json:"answer"`
			Lane      string       `json:"lane"`
			Unconfig  bool         `json:"lane_unconfigured"`
			LaneTitle string       `json:"lane_title"`
			Flow      string       `json:"flow"`
			Score     float64      `json:"score"`
		} `json:"decision"`
		Matches []struct {
			ArticleID string  `json:"article_id"`
			Title     string  `json:"title"`
			Question  string  `json:"question"`
			Score     float64 `json:"score"`
		} `json:"matches"`
	}
)

func (s *server) publish(ids ...string) int64 {
	s.t.Helper()
	var rev revision
	s.call("POST", "/api/v1/kb/publish", map[string]any{"ids": ids}, http.StatusOK, &rev)
	return rev.Revision
}

func (s *server) ask(question, against string) testResult {
	s.t.Helper()
	var res testResult
	s.call("POST", "/api/v1/kb/test", map[string]string{"question": question, "against": against}, http.StatusOK, &res)
	return res
}

func (s *server) head(id string) summary {
	s.t.Helper()
	var a struct {
		Head summary `json:"head"`
	}
	s.call("GET", "/api/v1/kb/articles/"+id, nil, http.StatusOK, &a)
	return a.Head
}

// birthday is an article the default knowledge base has nothing like.
var birthday = map[string]any{
	"id": "member-birthday", "title": "会员生日礼包", "question": "会员生日礼包怎么领取?",
	"similar": []string{"生日礼包在哪里领"}, "answer": "生日当月在“我的-会员”页领取。", "category": "会员",
	"tags": []string{"会员"}, "note": "新文章",
}

const birthdayQuestion = "我的会员生日礼包在哪领取"

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := kbapi.New(kbapi.Options{Router: func() *intents.Router { return nil }}); err == nil {
		t.Error("New without an editor")
	}
	_, ed, _ := mustEditor(t, nil)
	if _, err := kbapi.New(kbapi.Options{Editor: ed}); err == nil {
		t.Error("New without a router")
	}
	// Before the live router exists, the test console is not ready.
	h, err := kbapi.New(kbapi.Options{Editor: ed, Router: func() *intents.Router { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	h.Register(r)
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/kb/test", strings.NewReader(`{"question":"q"}`))
	req.Header.Set("Content-Type", "application/json")
	r.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), kbapi.CodeNotReady) {
		t.Errorf("test without a router: %d %s", w.Code, w.Body)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.wantError(request{method: "GET", path: "/api/v1/kb/articles", bearer: "-"}, http.StatusUnauthorized, apierr.CodeUnauthenticated)
	s.wantError(request{method: "GET", path: "/api/v1/kb/articles", bearer: s.agent}, http.StatusForbidden, apierr.CodeForbidden)
	s.call("GET", "/api/v1/kb/articles", nil, http.StatusOK, nil)
}

// TestPublishRollback: an article created, published and answered, then
// changed, rolled back and published again answers as before.
func TestPublishRollback(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if got := s.ask(birthdayQuestion, "published"); got.Decision.ArticleID == "member-birthday" {
		t.Fatalf("answered before the article exists: %+v", got.Decision)
	}

	var v1 saved
	s.call("POST", "/api/v1/kb/articles", birthday, http.StatusCreated, &v1)
	if v1.Version.Version != 1 || v1.Version.Author != "li" || v1.Version.Note != "新文章" || !v1.NeedsPublish ||
		v1.Head.Status != kb.StatusDraft {
		t.Fatalf("created: %+v", v1)
	}
	// A draft is not answered, but the draft console finds it.
	if got := s.ask(birthdayQuestion, "published"); got.Decision.ArticleID == "member-birthday" {
		t.Fatalf("a draft is answered: %+v", got.Decision)
	}
	if got := s.ask(birthdayQuestion, "draft"); got.Decision.Kind != intents.Answer || got.Decision.ArticleID != "member-birthday" {
		t.Fatalf("draft console: %+v", got)
	}

	s.waitRouter(s.publish("member-birthday"))
	got := s.ask(birthdayQuestion, "published")
	if got.Decision.Kind != intents.Answer || got.Decision.ArticleID != "member-birthday" ||
		got.Decision.Answer != "生日当月在“我的-会员”页领取。" || got.Threshold != kb.DefaultThreshold {
		t.Fatalf("published console: %+v", got)
	}
	if len(got.Matches) == 0 || len(got.Matches) > intents.MatchCandidates || got.Matches[0].ArticleID != "member-birthday" ||
		got.Matches[0].Title != "会员生日礼包" || got.Matches[0].Score != got.Decision.Score {
		t.Fatalf("matches: %+v", got.Matches)
	}

	// Version 2 changes the answer; it waits for a publish.
	v2 := map[string]any{"question": birthday["question"], "similar": birthday["similar"], "answer": "请到会员中心领取。",
		"title": "会员生日礼包", "category": "会员", "base_version": 1, "note": "新入口"}
	var saved2 saved
	s.call("PUT", "/api/v1/kb/articles/member-birthday", v2, http.StatusOK, &saved2)
	if saved2.Version.Version != 2 || !saved2.NeedsPublish || !saved2.Head.Pending || saved2.Head.PublishedVersion != 1 {
		t.Fatalf("saved: %+v", saved2)
	}
	if got := s.ask(birthdayQuestion, "published"); got.Decision.Answer != "生日当月在“我的-会员”页领取。" {
		t.Fatalf("an unpublished draft is answered: %+v", got.Decision)
	}
	if got := s.ask(birthdayQuestion, "draft"); got.Decision.Answer != "请到会员中心领取。" {
		t.Fatalf("draft console: %+v", got.Decision)
	}
	s.waitRouter(s.publish("member-birthday"))
	if got := s.ask(birthdayQuestion, "published"); got.Decision.Answer != "请到会员中心领取。" {
		t.Fatalf("after publishing version 2: %+v", got.Decision)
	}

	var back saved
	s.call("POST", "/api/v1/kb/articles/member-birthday/rollback", map[string]int{"version": 1}, http.StatusOK, &back)
	if back.Version.Version != 3 || back.Version.Note != "回滚到版本 1" || !back.NeedsPublish {
		t.Fatalf("rollback: %+v", back)
	}
	s.waitRouter(s.publish("member-birthday"))
	if got := s.ask(birthdayQuestion, "published"); got.Decision.Answer != "生日当月在“我的-会员”页领取。" {
		t.Fatalf("after the rollback: %+v", got.Decision)
	}

	var history struct {
		Latest, PublishedVersion int
		Versions                 []struct {
			Version   int
			Author    string
			Note      string
			Published bool
		}
	}
	s.call("GET", "/api/v1/kb/articles/member-birthday/versions", nil, http.StatusOK, &history)
	if len(history.Versions) != 3 || history.Latest != 3 || !history.Versions[2].Published || history.Versions[1].Published ||
		history.Versions[1].Note != "新入口" || history.Versions[0].Author != "li" {
		t.Fatalf("versions: %+v", history)
	}
	var v kb.Version
	s.call("GET", "/api/v1/kb/articles/member-birthday/versions/2", nil, http.StatusOK, &v)
	if v.Version != 2 || v.Article.Answer != "请到会员中心领取。" {
		t.Fatalf("version 2: %+v", v)
	}
	var diff struct {
		From, To int
		Changes  []kb.Change
	}
	s.call("GET", "/api/v1/kb/articles/member-birthday/diff", nil, http.StatusOK, &diff)
	if diff.From != 2 || diff.To != 3 || len(diff.Changes) != 2 || diff.Changes[0].Field != "answer" ||
		diff.Changes[0].New != "生日当月在“我的-会员”页领取。" || diff.Changes[1].Field != "tags" {
		t.Fatalf("diff 2→3: %+v", diff)
	}
	s.call("GET", "/api/v1/kb/articles/member-birthday/diff?from=1&to=3", nil, http.StatusOK, &diff)
	if diff.From != 1 || len(diff.Changes) != 0 {
		t.Fatalf("diff 1→3: %+v", diff)
	}

	var art struct {
		Head      summary
		Draft     kb.Version
		Published *kb.Version
	}
	s.call("GET", "/api/v1/kb/articles/member-birthday", nil, http.StatusOK, &art)
	if art.Head.Version != 3 || art.Head.PublishedVersion != 3 || art.Head.Pending || art.Draft.Version != 3 ||
		art.Published == nil || art.Published.Version != 3 || art.Head.UpdatedBy != "li" {
		t.Fatalf("article: %+v", art)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	t.Run("DerivedID", func(t *testing.T) {
		var v saved
		s.call("POST", "/api/v1/kb/articles", map[string]any{"question": "How do I reset my PIN?", "answer": "In settings."},
			http.StatusCreated, &v)
		if v.Version.ID != kb.DeriveID("How do I reset my PIN?") || v.Version.Article.Kind != kb.KindFAQ {
			t.Fatalf("created %+v", v.Version)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		w := s.wantError(request{method: "POST", path: "/api/v1/kb/articles",
			body: map[string]any{"id": "human-agent", "question": "q", "answer": "a"}}, http.StatusConflict, apierr.CodeConflict)
		var body struct{ Current summary }
		if json.Unmarshal(w.Body.Bytes(), &body); body.Current.ID != "human-agent" || body.Current.Version != 1 {
			t.Fatalf("409 body %s", w.Body)
		}
		if h := s.head("human-agent"); h.Version != 1 {
			t.Fatalf("the article changed: %+v", h)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []any{
			map[string]any{"id": "x", "question": "q"},                  // no answer
			map[string]any{"question": "  ", "answer": "a"},             // no question
			map[string]any{"id": "x y", "question": "q", "answer": "a"}, // bad id
			map[string]any{"id": "x", "question": "q", "answer": "a", "kind": "poem"},
			map[string]any{"id": "x", "question": "q", "answer": "a", "handoff": "Not A Lane"},
		} {
			s.wantError(request{method: "POST", path: "/api/v1/kb/articles", body: body}, http.StatusBadRequest, apierr.CodeInvalid)
		}
	})
	t.Run("ErrBody", func(t *testing.T) {
		ok := `{"id":"x","question":"q","answer":"a"}`
		s.wantError(request{method: "POST", path: "/api/v1/kb/articles", body: ok, contentType: "text/plain"},
			http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia)
		s.wantError(request{method: "POST", path: "/api/v1/kb/articles", body: `{"id":"x","question":"q","answer":"a","colour":1}`},
			http.StatusBadRequest, apierr.CodeBadRequest)
		s.wantError(request{method: "POST", path: "/api/v1/kb/articles", body: `{"id":"x","answer":` + strings.Repeat(" ", 1<<20) + `"a"}`},
			http.StatusRequestEntityTooLarge, apierr.CodeTooLarge)
		s.wantError(request{method: "GET", path: "/api/v1/kb/articles/x"}, http.StatusNotFound, apierr.CodeNotFound)
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	edit := func(base any) map[string]any {
		b := map[string]any{"question": "怎么转人工客服?", "answer": "回复“人工”。"}
		if base != nil {
			b["base_version"] = base
		}
		return b
	}
	s.call("PUT", "/api/v1/kb/articles/human-agent", edit(1), http.StatusOK, nil)
	t.Run("ErrStale", func(t *testing.T) {
		// Someone saved version 2 meanwhile: a save from version 1 would lose it.
		w := s.wantError(request{method: "PUT", path: "/api/v1/kb/articles/human-agent", body: edit(1)}, http.StatusConflict, apierr.CodeConflict)
		var body struct {
			Error   apierr.Detail
			Current summary
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		if body.Current.Version != 2 || body.Current.UpdatedBy != "li" || !strings.Contains(body.Error.Message, "current version is 2") {
			t.Fatalf("409 body %s", w.Body)
		}
		if h := s.head("human-agent"); h.Version != 2 {
			t.Fatalf("saved anyway: %+v", h)
		}
	})
	for _, tt := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"ErrNoBase", "/api/v1/kb/articles/human-agent", edit(nil), http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrAnyBase", "/api/v1/kb/articles/human-agent", edit(kb.AnyVersion), http.StatusBadRequest, apierr.CodeInvalid}, // no unconditional saves
		{"ErrOtherID", "/api/v1/kb/articles/human-agent", map[string]any{"id": "other", "question": "q", "answer": "a", "base_version": 2},
			http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrInvalid", "/api/v1/kb/articles/human-agent", map[string]any{"question": "q", "base_version": 2}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrNotFound", "/api/v1/kb/articles/nope", edit(1), http.StatusNotFound, apierr.CodeNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.wantError(request{method: "PUT", path: tt.path, body: tt.body}, tt.status, tt.code)
		})
	}
}

func TestHistoryErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/api/v1/kb/articles/nope/versions", nil, http.StatusNotFound, apierr.CodeNotFound},
		{"GET", "/api/v1/kb/articles/human-agent/versions/9", nil, http.StatusNotFound, apierr.CodeNotFound},
		{"GET", "/api/v1/kb/articles/human-agent/versions/one", nil, http.StatusBadRequest, apierr.CodeInvalid},
		{"GET", "/api/v1/kb/articles/human-agent/diff?from=0", nil, http.StatusBadRequest, apierr.CodeInvalid},
		{"GET", "/api/v1/kb/articles/human-agent/diff?from=1&to=5", nil, http.StatusNotFound, apierr.CodeNotFound},
		{"GET", "/api/v1/kb/articles/nope/diff", nil, http.StatusNotFound, apierr.CodeNotFound},
		{"POST", "/api/v1/kb/articles/human-agent/rollback", map[string]int{"version": 7}, http.StatusNotFound, apierr.CodeNotFound},
		{"POST", "/api/v1/kb/articles/human-agent/rollback", map[string]int{}, http.StatusBadRequest, apierr.CodeInvalid},
		{"GET", "/api/v1/kb/articles?status=gone", nil, http.StatusBadRequest, apierr.CodeInvalid},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			s.wantError(request{method: tt.method, path: tt.path, body: tt.body}, tt.status, tt.code)
		})
	}
}

func TestListOrderAndPages(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.clock.Advance(time.Hour)
	s.call("POST", "/api/v1/kb/articles", birthday, http.StatusCreated, nil)
	s.clock.Advance(time.Hour)
	s.call("PUT", "/api/v1/kb/articles/emergency-freeze", map[string]any{"base_version": 1, "question": "紧急冻结怎么操作?",
		"answer": "新的答案"}, http.StatusOK, nil)

	// list answers the IDs of the page and the two counts.
	list := func(query string) (ids []string, total, pending string) {
		t.Helper()
		w := s.do(request{method: "GET", path: "/api/v1/kb/articles?" + query})
		var got []summary
		s.want(w, http.StatusOK, &got)
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		return ids, w.Header().Get("X-Total-Count"), w.Header().Get("X-Pending-Count")
	}
	all := append(slices.Clone(seedIDs), "member-birthday")
	slices.Sort(all)
	reversed := slices.Clone(all)
	slices.Reverse(reversed)
	for _, tt := range []struct {
		query          string
		ids            []string
		total, pending string
	}{
		{"", all, "13", "1"},
		{"sort=id", all, "13", "1"},
		{"sort=&limit=&offset=", all, "13", "1"},
		{"sort=-id", reversed, "13", "1"},
		{"sort=-updated&limit=3", []string{"emergency-freeze", "member-birthday", all[0]}, "13", "1"},
		{"sort=updated&offset=11", []string{"member-birthday", "emergency-freeze"}, "13", "1"},
		{"sort=status&limit=2", []string{"member-birthday", "emergency-freeze"}, "13", "1"},
		{"sort=-version&limit=1", []string{"emergency-freeze"}, "13", "1"},
		{"sort=category&category=会员", []string{"member-birthday"}, "1", "0"},
		{"limit=5&offset=10", all[10:], "13", "1"},
		{"limit=5&offset=99", nil, "13", "1"},
		{"status=published&limit=1", all[:1], "12", "1"},
	} {
		ids, total, pending := list(tt.query)
		if fmt.Sprint(ids) != fmt.Sprint(tt.ids) || total != tt.total || pending != tt.pending {
			t.Errorf("%s: %v, total %s, pending %s; want %v, %s, %s", tt.query, ids, total, pending, tt.ids, tt.total, tt.pending)
		}
	}
	for _, bad := range []string{"sort=title", "sort=--id", "limit=0", "limit=1001", "limit=x", "offset=-1"} {
		s.wantError(request{method: "GET", path: "/api/v1/kb/articles?" + bad}, http.StatusBadRequest, apierr.CodeInvalid)
	}

	type categoryCount struct {
		Category string
		Articles int
	}
	var cats []categoryCount
	s.call("GET", "/api/v1/kb/categories", nil, http.StatusOK, &cats)
	if !slices.IsSortedFunc(cats, func(a, b categoryCount) int { return strings.Compare(a.Category, b.Category) }) {
		t.Errorf("categories not by name: %v", cats)
	}
	got := map[string]int{}
	for _, c := range cats {
		got[c.Category] = c.Articles
	}
	// The seed's categories, counted from the default knowledge base, and
	// the new article's.
	want := map[string]int{"会员": 1}
	def, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range def {
		// emergency-freeze's edit above left its category out.
		if slices.Contains(seedIDs, a.ID) && a.Category != "" && a.ID != "emergency-freeze" {
			want[a.Category]++
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("categories %v, want %v", got, want)
	}
}

func TestListPublishArchive(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var all []summary
	s.call("GET", "/api/v1/kb/articles", nil, http.StatusOK, &all)
	if len(all) != len(seedIDs) || all[0].Status != kb.StatusPublished || all[0].UpdatedBy != kb.SystemAuthor {
		t.Fatalf("%d articles, first %+v", len(all), all[0])
	}
	s.call("POST", "/api/v1/kb/articles", birthday, http.StatusCreated, nil)

	list := func(query string) []string {
		var got []summary
		s.call("GET", "/api/v1/kb/articles?"+query, nil, http.StatusOK, &got)
		ids := []string{}
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		return ids
	}
	if got := list("status=draft"); fmt.Sprint(got) != "[member-birthday]" {
		t.Errorf("drafts: %v", got)
	}
	if got := list("category=会员"); fmt.Sprint(got) != "[member-birthday]" {
		t.Errorf("category: %v", got)
	}
	if got := list("q=生日礼包"); fmt.Sprint(got) != "[member-birthday]" {
		t.Errorf("q: %v", got)
	}
	if got := list("q=EMERGENCY-FREEZE&status=published"); fmt.Sprint(got) != "[emergency-freeze]" {
		t.Errorf("q by id: %v", got)
	}
	if got := list("q=" + url.QueryEscape("生日 我的-会员")); fmt.Sprint(got) != "[member-birthday]" {
		t.Errorf("q of two words, each somewhere in the article: %v", got)
	}
	if got := list("q=" + url.QueryEscape("生日 不存在的词")); len(got) != 0 {
		t.Errorf("q of two words, one nowhere: %v", got)
	}
	if got := list("status=pending"); len(got) != 0 {
		t.Errorf("pending before any draft over a published version: %v", got)
	}
	s.call("PUT", "/api/v1/kb/articles/emergency-freeze", map[string]any{"base_version": 1, "question": "紧急冻结怎么操作?",
		"answer": "新的答案"}, http.StatusOK, nil)
	if got := list("status=pending"); fmt.Sprint(got) != "[emergency-freeze]" {
		t.Errorf("pending: %v", got)
	}

	rev := s.publish("member-birthday")
	t.Run("ErrNotFound", func(t *testing.T) {
		s.wantError(request{method: "POST", path: "/api/v1/kb/publish", body: map[string]any{"ids": []string{"member-birthday", "nope"}}},
			http.StatusNotFound, apierr.CodeNotFound)
		s.wantError(request{method: "POST", path: "/api/v1/kb/archive", body: map[string]any{"ids": []string{"nope"}}},
			http.StatusNotFound, apierr.CodeNotFound)
		if rev2, _ := s.ed.Store().Revision(context.Background()); rev2 != rev {
			t.Fatalf("revision %d, want %d", rev2, rev)
		}
	})
	t.Run("ErrNoIDs", func(t *testing.T) {
		s.wantError(request{method: "POST", path: "/api/v1/kb/publish", body: map[string]any{"ids": []string{}}},
			http.StatusBadRequest, apierr.CodeInvalid)
	})

	s.waitRouter(rev)
	if got := s.ask(birthdayQuestion, "published"); got.Decision.ArticleID != "member-birthday" {
		t.Fatalf("not answered: %+v", got.Decision)
	}
	var archived revision
	s.call("POST", "/api/v1/kb/archive", map[string]any{"ids": []string{"member-birthday"}}, http.StatusOK, &archived)
	if archived.Revision != rev+1 {
		t.Fatalf("archive: revision %d, want %d", archived.Revision, rev+1)
	}
	if got := list("status=archived"); fmt.Sprint(got) != "[member-birthday]" {
		t.Errorf("archived: %v", got)
	}
	s.waitRouter(archived.Revision)
	for _, against := range []string{"published", "draft"} {
		if got := s.ask(birthdayQuestion, against); got.Decision.ArticleID == "member-birthday" {
			t.Errorf("%s console answers with an archived article: %+v", against, got.Decision)
		}
	}
}

func TestConsole(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	t.Run("Urgent", func(t *testing.T) {
		for _, against := range []string{"published", "draft"} {
			if got := s.ask("我的微信被盗了，别人在用我的号借钱", against); got.Decision.Kind != intents.Urgent ||
				got.Decision.Lane != "emergency" || got.Decision.Unconfig || got.Decision.LaneTitle != "紧急" {
				t.Errorf("%s: %+v", against, got.Decision)
			}
		}
	})
	t.Run("Flow", func(t *testing.T) {
		// The flow the bot offers under the answer; one that does not
		// exist is not offered.
		for id, flow := range map[string]string{"export-faq": "bill_export", "gone-faq": "no_such_flow"} {
			if _, err := s.ed.Save(context.Background(), kb.Article{ID: id, Question: id + " 账单怎么导出到邮箱", Answer: "在账单页导出。",
				Kind: kb.KindFAQ, Flow: flow}, "li", ""); err != nil {
				t.Fatal(err)
			}
		}
		got := s.ask("export-faq 账单怎么导出到邮箱", "draft")
		if got.Decision.ArticleID != "export-faq" || got.Decision.Flow != "bill_export" {
			t.Errorf("%+v, want bill_export offered", got.Decision)
		}
		if got := s.ask("gone-faq 账单怎么导出到邮箱", "draft"); got.Decision.ArticleID != "gone-faq" || got.Decision.Flow != "" {
			t.Errorf("%+v, want no flow offered", got.Decision)
		}
	})
	t.Run("UnconfiguredLane", func(t *testing.T) {
		// Saved before its lane left kefu.yaml (this editor has no check):
		// the console says the bot will use the default lane.
		if _, err := s.ed.Save(context.Background(), kb.Article{ID: "vip-card", Question: "黑金卡专属客服怎么联系", Answer: "专属客服为你服务。",
			Kind: kb.KindFAQ, Handoff: "vip"}, "li", ""); err != nil {
			t.Fatal(err)
		}
		if got := s.ask("黑金卡专属客服怎么联系", "draft"); got.Decision.Lane != "vip" || !got.Decision.Unconfig {
			t.Errorf("%+v, want lane vip marked unconfigured", got.Decision)
		}
	})
	t.Run("UserRequest", func(t *testing.T) {
		if got := s.ask("转人工", "published"); got.Decision.Kind != intents.UserRequest {
			t.Errorf("%+v", got.Decision)
		}
	})
	t.Run("Boundary", func(t *testing.T) {
		if got := s.ask("能帮我查别人的聊天记录吗", "draft"); got.Decision.Kind != intents.Boundary ||
			got.Decision.ArticleID != "boundary-chat-records" {
			t.Errorf("%+v", got.Decision)
		}
	})
	t.Run("Fallback", func(t *testing.T) {
		got := s.ask("今天股市怎么样会不会下雨", "published")
		if got.Decision.Kind != intents.Fallback || got.Decision.Score >= got.Threshold {
			t.Errorf("%+v", got.Decision)
		}
	})
	t.Run("English", func(t *testing.T) {
		s.call("POST", "/api/v1/kb/articles", map[string]any{"id": "refund-time", "question": "退款多久到账?",
			"similar": []string{"how long does a refund take"}, "answer": "1 到 3 个工作日。", "answer_en": "One to three working days."},
			http.StatusCreated, nil)
		if got := s.ask("How long does a refund take?", "draft"); got.Decision.Answer != "One to three working days." {
			t.Errorf("%+v", got.Decision)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []map[string]string{{"question": " "}, {"question": "q", "against": "tomorrow"}} {
			s.wantError(request{method: "POST", path: "/api/v1/kb/test", body: body}, http.StatusBadRequest, apierr.CodeInvalid)
		}
	})
}

func TestUnanswered(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	for _, u := range []kb.Unanswered{
		{Text: "会员生日礼包怎么领", Reason: kb.ReasonFailed, ArticleID: "bill-export", Score: 0.1},
		{Text: "会员生日礼包怎么领", Reason: kb.ReasonHandoff},
		{Text: "会员生日礼包怎么领？", Reason: kb.ReasonFailed},
		{Text: "积分可以换什么", Reason: kb.ReasonFailed},
		{Text: "附近有没有营业厅", Reason: kb.ReasonFailed},
	} {
		if err := s.ed.RecordUnanswered(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	type group struct {
		ID        string    `json:"id"`
		Text      string    `json:"text"`
		Count     int       `json:"count"`
		Failed    int       `json:"failed"`
		Handoff   int       `json:"handoff"`
		Distinct  int       `json:"distinct"`
		Samples   []string  `json:"samples"`
		FirstSeen time.Time `json:"first_seen"`
		Candidate *struct {
			ArticleID string `json:"article_id"`
			Title     string `json:"title"`
		} `json:"candidate"`
	}
	groups := func() map[string]group {
		var list []group
		s.call("GET", "/api/v1/kb/unanswered", nil, http.StatusOK, &list)
		m := map[string]group{}
		for _, g := range list {
			m[g.Text] = g
		}
		return m
	}
	gs := groups()
	birthdayGroup := gs["会员生日礼包怎么领"]
	if len(gs) != 3 || birthdayGroup.Count != 3 || birthdayGroup.Failed != 2 || birthdayGroup.Handoff != 1 || birthdayGroup.Distinct != 2 ||
		len(birthdayGroup.Samples) != 2 || birthdayGroup.FirstSeen.IsZero() || birthdayGroup.Candidate == nil ||
		birthdayGroup.Candidate.ArticleID != "bill-export" || birthdayGroup.Candidate.Title == "" {
		t.Fatalf("groups: %+v", gs)
	}

	t.Run("Resolve", func(t *testing.T) {
		var v saved
		s.call("POST", "/api/v1/kb/unanswered/"+gs["积分可以换什么"].ID+"/resolve",
			map[string]string{"article_id": "self-service-tools", "text": "积分能换什么"}, http.StatusOK, &v)
		if v.Version.Version != 2 || v.Version.Author != "li" || !v.NeedsPublish || !strings.Contains(v.Message, "publish") ||
			v.Version.Article.Similar[len(v.Version.Article.Similar)-1] != "积分能换什么" {
			t.Fatalf("resolved: %+v", v)
		}
		if _, ok := groups()["积分可以换什么"]; ok {
			t.Fatal("the group is still queued")
		}
	})
	t.Run("Article", func(t *testing.T) {
		var v saved
		s.call("POST", "/api/v1/kb/unanswered/"+birthdayGroup.ID+"/article",
			map[string]any{"id": "member-birthday", "answer": "生日当月在会员页领取。", "category": "会员"}, http.StatusCreated, &v)
		if v.Version.Version != 1 || v.Version.Article.Question != "会员生日礼包怎么领" || !v.NeedsPublish || v.Head.Status != kb.StatusDraft {
			t.Fatalf("new article: %+v", v)
		}
		if _, ok := groups()["会员生日礼包怎么领"]; ok {
			t.Fatal("the group is still queued")
		}
	})
	t.Run("Dismiss", func(t *testing.T) {
		id := gs["附近有没有营业厅"].ID
		w := s.do(request{method: "POST", path: "/api/v1/kb/unanswered/" + id + "/dismiss"})
		if w.Code != http.StatusNoContent {
			t.Fatalf("dismiss: %d %s", w.Code, w.Body)
		}
		if len(groups()) != 0 {
			t.Fatal("the queue is not empty")
		}
		s.wantError(request{method: "POST", path: "/api/v1/kb/unanswered/" + id + "/dismiss"}, http.StatusNotFound, apierr.CodeNotFound)
	})
	t.Run("Errors", func(t *testing.T) {
		if err := s.ed.RecordUnanswered(ctx, kb.Unanswered{Text: "营业时间", Reason: kb.ReasonFailed}); err != nil {
			t.Fatal(err)
		}
		id := groups()["营业时间"].ID
		for _, tt := range []struct {
			path   string
			body   any
			status int
			code   string
		}{
			{"/api/v1/kb/unanswered/" + id + "/resolve", map[string]string{}, http.StatusBadRequest, apierr.CodeInvalid},
			{"/api/v1/kb/unanswered/" + id + "/resolve", map[string]string{"article_id": "nope"}, http.StatusNotFound, apierr.CodeNotFound},
			{"/api/v1/kb/unanswered/gone/resolve", map[string]string{"article_id": "human-agent"}, http.StatusNotFound, apierr.CodeNotFound},
			{"/api/v1/kb/unanswered/gone/article", map[string]string{"answer": "a"}, http.StatusNotFound, apierr.CodeNotFound},
			{"/api/v1/kb/unanswered/" + id + "/article", map[string]string{"id": "human-agent", "answer": "a"}, http.StatusConflict, apierr.CodeConflict},
			{"/api/v1/kb/unanswered/" + id + "/article", map[string]string{}, http.StatusBadRequest, apierr.CodeInvalid},
		} {
			s.wantError(request{method: "POST", path: tt.path, body: tt.body}, tt.status, tt.code)
		}
		if _, ok := groups()["营业时间"]; !ok {
			t.Fatal("a failed request took the group off the queue")
		}
	})
}

func TestExport(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	articles, err := s.ed.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query, contentType, file string
		write                    func(io.Writer, []kb.Article) error
	}{
		{"", "application/json; charset=utf-8", "kefu-kb.json", kb.WriteJSON},
		{"?format=csv", "text/csv; charset=utf-8", "kefu-kb.csv", kb.WriteCSV},
	} {
		w := s.do(request{method: "GET", path: "/api/v1/kb/export" + tt.query})
		var want bytes.Buffer
		if err := tt.write(&want, articles); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), want.Bytes()) {
			t.Errorf("export%s: %d, %d bytes, want %d bytes of kb's writer", tt.query, w.Code, w.Body.Len(), want.Len())
		}
		if got := w.Header().Get("Content-Type"); got != tt.contentType {
			t.Errorf("export%s: Content-Type %q", tt.query, got)
		}
		if got := w.Header().Get("Content-Disposition"); got != `attachment; filename="`+tt.file+`"` {
			t.Errorf("export%s: Content-Disposition %q", tt.query, got)
		}
	}
	s.wantError(request{method: "GET", path: "/api/v1/kb/export?format=xml"}, http.StatusBadRequest, apierr.CodeInvalid)
}

// plan is the answer of POST /kb/import.
type plan struct {
	DryRun                    bool `json:"dry_run"`
	Added, Changed, Unchanged []struct {
		Row     int         `json:"row"`
		ID      string      `json:"id"`
		Changes []kb.Change `json:"changes"`
	}
	Rejected []kb.Rejection   `json:"rejected"`
	Token    string           `json:"token"`
	Result   *kb.ImportResult `json:"result"`
}

func (s *server) importFile(query, contentType string, file []byte, status int) plan {
	s.t.Helper()
	var p plan
	s.want(s.do(request{method: "POST", path: "/api/v1/kb/import" + query, body: file, contentType: contentType}), status, &p)
	return p
}

func (s *server) export(format string) []byte {
	s.t.Helper()
	w := s.do(request{method: "GET", path: "/api/v1/kb/export?format=" + format})
	if w.Code != http.StatusOK {
		s.t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// TestImportRoundTrip: an export imports as unchanged, in both formats;
// an edited CSV changes what it edits, and publishes with publish=1.
func TestImportRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tt := range []struct{ format, contentType string }{{"json", "application/json"}, {"csv", "text/csv"}} {
		p := s.importFile("?format="+tt.format+"&dry_run=1", tt.contentType, s.export(tt.format), http.StatusOK)
		if !p.DryRun || len(p.Unchanged) != len(seedIDs) || len(p.Added)+len(p.Changed)+len(p.Rejected) != 0 || p.Result != nil {
			t.Fatalf("%s round trip: %+v", tt.format, p)
		}
	}

	csvFile := string(s.export("csv"))
	const newAnswer = "搜索“微信团队”公众号，点“联系客服”。"
	var e kb.Version
	s.call("GET", "/api/v1/kb/articles/channels-official-account/versions/1", nil, http.StatusOK, &e)
	edited := strings.Replace(csvFile, e.Article.Answer, newAnswer, 1) +
		"member-birthday,会员生日礼包怎么领取?,生日礼包在哪里领,生日当月在会员页领取。,,会员,,,published,,,\n"
	if !strings.Contains(edited, newAnswer) {
		t.Fatal("the CSV was not edited")
	}

	p := s.importFile("?dry_run=1", "text/csv; charset=utf-8", []byte(edited), http.StatusOK)
	if len(p.Changed) != 1 || p.Changed[0].ID != "channels-official-account" || len(p.Changed[0].Changes) != 1 ||
		p.Changed[0].Changes[0].Field != "answer" || len(p.Added) != 1 || p.Added[0].Row != len(seedIDs)+2 || len(p.Unchanged) != len(seedIDs)-1 {
		t.Fatalf("dry run: %+v", p)
	}
	if h := s.head("channels-official-account"); h.Version != 1 {
		t.Fatalf("a dry run saved: %+v", h)
	}

	p = s.importFile("?format=csv&publish=1", "text/csv", []byte(edited), http.StatusOK)
	if p.DryRun || p.Result == nil || fmt.Sprint(p.Result.Saved) != "[member-birthday channels-official-account]" ||
		fmt.Sprint(slices.Sorted(slices.Values(p.Result.Published))) != "[channels-official-account member-birthday]" {
		t.Fatalf("import: %+v", p.Result)
	}
	if h := s.head("channels-official-account"); h.Version != 2 || h.PublishedVersion != 2 || h.UpdatedBy != "li" {
		t.Fatalf("after the import: %+v", h)
	}
	s.waitRouter(p.Result.Revision)
	if got := s.ask(birthdayQuestion, "published"); got.Decision.ArticleID != "member-birthday" {
		t.Fatalf("the imported article is not answered: %+v", got.Decision)
	}
	if again := s.export("csv"); !bytes.Contains(again, []byte(newAnswer)) {
		t.Fatal("the export lacks the imported answer")
	}
}

// TestImportRejected: a file with a bad row is refused whole, dry run or
// not, unless allow_rejected.
func TestImportRejected(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	file := []byte("question,answer,category\n好问题,好答案,测试\n坏问题,,测试\n")
	before := s.export("json")
	for _, query := range []string{"?format=csv&dry_run=1", "?format=csv"} {
		w := s.wantError(request{method: "POST", path: "/api/v1/kb/import" + query, body: file, contentType: "text/csv"},
			http.StatusUnprocessableEntity, kbapi.CodeRejected)
		var body struct{ Plan plan }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Plan.Rejected) != 1 || body.Plan.Rejected[0].Row != 3 || !strings.Contains(body.Plan.Rejected[0].Reason, "answer is empty") ||
			len(body.Plan.Added) != 1 || body.Plan.Added[0].Row != 2 {
			t.Fatalf("%s: plan %+v", query, body.Plan)
		}
		if !bytes.Equal(s.export("json"), before) {
			t.Fatalf("%s changed the knowledge base", query)
		}
	}
	p := s.importFile("?format=csv&allow_rejected=1", "text/csv", file, http.StatusOK)
	if p.Result == nil || len(p.Result.Saved) != 1 || len(p.Rejected) != 1 {
		t.Fatalf("allow_rejected: %+v", p)
	}
}

// TestSaveEdges: a save or a rollback that changes nothing says so and
// makes no version; a save from a page opened before someone archived the
// article is refused rather than quietly restoring it.
func TestSaveEdges(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	art := map[string]any{"id": "member-birthday", "question": "会员生日礼包怎么领取?", "answer": "第一版"}
	s.call("POST", "/api/v1/kb/articles", art, http.StatusCreated, nil)
	var saved struct {
		Version   kb.Version `json:"version"`
		Unchanged bool       `json:"unchanged"`
		Message   string     `json:"message"`
	}
	same := map[string]any{"question": art["question"], "answer": art["answer"], "base_version": 1, "note": "只写了说明"}
	s.call("PUT", "/api/v1/kb/articles/member-birthday", same, http.StatusOK, &saved)
	if !saved.Unchanged || saved.Version.Version != 1 || !strings.Contains(saved.Message, "没有改动") {
		t.Errorf("a save that changes nothing: %+v", saved)
	}
	saved.Unchanged = false // the answer omits it when false
	s.call("PUT", "/api/v1/kb/articles/member-birthday", map[string]any{"question": art["question"], "answer": "第二版", "base_version": 1},
		http.StatusOK, &saved)
	if saved.Unchanged || saved.Version.Version != 2 {
		t.Errorf("a save that changes the answer: %+v", saved)
	}
	s.call("POST", "/api/v1/kb/articles/member-birthday/rollback", map[string]any{"version": 2}, http.StatusOK, &saved)
	if !saved.Unchanged || saved.Version.Version != 2 {
		t.Errorf("a rollback to the latest version's content: %+v", saved)
	}

	s.publish("member-birthday")
	s.call("POST", "/api/v1/kb/archive", map[string]any{"ids": []string{"member-birthday"}}, http.StatusOK, nil)
	// A publish from a page that saw it published: refused, still archived.
	s.wantError(request{method: "POST", path: "/api/v1/kb/publish", body: map[string]any{"ids": []string{"member-birthday"},
		"versions": map[string]int{"member-birthday": 2}, "statuses": map[string]string{"member-birthday": "published"}}},
		http.StatusConflict, apierr.CodeConflict)
	if h := s.head("member-birthday"); h.Status != kb.StatusArchived {
		t.Fatalf("a refused publish changed the archived article: %+v", h)
	}
	edit := map[string]any{"question": art["question"], "answer": "第三版", "base_version": 2, "base_status": "published"}
	w := s.wantError(request{method: "PUT", path: "/api/v1/kb/articles/member-birthday", body: edit}, http.StatusConflict, apierr.CodeConflict)
	if !strings.Contains(w.Body.String(), "归档") {
		t.Errorf("a save over an archive: %s", w.Body)
	}
	edit["base_status"] = "archived" // opened as archived: saving restores it, as documented
	s.call("PUT", "/api/v1/kb/articles/member-birthday", edit, http.StatusOK, &saved)
	if h := s.head("member-birthday"); h.Status != kb.StatusDraft || h.Version != 3 {
		t.Errorf("a save of an archived article opened as archived: %+v", h)
	}
}

// TestPublishVersions: a publish or an archive naming the version the
// editor looked at is refused with 409, and who saved since, when a newer
// version exists; nothing changes. At the latest version it goes through.
func TestPublishVersions(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.call("POST", "/api/v1/kb/articles", map[string]any{"id": "member-birthday", "question": "会员生日礼包怎么领取?", "answer": "第一版"},
		http.StatusCreated, nil)
	s.call("PUT", "/api/v1/kb/articles/member-birthday", map[string]any{"base_version": 1, "question": "会员生日礼包怎么领取?", "answer": "第二版"},
		http.StatusOK, nil)
	for _, action := range []string{"publish", "archive"} {
		w := s.wantError(request{method: "POST", path: "/api/v1/kb/" + action,
			body: map[string]any{"ids": []string{"member-birthday"}, "versions": map[string]int{"member-birthday": 1}}},
			http.StatusConflict, apierr.CodeConflict)
		var body struct {
			Current summary `json:"current"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Current.Version != 2 || !strings.Contains(w.Body.String(), "在你查看后又被保存") {
			t.Fatalf("%s of version 1: %s", action, w.Body)
		}
	}
	if h := s.head("member-birthday"); h.PublishedVersion != 0 || h.Status != kb.StatusDraft {
		t.Fatalf("a refused publish or archive changed the article: %+v", h)
	}
	s.call("POST", "/api/v1/kb/publish", map[string]any{"ids": []string{"member-birthday"}, "versions": map[string]int{"member-birthday": 2}},
		http.StatusOK, nil)
	if h := s.head("member-birthday"); h.PublishedVersion != 2 {
		t.Fatalf("publish of the latest version: %+v", h)
	}
	// A page that saw it as a draft archives it: refused, for it went live since.
	w := s.wantError(request{method: "POST", path: "/api/v1/kb/archive", body: map[string]any{"ids": []string{"member-birthday"},
		"statuses": map[string]string{"member-birthday": "draft"}}}, http.StatusConflict, apierr.CodeConflict)
	if h := s.head("member-birthday"); h.Status != kb.StatusPublished || !strings.Contains(w.Body.String(), "已发布") {
		t.Fatalf("an archive from a stale page: %+v, %s", h, w.Body)
	}

	// Of several, every one that moved on is named in "stale", in the
	// request's order, the first one's state in "current": a page lets go
	// of them all at once.
	s.call("POST", "/api/v1/kb/articles", map[string]any{"id": "member-card", "question": "会员卡在哪里看?", "answer": "卡包"},
		http.StatusCreated, nil)
	s.call("POST", "/api/v1/kb/articles", map[string]any{"id": "member-level", "question": "会员等级怎么算?", "answer": "按积分"},
		http.StatusCreated, nil)
	w = s.wantError(request{method: "POST", path: "/api/v1/kb/publish", body: map[string]any{
		"ids":      []string{"member-card", "member-birthday", "member-level"},
		"versions": map[string]int{"member-card": 1, "member-birthday": 2, "member-level": 0},
		"statuses": map[string]string{"member-card": "draft", "member-birthday": "draft", "member-level": "draft"}}},
		http.StatusConflict, apierr.CodeConflict)
	var body struct {
		Current summary  `json:"current"`
		Stale   []string `json:"stale"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Current.ID != "member-birthday" ||
		!slices.Equal(body.Stale, []string{"member-birthday", "member-level"}) {
		t.Fatalf("a publish of two stale articles of three: %s", w.Body)
	}
	if h := s.head("member-card"); h.PublishedVersion != 0 {
		t.Fatalf("a refused publish published the article still as seen: %+v", h)
	}
}

// savingStore saves article id anew (once) when a publish or an archive
// reaches the store: someone's save racing it after the handler's check.
type savingStore struct {
	kb.Store
	id string
}

func (r *savingStore) saveFirst(ctx context.Context) error {
	id := r.id
	if id == "" {
		return nil
	}
	r.id = ""
	h, err := r.Store.Head(ctx, id)
	if err != nil {
		return err
	}
	a := h.Article
	a.Answer += "（又改了）"
	_, err = r.Store.Save(ctx, a, "other", "", time.Now(), kb.Base{Version: h.Latest})
	return err
}

func (r *savingStore) Publish(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	if err := r.saveFirst(ctx); err != nil {
		return 0, err
	}
	return r.Store.Publish(ctx, ids, expect, by, at)
}

func (r *savingStore) Archive(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	if err := r.saveFirst(ctx); err != nil {
		return 0, err
	}
	return r.Store.Archive(ctx, ids, expect, by, at)
}

// TestPublishRacedBySave: an article saved between the handler's check
// and the store's publish or archive is refused all the same, with 409
// and the article in "stale"; nothing changes. An unknown article among
// others is the request's 404, and nothing changes either.
func TestPublishRacedBySave(t *testing.T) {
	t.Parallel()
	race := &savingStore{}
	s := newServerOver(t, func(st kb.Store) kb.Store {
		race.Store = st
		return race
	})
	for _, id := range []string{"member-card", "member-level"} {
		s.call("POST", "/api/v1/kb/articles", map[string]any{"id": id, "question": id + " 怎么办?", "answer": "第一版"},
			http.StatusCreated, nil)
	}
	seen := map[string]any{"ids": []string{"member-card", "member-level"},
		"versions": map[string]int{"member-card": 1, "member-level": 1},
		"statuses": map[string]string{"member-card": "draft", "member-level": "draft"}}
	for _, action := range []string{"publish", "archive"} {
		race.id = "member-level"
		w := s.wantError(request{method: "POST", path: "/api/v1/kb/" + action, body: seen}, http.StatusConflict, apierr.CodeConflict)
		var body struct {
			Current summary  `json:"current"`
			Stale   []string `json:"stale"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Current.ID != "member-level" ||
			!slices.Equal(body.Stale, []string{"member-level"}) {
			t.Fatalf("%s raced by a save: %s", action, w.Body)
		}
		if h := s.head("member-card"); h.Status != kb.StatusDraft || h.PublishedVersion != 0 {
			t.Fatalf("%s raced by a save changed the article still as seen: %+v", action, h)
		}
		seen["versions"].(map[string]int)["member-level"]++
	}
	seen["ids"] = []string{"member-card", "ghost"}
	s.wantError(request{method: "POST", path: "/api/v1/kb/archive", body: seen}, http.StatusNotFound, apierr.CodeNotFound)
	if h := s.head("member-card"); h.Status != kb.StatusDraft {
		t.Fatalf("an archive naming an unknown article changed another: %+v", h)
	}
}

// TestImportStale: an import given its dry run's token (expect=) is
// refused with 409, and the new report beside the error, when the
// knowledge base changed since; nothing is saved. With the new token it
// goes through.
func TestImportStale(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	file := []byte("id,question,answer,category\nmember-birthday,会员生日礼包怎么领取?,生日当月在会员页领取。,会员\n")
	dry := s.importFile("?format=csv&dry_run=1&publish=1", "text/csv", file, http.StatusOK)
	if dry.Token == "" || len(dry.Added) != 1 {
		t.Fatalf("dry run: %+v", dry)
	}
	s.call("POST", "/api/v1/kb/articles", map[string]any{"id": "member-birthday", "question": "生日礼包", "answer": "别人写的答案"},
		http.StatusCreated, nil)
	w := s.wantError(request{method: "POST", path: "/api/v1/kb/import?format=csv&expect=" + dry.Token, body: file, contentType: "text/csv"},
		http.StatusConflict, apierr.CodeConflict)
	var body struct{ Plan plan }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Plan.Changed) != 1 || body.Plan.Token == "" || body.Plan.Token == dry.Token || body.Plan.Result != nil {
		t.Fatalf("the report beside the refusal: %+v", body.Plan)
	}
	if h := s.head("member-birthday"); h.Version != 1 {
		t.Fatalf("a refused import saved: %+v", h)
	}
	p := s.importFile("?format=csv&expect="+body.Plan.Token, "text/csv", file, http.StatusOK)
	if p.Result == nil || fmt.Sprint(p.Result.Saved) != "[member-birthday]" {
		t.Fatalf("import with the new token: %+v", p)
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	csvFile := []byte("question,answer\nq,a\n")
	for _, tt := range []struct {
		name, query, contentType string
		body                     []byte
		status                   int
		code                     string
	}{
		{"ErrType", "?format=csv", "application/x-www-form-urlencoded", csvFile, http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia},
		{"ErrTypeFormat", "?format=json", "text/csv", csvFile, http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia},
		{"ErrNoType", "?format=csv", "", csvFile, http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia},
		{"ErrNoFormat", "", "application/octet-stream", csvFile, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrFormat", "?format=xlsx", "application/octet-stream", csvFile, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrFlag", "?format=csv&dry_run=perhaps", "text/csv", csvFile, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrHeader", "?format=csv", "text/csv", []byte("question,colour\nq,red\n"), http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrJSON", "", "application/json", []byte(`{"id":"x"}`), http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrTooLarge", "?format=csv", "text/csv", bytes.Repeat([]byte("x"), kbapi.MaxImportSize+1), http.StatusRequestEntityTooLarge, apierr.CodeTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.wantError(request{method: "POST", path: "/api/v1/kb/import" + tt.query, body: tt.body, contentType: tt.contentType}, tt.status, tt.code)
		})
	}
	// The format follows from the type, and any file may come as octet-stream.
	s.importFile("?dry_run=1", "text/csv", csvFile, http.StatusOK)
	s.importFile("?dry_run=1&format=csv", "application/octet-stream", csvFile, http.StatusOK)
}

// TestChoices: the editor's page learns the lanes and flows an article
// may name; agents may not ask.
func TestChoices(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var got kbapi.Choices
	s.call("GET", "/api/v1/kb/choices", nil, http.StatusOK, &got)
	if len(got.Lanes) != 2 || got.Lanes[0].Name != "normal" || got.Flows == nil {
		t.Errorf("choices = %+v", got)
	}
	s.wantError(request{method: "GET", path: "/api/v1/kb/choices", bearer: s.agent}, http.StatusForbidden, apierr.CodeForbidden)
}

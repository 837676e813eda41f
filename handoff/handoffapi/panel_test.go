package handoffapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffapi"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// cannedArticles are a small published knowledge base.
var cannedArticles = []kb.Article{
	{ID: "bill", Title: "查账单", Question: "怎么查看账单", Similar: []string{"账单在哪里看"}, Answer: "在“我的-账单”查看。",
		AnswerEN: "See Me > Bills.", Category: "pay", Kind: kb.KindFAQ, Status: kb.StatusPublished},
	{ID: "refund", Title: "退款", Question: "怎么申请退款", Answer: "在订单页申请退款。", Category: "pay", Kind: kb.KindFAQ, Status: kb.StatusPublished},
	{ID: "pwd", Title: "改密码", Question: "怎么修改密码", Answer: "在设置里修改。", Category: "account", Kind: kb.KindFAQ, Status: kb.StatusPublished},
}

type canned struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
	Question  string `json:"question"`
	Answer    string `json:"answer"`
	AnswerEN  string `json:"answer_en"`
}

func TestCanned(t *testing.T) {
	ix := kb.NewIndex(cannedArticles)
	published := func(context.Context) ([]kb.Article, int64, error) { return slices.Clone(cannedArticles), 1, nil }
	s := newServer(t, func(o *handoffapi.Options) {
		o.Articles = handoffapi.CannedArticles(func() *kb.Index { return ix }, published)
	})
	var got []canned
	s.call("wang", "GET", "/canned?q=账单", nil, http.StatusOK, &got)
	if len(got) == 0 || got[0] != (canned{"bill", "查账单", "怎么查看账单", "在“我的-账单”查看。", "See Me > Bills."}) {
		t.Fatalf("q=账单: %+v", got)
	}
	// An empty query lists the articles by category, then title.
	s.call("boss", "GET", "/canned", nil, http.StatusOK, &got)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ArticleID)
	}
	if want := []string{"pwd", "bill", "refund"}; !slices.Equal(ids, want) {
		t.Errorf("empty query: %v, want %v", ids, want)
	}
	s.call("wang", "GET", "/canned?q=%EF%BC%9F", nil, http.StatusOK, &got) // only punctuation
	if len(got) != 0 {
		t.Errorf("punctuation: %+v", got)
	}
	s.wantError("wang", "GET", "/canned?q="+strings.Repeat("a", 600), nil, http.StatusBadRequest, apierr.CodeInvalid)
	s.wantError("ed", "GET", "/canned?q=账单", nil, http.StatusForbidden, apierr.CodeForbidden)
	s.wantError("", "GET", "/canned", nil, http.StatusUnauthorized, apierr.CodeUnauthenticated)
}

func TestCannedLimitAndFaults(t *testing.T) {
	many := make([]kb.Article, 15)
	s := newServer(t, func(o *handoffapi.Options) {
		o.Articles = func(context.Context, string, int) ([]kb.Article, error) { return many, nil }
	})
	var got []canned
	s.call("wang", "GET", "/canned?q=x", nil, http.StatusOK, &got)
	if len(got) != handoffapi.MaxCanned {
		t.Errorf("%d canned replies, want %d", len(got), handoffapi.MaxCanned)
	}
	s = newServer(t, func(o *handoffapi.Options) {
		o.Articles = func(context.Context, string, int) ([]kb.Article, error) { return nil, errors.New("store down") }
	})
	s.wantError("wang", "GET", "/canned", nil, http.StatusInternalServerError, apierr.CodeInternal)
	s = newServer(t) // no Articles
	s.call("wang", "GET", "/canned?q=账单", nil, http.StatusOK, &got)
	if len(got) != 0 {
		t.Errorf("without Articles: %+v", got)
	}
}

type dirEntry struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Lanes  []string `json:"lanes"`
	Online bool     `json:"online"`
}

func TestDirectory(t *testing.T) {
	presence := handoff.NewLocalPresence(0, nil)
	s := newServer(t, func(o *handoffapi.Options) { o.Presence = presence })
	ctx := context.Background()
	if err := presence.Seen(ctx, s.ids["wang"]); err != nil {
		t.Fatal(err)
	}
	disabled, zero := true, 0
	if _, err := s.users.UpdateAccount(ctx, s.ids["li"], auth.Patch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.users.UpdateAccount(ctx, s.ids["zhao"], auth.Patch{Capacity: &zero}); err != nil {
		t.Fatal(err)
	}
	var got []dirEntry
	s.call("solo", "GET", "/agents/directory", nil, http.StatusOK, &got)
	byName := map[string]dirEntry{}
	for _, e := range got {
		byName[e.Name] = e
	}
	if len(got) != 3 || len(byName) != 3 {
		t.Fatalf("directory: %+v; want boss, solo and 王芳 (li disabled, zhao at capacity 0, ed an editor)", got)
	}
	if w := byName["王芳"]; w.ID != s.ids["wang"] || !w.Online || !slices.Equal(w.Lanes, []string{"normal"}) {
		t.Errorf("wang: %+v", w)
	}
	if so := byName["solo"]; so.Online || so.ID != s.ids["solo"] {
		t.Errorf("solo: %+v", so)
	}
	if b := byName["boss"]; len(b.Lanes) != len(handoff.DefaultLanes()) {
		t.Errorf("admin lanes %v, want every lane", b.Lanes)
	}
	s.wantError("ed", "GET", "/agents/directory", nil, http.StatusForbidden, apierr.CodeForbidden)

	s = newServer(t, func(o *handoffapi.Options) { o.Accounts = nil })
	s.wantError("wang", "GET", "/agents/directory", nil, http.StatusServiceUnavailable, handoffapi.CodeNotConfigured)
	s = newServer(t) // no presence: everyone offline
	s.call("wang", "GET", "/agents/directory", nil, http.StatusOK, &got)
	for _, e := range got {
		if e.Online {
			t.Errorf("without presence %s is online", e.Name)
		}
	}
}

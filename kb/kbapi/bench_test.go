package kbapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbapi"
	"github.com/kefuhq/kefu/kb/kbtest"
	kbsqlite "github.com/kefuhq/kefu/kb/sqlitestore"
)

// BenchmarkList10k measures the article list of a 10,000-article
// knowledge base on the embedded store: a page of 50 with the categories
// (what the list page asks for) against the whole list (what it asked for
// before it had pages, twice).
func BenchmarkList10k(b *testing.B) {
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store, err := kbsqlite.New(db)
	if err != nil {
		b.Fatal(err)
	}
	ed, _ := kbtest.NewEditor(b, store)
	articles := make([]kb.Article, 10000)
	for i := range articles {
		articles[i] = kb.Article{ID: fmt.Sprintf("a-%05d", i), Question: fmt.Sprintf("第 %d 个问题怎么办", i),
			Similar: []string{fmt.Sprintf("问题 %d 的另一种问法", i)}, Answer: "您可以在设置中查看。",
			Category: fmt.Sprintf("分类%d", i%40), Kind: kb.KindFAQ, Status: kb.StatusPublished}
	}
	if _, err := ed.Seed(context.Background(), articles); err != nil {
		b.Fatal(err)
	}
	h, err := kbapi.New(kbapi.Options{Editor: ed, Logger: slog.New(slog.DiscardHandler),
		Router: func() *intents.Router { return nil }}) // the list asks no router
	if err != nil {
		b.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	h.Register(r.Group("/api/v1"))
	get := func(path string) {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			get("/api/v1/kb/articles?sort=-updated&limit=50&offset=5000")
			get("/api/v1/kb/categories")
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			get("/api/v1/kb/articles")
			get("/api/v1/kb/articles?status=published")
		}
	})
}

package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/kb/semantic/semantictest"
)

// TestSemanticWired checks that KEFU_EMBED_BASE_URL puts the semantic
// index in the bot's path: articles are embedded at start, questions are
// fused, and when the endpoint fails the bot still answers lexically.
func TestSemanticWired(t *testing.T) {
	fake := semantictest.NewServer(t, nil)
	cfg, err := config.Load("", false, []string{"KEFU_DATA_DIR=" + t.TempDir(), "KEFU_EMBED_BASE_URL=" + fake.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.semantic.Wait(wait); err != nil {
		t.Fatal(err)
	}
	if fake.Handler.Inputs() == 0 {
		t.Fatal("no article was embedded")
	}
	d := a.router.RouteContext(ctx, "怎么导出微信的账单")
	if d.Article == nil || d.Article.ID != "bill-export" {
		t.Errorf("with embeddings: %+v, want bill-export", d)
	}
	fake.Handler.SetStatus(500)
	d = a.router.RouteContext(ctx, "想导出一下账单") // a new question: its vector is not cached
	if d.Article == nil || d.Article.ID != "bill-export" {
		t.Errorf("endpoint down: %+v, want the lexical answer bill-export", d)
	}
	families, err := a.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "kefu_semantic_rerank_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				seen[l.GetValue()] = m.GetHistogram().GetSampleCount() > 0
			}
		}
	}
	for _, want := range []string{"fused", "error"} {
		if !seen[want] {
			t.Errorf("kefu_semantic_rerank_seconds has no %q sample (have %v)", want, seen)
		}
	}
}

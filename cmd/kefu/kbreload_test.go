package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
)

// reloadArticle is a new article that the default knowledge base cannot
// answer.
var reloadArticle = kb.Article{
	ID: "reload-parcel", Question: "包裹在海关被扣留了怎么办", Similar: []string{"快递被海关扣了", "海关扣件怎么处理"},
	Answer: "请联系承运快递公司办理清关手续。", Category: "测试", Kind: kb.KindFAQ, Status: kb.StatusDraft,
}

// TestPublishReachesInstances checks that a publish on one instance
// reaches the router of every running instance within a second, without
// a restart: one instance on the embedded store, two on one Redis.
func TestPublishReachesInstances(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		env := []string{"KEFU_DATA_DIR=" + t.TempDir()}
		a := startWatching(t, env)
		checkPublishReaches(t, a, a)
	})
	t.Run("redis", func(t *testing.T) {
		env := sharedEnv(t)
		publisher, other := startWatching(t, env), startWatching(t, env)
		checkPublishReaches(t, publisher, other)
	})
}

func startWatching(t *testing.T, env []string) *app {
	t.Helper()
	cfg, err := config.Load("", false, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.watchKB(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return a
}

func checkPublishReaches(t *testing.T, publisher, other *app) {
	t.Helper()
	ctx := context.Background()
	limit := time.Second
	if raceEnabled {
		limit = 5 * time.Second // the index trains ten times slower
	}
	const question = "快递被海关扣了该怎么办"
	if d := other.router.Route(question); d.Kind == intents.Answer && d.Article.ID == reloadArticle.ID {
		t.Fatalf("answered before the article exists: %+v", d)
	}
	if _, err := publisher.editor.Save(ctx, reloadArticle, "editor", "new"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a draft is not answered
	if d := other.router.Route(question); d.Article != nil && d.Article.ID == reloadArticle.ID {
		t.Fatalf("a draft was answered: %+v", d)
	}
	start := time.Now()
	if _, err := publisher.editor.Publish(ctx, []string{reloadArticle.ID}, "editor"); err != nil {
		t.Fatal(err)
	}
	for {
		d := other.router.Route(question)
		if d.Kind == intents.Answer && d.Article.ID == reloadArticle.ID {
			t.Logf("published article answered after %v", time.Since(start))
			break
		}
		if time.Since(start) > limit {
			t.Fatalf("%v after the publish the question still gets %+v", limit, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Rolling back to nothing is archiving: the article stops answering.
	if _, err := publisher.editor.Archive(ctx, []string{reloadArticle.ID}, "editor"); err != nil {
		t.Fatal(err)
	}
	for start = time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if d := other.router.Route(question); d.Article == nil || d.Article.ID != reloadArticle.ID {
			break
		}
		if time.Since(start) > limit {
			t.Fatalf("%v after the archive the article still answers", limit)
		}
	}
}

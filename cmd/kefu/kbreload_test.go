package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
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

// TestPublishLargeKB checks that a publish reaches users within a second
// on a knowledge base whose full index takes seconds to train (1,500
// articles, 9,000 questions): the patched index serves it meanwhile. It
// is slow under the race detector and without Redis, so make test runs it
// in the pass without the race detector, on Redis.
func TestPublishLargeKB(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("slow under -race; make test runs it without the race detector")
	}
	// Topics that overlap, as in a real FAQ: the classifier has work to do.
	r := rand.New(rand.NewPCG(1, 1))
	qualifiers := []string{"", "个人", "商户", "企业", "海外", "安卓", "苹果", "老年人"}
	subjects := []string{"账号", "支付", "红包", "零钱", "银行卡", "小程序", "订单", "退款", "发票", "会员", "积分", "快递",
		"密码", "好友", "聊天记录", "二维码", "提现", "实名认证", "登录", "转账"}
	actions := []string{"怎么开通", "怎么关闭", "无法使用", "被冻结了", "怎么找回", "多久到账", "失败了", "怎么设置", "怎么申请",
		"怎么查询", "被限制了", "显示异常", "怎么取消", "重复扣费"}
	frames := []string{"%s%s", "请问%s%s", "我的%s%s怎么办", "为什么%s%s", "%s一直%s", "%s%s该找谁", "问下%s%s"}
	var articles []kb.Article
	for i := range 1500 {
		q, s, a := qualifiers[r.IntN(len(qualifiers))], subjects[r.IntN(len(subjects))], actions[r.IntN(len(actions))]
		var qs []string
		for range 6 {
			qs = append(qs, fmt.Sprintf(frames[r.IntN(len(frames))], q+s, a))
		}
		articles = append(articles, kb.Article{ID: fmt.Sprintf("synth-%04d", i), Question: qs[0], Similar: qs[1:],
			Answer: "您可以在设置中查看。", Kind: kb.KindFAQ, Status: kb.StatusPublished})
	}
	data, err := json.Marshal(articles)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "large.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(sharedEnv(t), "KEFU_KB_FILE="+file)
	publisher := startWatching(t, env)
	start := time.Now()
	other := startWatching(t, env)
	if n := other.router.Index().Len(); n != len(articles) {
		t.Fatalf("%d articles served, want the %d of KEFU_KB_FILE", n, len(articles))
	}
	t.Logf("an instance starts (full index of %d articles) in %v", len(articles), time.Since(start))
	checkPublishReaches(t, publisher, other)
}

package intents

import (
	"context"
	"testing"

	"github.com/kefuhq/kefu/kb"
)

// fakeReranker puts one article first with a fixed score.
type fakeReranker struct {
	id    string
	score float64
	ix    *kb.Index
}

func (f *fakeReranker) Rerank(_ context.Context, _ string, lexical []kb.Match, k int) []kb.Match {
	a, _ := f.ix.Article(f.id)
	out := []kb.Match{{Article: a, Question: a.Question, Score: f.score}}
	for _, m := range lexical {
		if m.Article.ID != f.id {
			out = append(out, m)
		}
	}
	return out[:min(k, len(out))]
}

func TestRouterReranker(t *testing.T) {
	articles := []kb.Article{
		{ID: "bill", Question: "怎么导出账单", Similar: []string{"账单导出"}, Answer: "在钱包里导出。", Kind: kb.KindFAQ, Status: kb.StatusPublished},
		{ID: "stolen", Question: "账号被盗了怎么办", Similar: []string{"号被盗"}, Answer: "先冻结。", Kind: kb.KindFAQ,
			Status: kb.StatusPublished, Handoff: "emergency"},
	}
	ix := kb.NewIndex(articles)
	route := func(rr Reranker, text string) Decision {
		// An urgent threshold well above the classifier's share for
		// articles a question shares nothing with (large in a
		// two-article knowledge base).
		r, err := NewRouter(Options{Threshold: 0.3, UrgentThreshold: 0.2, Reranker: rr}, ix)
		if err != nil {
			t.Fatal(err)
		}
		return r.Match(text)
	}
	if d := route(nil, "流水怎么打印出来"); d.Kind != Fallback {
		t.Fatalf("lexical alone: %+v, want a fallback for the test to mean something", d)
	}
	if d := route(&fakeReranker{id: "bill", score: 0.8, ix: ix}, "流水怎么打印出来"); d.Kind != Answer || d.Article.ID != "bill" {
		t.Errorf("reranked: %+v, want the bill article answered", d)
	}
	// A semantic near miss on an urgent article (above the urgent
	// threshold, below the answer threshold) does not send the user to a
	// person: the lexical matches decide.
	if d := route(&fakeReranker{id: "stolen", score: 0.25, ix: ix}, "流水怎么打印出来"); d.Kind == Urgent {
		t.Errorf("weak semantic urgent match: %+v, want no handoff", d)
	}
	// A confident one does.
	if d := route(&fakeReranker{id: "stolen", score: 0.9, ix: ix}, "我的微信登不上了"); d.Kind != Urgent || d.Lane != "emergency" || d.Article == nil {
		t.Errorf("confident semantic urgent match: %+v, want a handoff with the article", d)
	}
}

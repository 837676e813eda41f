package kb

import (
	"slices"
	"testing"
)

// TestPatchedAnswersOnly: when only answers change, the patched index is
// complete and searches exactly as a full build does, with the new answers.
func TestPatchedAnswersOnly(t *testing.T) {
	articles := mustDefaultArticles(t)
	ix := NewIndex(articles)
	edited := slices.Clone(articles)
	edited[3].Answer = "新的答案"
	edited[5].AnswerEN, edited[5].Handoff = "New answer", "emergency"
	p, complete := ix.Patched(edited)
	if p == nil || !complete {
		t.Fatalf("Patched = %v, %v; want a complete index", p, complete)
	}
	full := NewIndex(edited)
	for _, q := range append(paraphraseQueries(), "今天午饭吃什么", "how do I report a scam") {
		got, want := p.Search(q, 5), full.Search(q, 5)
		if !sameMatches(got, want) {
			t.Errorf("Search(%q): patched %s, full %s", q, describe(got), describe(want))
		}
	}
	if a, ok := p.Article(edited[3].ID); !ok || a.Answer != "新的答案" {
		t.Errorf("Article(%s) = %+v, want the new answer", edited[3].ID, a)
	}
	if a, _ := ix.Article(edited[3].ID); a.Answer == "新的答案" {
		t.Error("patching changed the old index")
	}
}

// TestPatchedQuestions: a new similar question, a new article and a
// removed one are served at once; the rest matches as before.
func TestPatchedQuestions(t *testing.T) {
	articles := mustDefaultArticles(t)
	ix := NewIndex(articles)
	edited := slices.Clone(articles)
	edited[0].Similar = append(slices.Clone(edited[0].Similar), "你们的客服渠道有二维码吗")
	removed := edited[1].ID
	edited = slices.Delete(edited, 1, 2)
	edited = append(edited, Article{ID: "new-membership", Question: "会员积分怎么兑换礼品", Answer: "在积分商城兑换。",
		Kind: KindFAQ, Status: StatusPublished})
	p, complete := ix.Patched(edited)
	if p == nil || complete {
		t.Fatalf("Patched = %v, %v; want an incomplete index", p, complete)
	}
	if p.Len() != len(edited) {
		t.Errorf("Len = %d, want %d", p.Len(), len(edited))
	}
	for q, want := range map[string]string{
		"你们的客服渠道有二维码吗": edited[0].ID,
		"会员积分怎么兑换礼品":   "new-membership",
		"海外用户怎么联系客服":   "overseas-contact",
		"老年人怎么联系人工客服":  "elderly-hotline",
	} {
		ms := p.Search(q, 3)
		if len(ms) == 0 || ms[0].Article.ID != want || ms[0].Score < DefaultThreshold {
			t.Errorf("Search(%q) = %s, want %s first, answered", q, describe(ms), want)
		}
	}
	for _, q := range paraphraseQueries() {
		for _, m := range p.Search(q, 10) {
			if m.Article.ID == removed {
				t.Errorf("Search(%q) returns the removed article", q)
			}
		}
	}
	if _, ok := p.Article(removed); ok {
		t.Errorf("Article(%s) found a removed article", removed)
	}
	if a, ok := p.Article("new-membership"); !ok || a.Answer != "在积分商城兑换。" {
		t.Errorf("Article(new-membership) = %+v, %v", a, ok)
	}
	if p.Search("会员", 0) != nil || p.Search("？？", 3) != nil {
		t.Error("Search with k 0, or without indexable text, returns matches")
	}
	// A patched index is not patched again: the caller builds in full.
	if again, _ := p.Patched(edited); again != nil {
		t.Error("Patched of a patched index")
	}
}

// TestPatchedTooMany: past maxPatched changed articles there is no patch.
func TestPatchedTooMany(t *testing.T) {
	articles := synthKB(maxPatched+20, 1)
	ix := NewIndex(articles[:10])
	if p, _ := ix.Patched(articles); p != nil {
		t.Error("Patched with more than maxPatched new articles")
	}
}

func mustDefaultArticles(t *testing.T) []Article {
	t.Helper()
	articles, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return articles
}

func paraphraseQueries() []string {
	var qs []string
	for _, tt := range paraphrases {
		qs = append(qs, tt.query)
	}
	for _, tt := range englishQueries {
		qs = append(qs, tt.query)
	}
	return qs
}

func sameMatches(a, b []Match) bool {
	return slices.EqualFunc(a, b, func(x, y Match) bool {
		return x.Article.ID == y.Article.ID && x.Score == y.Score && x.Question == y.Question && x.Article.Answer == y.Article.Answer
	})
}

// TestPatchedConcurrent: the old index and a patched one share matching
// data; searching both at once is safe (run with -race).
func TestPatchedConcurrent(t *testing.T) {
	articles := mustDefaultArticles(t)
	ix := NewIndex(articles)
	edited := slices.Clone(articles)
	edited[0].Similar = append(slices.Clone(edited[0].Similar), "新的问法")
	p, _ := ix.Patched(edited)
	qs := paraphraseQueries()
	done := make(chan bool)
	for _, x := range []*Index{ix, p, ix, p} {
		go func() {
			for _, q := range qs {
				x.Search(q, 5)
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
}

// TestPatchedRemovalOnly: a publish that only takes articles out is
// patched without an overlay; every method works on it.
func TestPatchedRemovalOnly(t *testing.T) {
	articles := mustDefaultArticles(t)
	p, complete := NewIndex(articles).Patched(articles[1:])
	if p == nil || complete {
		t.Fatalf("Patched = %v, %v; want an incomplete index", p, complete)
	}
	if _, ok := p.Article(articles[0].ID); ok {
		t.Errorf("the removed article %s is found", articles[0].ID)
	}
	if _, ok := p.Article(articles[1].ID); !ok {
		t.Errorf("the kept article %s is not found", articles[1].ID)
	}
	if p.Len() != len(articles)-1 {
		t.Errorf("Len = %d, want %d", p.Len(), len(articles)-1)
	}
}

// TestPatchedOutOfScope: an out-of-scope article added, changed or
// removed changes every score, so there is no patch.
func TestPatchedOutOfScope(t *testing.T) {
	articles := mustDefaultArticles(t)
	oos := Article{ID: "not-ours", Question: "怎么学好英语", Similar: []string{"英语怎么学"}, Kind: KindOutOfScope, Status: StatusPublished}
	if p, _ := NewIndex(articles).Patched(append(slices.Clone(articles), oos)); p != nil {
		t.Error("Patched with a new out-of-scope article")
	}
	with := append(slices.Clone(articles), oos)
	if p, _ := NewIndex(with).Patched(articles); p != nil {
		t.Error("Patched with an out-of-scope article removed")
	}
	changed := slices.Clone(with)
	changed[len(changed)-1].Similar = []string{"学英语"}
	if p, _ := NewIndex(with).Patched(changed); p != nil {
		t.Error("Patched with an out-of-scope article changed")
	}
}

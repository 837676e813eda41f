package kb

import (
	"slices"
	"testing"
	"time"
)

// waitBuilt waits until l builds nothing.
func waitBuilt(t *testing.T, l *LiveIndex) {
	t.Helper()
	for start := time.Now(); l.Building(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatal("the background build never ended")
		}
	}
}

// TestLiveIndexLatestWins: sets in quick succession are each served at
// once, and the background builds end on the full index of the latest.
func TestLiveIndexLatestWins(t *testing.T) {
	base := synthKB(120, 1) // a build takes a while, a patch no time
	var served []*Index
	l := NewLiveIndex(NewIndex(base), func(ix *Index) { served = append(served, ix) })
	s1 := slices.Clone(base)
	s1[0].Similar = append(slices.Clone(s1[0].Similar), "第一次改动的问法")
	s2 := append(slices.Clone(s1), Article{ID: "new", Question: "会员积分怎么兑换礼品", Answer: "积分商城。", Kind: KindFAQ, Status: StatusPublished})
	s3 := slices.Delete(slices.Clone(s2), 1, 2)
	for _, set := range [][]Article{s1, s2, s3} {
		l.Update(set)
		if ix, approximate := l.Current(); ix.Len() != len(set) || !approximate {
			t.Errorf("served %d articles (approximate %v), want the %d of the set at once, approximate", ix.Len(), approximate, len(set))
		}
	}
	waitBuilt(t, l)
	ix, approximate := l.Current()
	if approximate || ix.patch != nil || ix.Len() != len(s3) {
		t.Fatalf("after the builds: %d articles, approximate %v; want the full index of the last set", ix.Len(), approximate)
	}
	if _, ok := ix.Article(base[1].ID); ok {
		t.Errorf("%s, removed by the last set, is served", base[1].ID)
	}
	if ms := ix.Search("会员积分怎么兑换礼品", 1); len(ms) == 0 || ms[0].Article.ID != "new" {
		t.Errorf("the new article is not found: %s", describe(ms))
	}
	if served[len(served)-1] != ix {
		t.Error("serve was not told of the last index")
	}
}

// TestLiveIndexOvertaken: a set served complete while an older set's
// build runs is not replaced by that older build.
func TestLiveIndexOvertaken(t *testing.T) {
	base := synthKB(120, 2)
	l := NewLiveIndex(NewIndex(base), nil)
	s1 := slices.Clone(base)
	s1[0].Similar = append(slices.Clone(s1[0].Similar), "要重建的问法") // needs a build
	l.Update(s1)
	s2 := slices.Clone(base) // back to the base's questions, a new answer: complete at once
	s2[0].Answer = "最新的答案"
	l.Update(s2)
	waitBuilt(t, l)
	ix, approximate := l.Current()
	a, ok := ix.Article(base[0].ID)
	if !ok || a.Answer != "最新的答案" || approximate || slices.Contains(a.Similar, "要重建的问法") {
		t.Errorf("after the older build: %+v, approximate %v; want the last set", a, approximate)
	}
}

// TestLiveIndexFirstUpdate: without an index, the first set is built
// whole before Update returns.
func TestLiveIndexFirstUpdate(t *testing.T) {
	l := NewLiveIndex(nil, nil)
	if ix, _ := l.Current(); ix != nil {
		t.Fatal("an index before the first set")
	}
	l.Update(mustDefaultArticles(t))
	if ix, approximate := l.Current(); ix == nil || approximate || l.Building() {
		t.Errorf("after the first set: %v, approximate %v, building %v", ix, approximate, l.Building())
	}
}

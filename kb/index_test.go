package kb

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
)

func testArticles() []Article {
	return []Article{
		{ID: "freeze", Title: "紧急冻结", Question: "紧急冻结怎么操作?", Similar: []string{"手机丢了怎么冻结微信", "How do I freeze my account?"},
			Answer: "输入紧急冻结", AnswerEN: "Send 紧急冻结", Kind: KindFAQ, Status: StatusPublished},
		{ID: "bill", Title: "账单导出", Question: "怎么导出账单?", Similar: []string{"我想下载交易记录"},
			Answer: "使用账单导出工具", Kind: KindFAQ, Status: StatusPublished},
		{ID: "draft", Question: "草稿问题怎么导出", Answer: "x", Kind: KindFAQ, Status: StatusDraft},
		{ID: "old", Question: "旧问题怎么冻结", Answer: "x", Kind: KindFAQ, Status: StatusArchived},
		{ID: "bill", Question: "重复的账单文章", Answer: "dup", Kind: KindFAQ, Status: StatusPublished},
	}
}

func TestNewIndex(t *testing.T) {
	articles := testArticles()
	ix := NewIndex(articles)
	if got := ix.Len(); got != 2 {
		t.Errorf("Len = %d, want 2 (drafts, archived and duplicates skipped)", got)
	}
	for _, tt := range []struct {
		name   string
		id     string
		ok     bool
		answer string
	}{
		{"Published", "freeze", true, "输入紧急冻结"},
		{"FirstOfDuplicates", "bill", true, "使用账单导出工具"},
		{"Draft", "draft", false, ""},
		{"Archived", "old", false, ""},
		{"Unknown", "nope", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := ix.Article(tt.id)
			if ok != tt.ok || ok && a.Answer != tt.answer {
				t.Errorf("Article(%q) = %v, %v; want answer %q, %v", tt.id, a, ok, tt.answer, tt.ok)
			}
		})
	}
	for _, m := range ix.Search("草稿问题怎么导出", 10) {
		if m.Article.Status != StatusPublished {
			t.Errorf("Search returned unpublished article %s", m.Article.ID)
		}
	}

	// The index keeps its own copy.
	articles[0].Similar[0] = "changed"
	articles[0].Answer = "changed"
	a, _ := ix.Article("freeze")
	if a.Similar[0] == "changed" || a.Answer == "changed" {
		t.Error("index shares memory with the caller's articles")
	}
}

func TestSearchNil(t *testing.T) {
	ix := NewIndex(testArticles())
	tests := []struct {
		name  string
		query string
		k     int
	}{
		{"Empty", "", 3},
		{"Spaces", " \t\n　", 3},
		{"Punctuation", "?!。,…", 3},
		{"FunctionWordsOnly", "怎么办呢?", 3},
		{"Unrelated", "红烧肉", 3},
		{"ZeroK", "紧急冻结", 0},
		{"NegativeK", "紧急冻结", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ix.Search(tt.query, tt.k); got != nil {
				t.Errorf("Search(%q, %d) = %v, want nil", tt.query, tt.k, got)
			}
		})
	}
	if got := NewIndex(nil).Search("紧急冻结", 3); got != nil {
		t.Errorf("empty index: Search = %v, want nil", got)
	}
}

func TestSearch(t *testing.T) {
	ix := NewIndex(testArticles())
	tests := []struct {
		name, query, want, question string
	}{
		{"Standard", "紧急冻结怎么操作?", "freeze", "紧急冻结怎么操作?"},
		{"Similar", "我想下载交易记录", "bill", "我想下载交易记录"},
		{"Paraphrase", "手机掉了,冻结微信", "freeze", "手机丢了怎么冻结微信"},
		{"FullWidthAndCase", "ＨＯＷ do I FREEZE my account", "freeze", "How do I freeze my account?"},
		{"Traditional", "怎麼導出帳單", "bill", "怎么导出账单?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := ix.Search(tt.query, 2)
			if len(ms) == 0 || ms[0].Article.ID != tt.want || ms[0].Question != tt.question {
				t.Fatalf("Search(%q) = %+v, want %s via %q", tt.query, ms, tt.want, tt.question)
			}
			if ms[0].Score < DefaultThreshold || ms[0].Score > 1 {
				t.Errorf("Search(%q) score %.3f, want in [%.2f, 1]", tt.query, ms[0].Score, DefaultThreshold)
			}
		})
	}
}

// TestSearchOutOfScope checks that an out-of-scope article is never
// returned nor looked up, and that a question like its examples loses the
// score it would have had.
func TestSearchOutOfScope(t *testing.T) {
	notOurs := Article{ID: "not-ours", Question: "怎么导出微信好友", Similar: []string{"明天会下雨吗", "How do I export my WeChat friends?"},
		Answer: "好友导出、天气不是客服范围", Kind: KindOutOfScope, Status: StatusPublished}
	plain := NewIndex(testArticles())
	ix := NewIndex(append(testArticles(), notOurs))
	if _, ok := ix.Article("not-ours"); ok {
		t.Error(`Article("not-ours") found an out-of-scope article`)
	}
	for _, q := range []string{"怎么导出微信好友列表", "明天会下雨吗", "export my WeChat friends", "紧急冻结怎么操作?", "我想下载交易记录"} {
		ms := ix.Search(q, 10)
		for _, m := range ms {
			if m.Article.Kind == KindOutOfScope {
				t.Errorf("Search(%q) returned out-of-scope article %s", q, m.Article.ID)
			}
		}
	}
	// Questions like the out-of-scope examples: the bill article, which
	// shares 怎么导出 with the first, falls below the threshold and below
	// its score without them.
	for _, q := range []string{"怎么导出微信好友列表", "How can I export my WeChat friends", "export my WeChat friends"} {
		before, after := plain.Search(q, 1), ix.Search(q, 1)
		if len(before) == 0 {
			t.Fatalf("Search(%q) without the out-of-scope article found nothing", q)
		}
		if len(after) > 0 && (after[0].Score >= DefaultThreshold || after[0].Score >= before[0].Score) {
			t.Errorf("Search(%q) = %s %.3f, want below %.2f and below %.3f", q, after[0].Article.ID, after[0].Score, DefaultThreshold, before[0].Score)
		}
	}
	// Answerable questions keep their answer.
	for _, q := range []string{"紧急冻结怎么操作?", "怎么导出账单?"} {
		if ms := ix.Search(q, 1); len(ms) == 0 || ms[0].Score < DefaultThreshold {
			t.Errorf("Search(%q) = %+v, want an answer", q, ms)
		}
	}
}

func TestSearchExactQuestionScoresHigh(t *testing.T) {
	ix := mustDefaultIndex(t)
	articles, _ := Default()
	for _, a := range articles {
		ms := ix.Search(a.Question, 1)
		if len(ms) == 0 || ms[0].Article.ID != a.ID || ms[0].Question != a.Question {
			t.Errorf("Search(%q) = %+v, want %s", a.Question, ms, a.ID)
			continue
		}
		if ms[0].Score < 0.5 {
			t.Errorf("Search(%q) score %.3f, want at least 0.5 for a standard question", a.Question, ms[0].Score)
		}
	}
}

func TestSearchK(t *testing.T) {
	ix := NewIndex(synthKB(300, 7))
	for _, k := range []int{1, 2, 5, 32, 33, 100, 1000} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			ms := ix.Search("请问微信账号被冻结了怎么办", k)
			if len(ms) == 0 || len(ms) > k {
				t.Fatalf("Search returned %d matches, want 1 to %d", len(ms), k)
			}
			checkMatches(t, ms)
			all := ix.Search("请问微信账号被冻结了怎么办", ix.Len())
			for i := range ms {
				if ms[i].Article != all[i].Article || ms[i].Score != all[i].Score {
					t.Fatalf("top %d differs from the full ranking at %d", k, i)
				}
			}
		})
	}
}

// TestSearchMatchesReference compares Search, on a knowledge base large
// enough to take both the sparse and the dense path, with a direct
// computation of the same scores.
func TestSearchMatchesReference(t *testing.T) {
	articles := synthKB(400, 11)
	articles = append(articles, testArticles()[:2]...)
	ix := NewIndex(articles)
	ref := newReference(ix)
	queries := append(synthQueries(60, 12), "How do I freeze my account", "交易记录", "二维码", "亲属卡怎么开通", "急")
	for _, q := range queries {
		got := ix.Search(q, 5)
		want := ref.search(q, 5)
		if len(got) != len(want) {
			t.Fatalf("Search(%q): %d matches, reference %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Article.ID != want[i].id && math.Abs(got[i].Score-want[i].score) > 1e-5 {
				t.Errorf("Search(%q)[%d] = %s %.6f, reference %s %.6f", q, i, got[i].Article.ID, got[i].Score, want[i].id, want[i].score)
			}
			if math.Abs(got[i].Score-want[i].score) > 1e-4 {
				t.Errorf("Search(%q)[%d] score %.6f, reference %.6f", q, i, got[i].Score, want[i].score)
			}
		}
	}
}

type refMatch struct {
	id         string
	score, sig float64
	p          float64 // the classifier's probability
	a          int     // the article's position
}

// reference scores articles the slow way, from the index's term weights.
type reference struct {
	ix  *Index
	vec []map[int32]float64 // question → unit vector
}

func newReference(ix *Index) *reference {
	r := &reference{ix: ix}
	var an analyzer
	for _, q := range ix.questions {
		v, _ := r.vector(&an, q)
		r.vec = append(r.vec, v)
	}
	return r
}

// vector returns the unit vector of text over known terms, and its norm
// counting unknown terms too.
func (r *reference) vector(an *analyzer, text string) (map[int32]float64, float64) {
	tf := make(map[term]int)
	for _, t := range an.analyze(text) {
		tf[t]++
	}
	v := make(map[int32]float64)
	var n2 float64
	for t, n := range tf {
		w := tfWeight(int32(n))
		if id, ok := r.ix.termIDs[t.h]; ok {
			w *= float64(r.ix.termW[id])
			v[id] = w
		} else {
			w *= float64(r.ix.unknownW[t.k])
		}
		n2 += w * w
	}
	norm := math.Sqrt(n2)
	for id := range v {
		v[id] /= norm
	}
	return v, norm
}

// probabilities computes the classifier's probability of every article
// the slow way: a dense logit for each, and a softmax over all of them.
// It also returns the one-vs-rest sigmoid of the articles that share a
// weighted feature with the query (the others are not in the map). With
// erased at least 0, the occurrences of features made from that unit of
// the query are left out, and the vector keeps the whole query's norm.
func (r *reference) probabilities(query string, erased int) (probs, sigs []float64, touched map[int]float64) {
	c := r.ix.cls
	if c == nil {
		return nil, nil, nil
	}
	var fz featurizer
	count, covered := map[uint64]int{}, map[uint64]int{}
	for _, o := range fz.features(query) {
		count[o.h]++
		if erased >= 0 && slices.Contains(o.sp.appendUnits(nil), uint16(erased)) {
			covered[o.h]++
		}
	}
	var n2 float64
	x := map[int32]float64{}
	for h, n := range count {
		id, ok := c.featIDs[h]
		w := float64(c.unknown)
		if ok {
			w = float64(c.idf[id])
			if left := n - covered[h]; left > 0 {
				x[id] = tfWeight(int32(left)) * w
			}
		}
		n2 += tfWeight(int32(n)) * w * tfWeight(int32(n)) * w
	}
	logits := make([]float64, c.classes)
	ovr := make([]float64, c.classes)
	touched = map[int]float64{}
	for id, v := range x {
		v /= math.Sqrt(n2)
		for k := c.postStart[id]; k < c.postStart[id+1]; k++ {
			logits[c.postA[k]] += v * float64(c.postW[k])
			ovr[c.postA[k]] += v * float64(c.ovrW[k])
			touched[int(c.postA[k])] = 0
		}
	}
	sigs = make([]float64, c.classes)
	for a := range sigs {
		sigs[a] = 1 / (1 + math.Exp(-ovr[a]-float64(c.ovrBias[a])))
	}
	for a := range touched {
		touched[a] = sigs[a]
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(l)
	}
	for a, l := range logits {
		logits[a] = math.Exp(l) / z
	}
	return logits, sigs, touched
}

func (r *reference) search(query string, k int) []refMatch {
	var an analyzer
	qv, _ := r.vector(&an, query)
	if len(qv) == 0 {
		return nil
	}
	dot := func(a, b map[int32]float64) float64 {
		var s float64
		for id, w := range a {
			s += w * b[id]
		}
		return s
	}
	lang := langOf(query)
	probs, _, touched := r.probabilities(query, -1)
	var out []refMatch
	for a := range r.ix.articles {
		best := 0.0
		centroid := make(map[int32]float64)
		for q := r.ix.aStart[a]; q < r.ix.aStart[a+1]; q++ {
			best = max(best, dot(qv, r.vec[q]))
			if r.ix.qLang[q] == lang {
				for id, w := range r.vec[q] {
					centroid[id] += w
				}
			}
		}
		sig, isTouched := touched[a]
		if best == 0 && !isTouched {
			continue
		}
		var cn float64
		for _, w := range centroid {
			cn += w * w
		}
		c := 0.0
		if cn > 0 {
			c = dot(qv, centroid) / math.Sqrt(cn)
		}
		lambda := float64(r.ix.centroid)
		score := (1-lambda)*best + lambda*c
		if r.ix.cls != nil {
			w := float64(r.ix.clsWeight)
			score = (1-w)*score + w*probs[a]
		}
		out = append(out, refMatch{r.ix.articles[a].ID, score, sig, probs[a], a})
	}
	slices.SortStableFunc(out, func(x, y refMatch) int { return cmp.Compare(y.score, x.score) })
	if r.ix.cls != nil && r.ix.erasure > 0 {
		r.erase(query, out[:min(erasurePool, len(out))])
		slices.SortStableFunc(out, func(x, y refMatch) int {
			return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(x.a, y.a))
		})
	}
	out = out[:min(k, len(out))]
	if len(out) > 0 && r.ix.cls != nil {
		shift := float64(r.ix.ovrShare) * (out[0].sig - out[0].score)
		for i := range out {
			out[i].score = min(max(out[i].score+shift, 0), 1)
		}
	}
	return out
}

// erase moves the classifier's part of each match's score towards the
// least it takes with one unit of the query left out, each unit in turn.
func (r *reference) erase(query string, ms []refMatch) {
	var fz featurizer
	fz.features(query)
	units := int(fz.units)
	if units < minErasureUnits {
		return
	}
	pmin, smin := make([]float64, len(ms)), make([]float64, len(ms))
	for i, m := range ms {
		pmin[i], smin[i] = m.p, m.sig
	}
	for u := range units {
		probs, sigs, _ := r.probabilities(query, u)
		for i, m := range ms {
			pmin[i] = min(pmin[i], probs[m.a])
			smin[i] = min(smin[i], sigs[m.a])
		}
	}
	lambda, w := float64(r.ix.erasure), float64(r.ix.clsWeight)
	for i := range ms {
		ms[i].score -= w * lambda * (ms[i].p - pmin[i])
		ms[i].sig -= lambda * (ms[i].sig - smin[i])
	}
}

func TestSearchConcurrent(t *testing.T) {
	ix := NewIndex(synthKB(500, 5))
	queries := synthQueries(50, 6)
	want := make([][]Match, len(queries))
	for i, q := range queries {
		want[i] = ix.Search(q, 3)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 5; rep++ {
				for i, q := range queries {
					got := ix.Search(q, 3)
					if len(got) != len(want[i]) {
						t.Errorf("concurrent Search(%q) differs", q)
						return
					}
					for j := range got {
						if got[j] != want[i][j] {
							t.Errorf("concurrent Search(%q)[%d] = %+v, want %+v", q, j, got[j], want[i][j])
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestDetectEnglish(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"How do I contact support?", true},
		{"my account is frozen", true},
		{"ＨＥＬＬＯ", true},
		{"hi", true},
		{"Ça ne marche pas", true},
		{"人工客服怎么找", false},
		{"我的wechat账号被封了", false},
		{"my 微信 account is blocked", true},
		{"微信 wechat pay 怎么退款", false},
		{"a", false},
		{"12345", false},
		{"", false},
		{"?!", false},
		{"Привет как дела", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := DetectEnglish(tt.text); got != tt.want {
				t.Errorf("DetectEnglish(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestAnalyzeFolds(t *testing.T) {
	tests := []struct {
		name, a, b string
	}{
		{"FullWidth", "ＡＢＣ１２３", "abc123"},
		{"Case", "WeChat Pay", "wechat pay"},
		{"Traditional", "帳號凍結了怎麼辦", "账号冻结了怎么办"},
		{"IdeographicSpace", "人工　客服", "人工 客服"},
		{"Punctuation", "客服?!", "客服"},
		{"Apostrophe", "don't", "dont"},
		{"Plural", "accounts", "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var an analyzer
			a := slices.Clone(an.analyze(tt.a))
			b := an.analyze(tt.b)
			if !slices.Equal(a, b) || len(a) == 0 {
				t.Errorf("analyze(%q) = %v, analyze(%q) = %v; want equal and non-empty", tt.a, a, tt.b, b)
			}
		})
	}
}

func checkMatches(t *testing.T, ms []Match) {
	t.Helper()
	seen := make(map[string]bool)
	for i, m := range ms {
		if m.Article == nil {
			t.Fatalf("match %d has no article", i)
		}
		if seen[m.Article.ID] {
			t.Errorf("article %s returned twice", m.Article.ID)
		}
		seen[m.Article.ID] = true
		if !(m.Score >= 0 && m.Score <= 1) {
			t.Errorf("match %d score %v out of [0, 1]", i, m.Score)
		}
		if i > 0 && m.Score > ms[i-1].Score {
			t.Errorf("matches not sorted: %v after %v", m.Score, ms[i-1].Score)
		}
		if m.Question != m.Article.Title && !slices.Contains(m.Article.Questions(), m.Question) {
			t.Errorf("match %d question %q is not a question of %s", i, m.Question, m.Article.ID)
		}
	}
}

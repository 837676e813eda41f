package semantic_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/semantic"
	"github.com/kefuhq/kefu/kb/semantic/semantictest"
)

// synonyms teach the fake what a model knows and the lexical matcher does
// not: these phrasings mean a refund.
var synonyms = map[string]string{"钱能退回": "退款", "把钱还给我": "退款", "get my money back": "request a refund"}

func testArticles() []kb.Article {
	return []kb.Article{
		{ID: "refund", Title: "退款", Question: "如何申请退款", Similar: []string{"退款怎么操作", "我要退款", "how do I request a refund"},
			Answer: "在订单页申请退款。", Kind: kb.KindFAQ, Status: kb.StatusPublished},
		{ID: "balance", Title: "余额", Question: "怎么查看账户余额", Similar: []string{"账户里还有多少钱", "余额在哪里看", "how much money is left in my account"},
			Answer: "在我的账户查看余额。", Kind: kb.KindFAQ, Status: kb.StatusPublished},
		{ID: "password", Title: "密码", Question: "忘记密码怎么办", Similar: []string{"密码找不回来"},
			Answer: "点击忘记密码重置。", Kind: kb.KindFAQ, Status: kb.StatusPublished},
		{ID: "draft", Question: "草稿问题", Answer: "不回答", Kind: kb.KindFAQ, Status: kb.StatusDraft},
	}
}

// texts lists the distinct texts of the published articles.
func texts(articles []kb.Article) []string {
	var out []string
	for _, a := range articles {
		if a.Status != kb.StatusPublished {
			continue
		}
		for _, q := range append(a.Questions(), a.Title) {
			if q != "" && !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	return out
}

type fixture struct {
	srv *semantictest.Server
	ix  *semantic.Index
}

func newFixture(tb testing.TB, opts semantic.Options) fixture {
	tb.Helper()
	srv := semantictest.NewServer(tb, &semantictest.Handler{Synonyms: synonyms})
	if opts.Embedder == nil {
		opts.Embedder = mustOpenAI(tb, semantic.Config{BaseURL: srv.BaseURL(), Timeout: 5 * time.Second})
	}
	return fixture{srv: srv, ix: mustIndex(tb, opts)}
}

func mustIndex(tb testing.TB, opts semantic.Options) *semantic.Index {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ix, err := semantic.NewIndex(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ix.Close() })
	return ix
}

func mustBuild(tb testing.TB, ix *semantic.Index, articles []kb.Article) {
	tb.Helper()
	if err := ix.Build(context.Background(), articles); err != nil {
		tb.Fatal(err)
	}
}

func ids(ms []kb.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Article.ID
	}
	return out
}

func TestBuildEmbedsEachTextOnce(t *testing.T) {
	f := newFixture(t, semantic.Options{})
	articles := testArticles()
	mustBuild(t, f.ix, articles)
	first := texts(articles)
	if got := f.srv.Inputs(); got != len(first) {
		t.Errorf("first build embedded %d texts, want %d", got, len(first))
	}
	if st := f.ix.Stats(); st.Articles != 3 || st.Vectors != len(first) || st.Pending != 0 {
		t.Errorf("stats = %+v, want 3 articles, %d vectors, none pending", st, len(first))
	}

	// Republish: one similar question added, one article archived.
	articles[0].Similar = append(articles[0].Similar, "退款多久到账")
	articles[2].Status = kb.StatusArchived
	mustBuild(t, f.ix, articles)
	if got := f.srv.Inputs(); got != len(first)+1 {
		t.Errorf("after the republish %d texts were embedded, want %d (only the new one)", got, len(first)+1)
	}
	for _, q := range texts(testArticles()) {
		if n := f.srv.Seen(q); n != 1 {
			t.Errorf("%q embedded %d times", q, n)
		}
	}
	if st := f.ix.Stats(); st.Articles != 2 {
		t.Errorf("stats = %+v, want the 2 published articles", st)
	}
}

func TestCacheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "embeddings.cache")
	f := newFixture(t, semantic.Options{CacheFile: path})
	articles := testArticles()
	mustBuild(t, f.ix, articles)
	f.ix.Close()

	// A crash while appending leaves a torn record; it is dropped.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte("torn"))
	fh.Close()

	before := f.srv.Inputs()
	ix := mustIndex(t, semantic.Options{CacheFile: path,
		Embedder: mustOpenAI(t, semantic.Config{BaseURL: f.srv.BaseURL()})})
	mustBuild(t, ix, articles)
	if got := f.srv.Inputs() - before; got != 0 {
		t.Errorf("a restart embedded %d texts, want 0", got)
	}
	if st := ix.Stats(); st.Vectors != len(texts(articles)) {
		t.Errorf("stats after restart = %+v", st)
	}

	// Another model: nothing is reused.
	ix = mustIndex(t, semantic.Options{CacheFile: path,
		Embedder: mustOpenAI(t, semantic.Config{BaseURL: f.srv.BaseURL(), Model: "other"})})
	mustBuild(t, ix, articles)
	if got := f.srv.Inputs() - before; got != len(texts(articles)) {
		t.Errorf("another model embedded %d texts, want all %d", got, len(texts(articles)))
	}

	// A file that is not a cache is started afresh, and then kept.
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{len(texts(articles)), 0} {
		before := f.srv.Inputs()
		ix := mustIndex(t, semantic.Options{CacheFile: path,
			Embedder: mustOpenAI(t, semantic.Config{BaseURL: f.srv.BaseURL()})})
		mustBuild(t, ix, articles)
		if got := f.srv.Inputs() - before; got != want {
			t.Errorf("start %d after a bad file embedded %d texts, want %d", i+1, got, want)
		}
	}
}

func TestRerankImproves(t *testing.T) {
	articles := testArticles()
	lexIx := kb.NewIndex(articles)
	f := newFixture(t, semantic.Options{})
	mustBuild(t, f.ix, articles)
	tests := []struct {
		name, query, want string
	}{
		{"Paraphrase", "我的钱能退回账户吗", "refund"},
		{"English", "can I get my money back", "refund"},
		{"LexicalRight", "忘记密码了", "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lexical := lexIx.Search(tt.query, 20)
			got := f.ix.Rerank(context.Background(), tt.query, lexical, 5)
			if len(got) == 0 || got[0].Article.ID != tt.want {
				t.Errorf("Rerank(%q) = %v, want %s first (lexical: %v)", tt.query, ids(got), tt.want, ids(lexical))
			}
			if tt.name != "LexicalRight" && len(lexical) > 0 && lexical[0].Article.ID == tt.want {
				t.Errorf("lexical search already answers %q: not a case for semantic matching", tt.query)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score || got[i].Score < 0 || got[i].Score > 1 {
					t.Errorf("scores out of order or range: %v", got)
				}
			}
		})
	}
	if st := f.ix.Stats(); st.Requests != 3 || st.Fallbacks != 0 {
		t.Errorf("stats = %+v, want 3 requests without fallback", st)
	}
}

func TestRerankFusion(t *testing.T) {
	f := newFixture(t, semantic.Options{Weight: 0.5, Floor: 0.3})
	articles := testArticles()
	mustBuild(t, f.ix, articles)
	lexIx := kb.NewIndex(articles)
	refund, _ := lexIx.Article("refund")
	password, _ := lexIx.Article("password")

	// The exact question: cosine 1, semantic score 1.
	lexical := []kb.Match{{Article: password, Question: "忘记密码怎么办", Score: 0.4}, {Article: refund, Question: "如何申请退款", Score: 0.2}}
	got := f.ix.Rerank(context.Background(), "如何申请退款", lexical, 1)
	if len(got) != 1 || got[0].Article != refund || got[0].Question != "如何申请退款" {
		t.Fatalf("Rerank = %+v, want the lexical refund match first", got)
	}
	if want := 0.5*0.2 + 0.5*1; abs(got[0].Score-want) > 1e-4 {
		t.Errorf("fused score = %g, want %g", got[0].Score, want)
	}

	// Nothing lexical: the semantic match comes in with its own question.
	got = f.ix.Rerank(context.Background(), "我要退款", nil, 3)
	if len(got) == 0 || got[0].Article.ID != "refund" || got[0].Question != "我要退款" || abs(got[0].Score-0.5) > 1e-4 {
		t.Errorf("Rerank without lexical matches = %+v, want refund at 0.5", got)
	}
	if got := f.ix.Rerank(context.Background(), "  ", lexical, 1); len(got) != 1 || got[0] != lexical[0] {
		t.Errorf("Rerank of a blank question = %+v, want the lexical matches", got)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestRerankFallback(t *testing.T) {
	articles := testArticles()
	lexIx := kb.NewIndex(articles)
	const query = "我的钱能退回账户吗"
	lexical := lexIx.Search(query, 20)
	tests := []struct {
		name     string
		notBuilt bool
		status   int
		delay    time.Duration
		ctx      time.Duration // the caller's deadline; 0: none
		want     semantic.Outcome
	}{
		{name: "NotReady", notBuilt: true, want: semantic.OutcomeNotReady},
		{name: "ErrServer", status: http.StatusInternalServerError, want: semantic.OutcomeError},
		{name: "ErrUnauthorized", status: http.StatusUnauthorized, want: semantic.OutcomeError},
		{name: "QueryTimeout", delay: 10 * time.Second, want: semantic.OutcomeTimeout},
		{name: "CallerDeadline", delay: 10 * time.Second, ctx: 50 * time.Millisecond, want: semantic.OutcomeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var outcome semantic.Outcome
			f := newFixture(t, semantic.Options{QueryTimeout: 150 * time.Millisecond,
				Observe: func(o semantic.Outcome, _ time.Duration) { outcome = o }})
			if !tt.notBuilt {
				mustBuild(t, f.ix, articles)
			}
			f.srv.SetStatus(tt.status)
			f.srv.SetDelay(tt.delay)
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			got := f.ix.Rerank(ctx, query, lexical, 5)
			if d := time.Since(start); d > time.Second {
				t.Errorf("Rerank took %v, past its deadline", d)
			}
			if !slices.Equal(ids(got), ids(lexical[:min(5, len(lexical))])) {
				t.Errorf("Rerank = %v, want the lexical matches %v", ids(got), ids(lexical))
			}
			if outcome != tt.want {
				t.Errorf("outcome = %q, want %q", outcome, tt.want)
			}
			st := f.ix.Stats()
			if st.Requests != 1 || st.Fallbacks != 1 || (st.Errors == 1) != (tt.want != semantic.OutcomeNotReady) {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// signalEmbedder reports the outcome of every call.
type signalEmbedder struct {
	semantic.Embedder
	calls chan error
}

func (e signalEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, err := e.Embedder.Embed(ctx, texts)
	select {
	case e.calls <- err:
	default:
	}
	return v, err
}

func TestUpdateRetries(t *testing.T) {
	srv := semantictest.NewServer(t, nil)
	e := signalEmbedder{mustOpenAI(t, semantic.Config{BaseURL: srv.BaseURL()}), make(chan error, 1)}
	ix := mustIndex(t, semantic.Options{Embedder: e, Retry: time.Millisecond})
	srv.SetStatus(http.StatusServiceUnavailable)
	ix.Update(testArticles())
	if err := <-e.calls; err == nil {
		t.Fatal("the first build succeeded against a failing endpoint")
	}
	if got := ix.Rerank(context.Background(), "我要退款", nil, 5); len(got) != 0 {
		t.Errorf("Rerank before any vector = %v, want the (empty) lexical matches", ids(got))
	}
	srv.SetStatus(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ix.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ix.Rerank(context.Background(), "我要退款", nil, 5); len(got) == 0 || got[0].Article.ID != "refund" {
		t.Errorf("Rerank after the retry = %v, want refund", ids(got))
	}
	if st := ix.Stats(); st.BuildErrors == 0 || st.Pending != 0 {
		t.Errorf("stats = %+v, want build errors counted and nothing pending", st)
	}
	ix.Close()
	if err := ix.Wait(ctx); err != semantic.ErrClosed {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
}

// TestUpdateDropsArchived checks that an archived article leaves at once,
// while the endpoint is down and nothing can be embedded.
func TestUpdateDropsArchived(t *testing.T) {
	f := newFixture(t, semantic.Options{})
	articles := testArticles()
	mustBuild(t, f.ix, articles)
	const query = "如何申请退款"
	if got := f.ix.Rerank(context.Background(), query, nil, 5); len(got) == 0 || got[0].Article.ID != "refund" {
		t.Fatalf("Rerank = %v, want refund", ids(got))
	} // its vector is cached from now on
	f.srv.SetStatus(http.StatusServiceUnavailable)
	articles[0].Status = kb.StatusArchived
	articles[1].Similar = append(articles[1].Similar, "钱包余额")
	f.ix.Update(articles)
	for _, m := range f.ix.Rerank(context.Background(), query, nil, 5) {
		if m.Article.ID == "refund" {
			t.Errorf("archived article matched: %+v", m)
		}
	}
	if st := f.ix.Stats(); st.Articles != 2 || st.Pending != 1 || st.Fallbacks != 0 {
		t.Errorf("stats = %+v, want 2 articles, 1 text pending, no fallback", st)
	}
}

// TestConcurrent reranks while the articles are republished.
func TestConcurrent(t *testing.T) {
	f := newFixture(t, semantic.Options{})
	articles := testArticles()
	lexIx := kb.NewIndex(articles)
	f.ix.Update(articles)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				q := []string{"我要退款", "余额在哪里看", "忘记密码了", "can I get my money back"}[(g+i)%4]
				got := f.ix.Rerank(context.Background(), q, lexIx.Search(q, 20), 3)
				if len(got) > 3 {
					t.Errorf("Rerank returned %d matches", len(got))
				}
			}
		})
	}
	for i := range 5 {
		next := testArticles()
		next[1].Similar = append(next[1].Similar, "余额"+string(rune('a'+i)))
		f.ix.Update(next)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.ix.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := f.ix.Stats(); st.Requests != 80 || st.Articles != 3 {
		t.Errorf("stats = %+v", st)
	}
}

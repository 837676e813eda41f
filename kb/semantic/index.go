package semantic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kefuhq/kefu/kb"
)

// Defaults of Options.
const (
	DefaultWeight       = 0.5
	DefaultFloor        = 0.3
	DefaultQueryTimeout = 800 * time.Millisecond
	DefaultCacheSize    = 100_000
	DefaultRetry        = 30 * time.Second
)

// maxRetry bounds the delay between attempts of a failing background build.
const maxRetry = 10 * time.Minute

// chunk is how many texts a build embeds between saving its progress.
const chunk = 256

// queryCacheSize is how many user questions keep their vectors: the same
// few questions come again and again.
const queryCacheSize = 4096

// maxTextRunes bounds the text sent for one question.
const maxTextRunes = 2000

// ErrClosed is returned by Wait and Build after Close.
var ErrClosed = errors.New("semantic: index closed")

// Options configure an Index.
type Options struct {
	// Embedder embeds article questions and user questions. Required.
	Embedder Embedder
	// Model names the vector space in cache keys; empty means the
	// Embedder's Model() when it has one. Vectors are reused only within
	// one space.
	Model string
	// Weight is the share of the semantic score in a fused score, in
	// (0, 1]; 0 means DefaultWeight.
	Weight float64
	// Floor is the cosine that counts as no similarity at all, in [0, 1):
	// a cosine c scores clamp((c−Floor)/(1−Floor), 0, 1). 0 means
	// DefaultFloor. Embedding models rarely give unrelated texts a cosine
	// near 0 (text-embedding-3-small: about 0.1–0.3), hence the floor.
	Floor float64
	// QueryTimeout bounds the embedding of a user's question in Rerank,
	// within the caller's context; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// CacheSize bounds the vectors kept for reuse by later builds, beyond
	// those of the published articles; 0 means DefaultCacheSize.
	CacheSize int
	// CacheFile, when set, keeps the vectors across restarts (a file under
	// the data directory), so a restart embeds nothing already embedded.
	CacheFile string
	// Retry is the first delay before a failed background build is tried
	// again; it doubles up to 10 minutes. 0 means DefaultRetry.
	Retry time.Duration
	// Logger receives build failures and the endpoint going down and up;
	// nil means slog.Default().
	Logger *slog.Logger
	// Observe, when set, is called after every Rerank with its outcome and
	// duration (for a latency histogram).
	Observe func(outcome Outcome, d time.Duration)
}

// Outcome is how one Rerank went.
type Outcome string

// Outcomes of Rerank. Every one but OutcomeFused returned the lexical
// matches unchanged.
const (
	OutcomeFused    Outcome = "fused"     // semantic scores were fused in
	OutcomeNotReady Outcome = "not_ready" // no article has vectors yet
	OutcomeTimeout  Outcome = "timeout"   // the question's embedding missed the deadline
	OutcomeError    Outcome = "error"     // the endpoint failed
)

// Stats are the counters of an Index, for /metrics.
type Stats struct {
	// Requests counts Rerank calls (with a non-blank question).
	Requests uint64
	// Fallbacks counts Rerank calls that returned the lexical matches:
	// not ready, timed out or failed.
	Fallbacks uint64
	// Errors counts Rerank calls whose question could not be embedded
	// (timeouts included).
	Errors uint64
	// Latency is the total time spent in Rerank.
	Latency time.Duration
	// Embedded counts texts sent to the endpoint: article questions and
	// user questions.
	Embedded uint64
	// BuildErrors counts failed attempts to embed the knowledge base.
	BuildErrors uint64
	// Articles and Vectors are the articles with vectors, and their
	// vectors, in the index in use.
	Articles, Vectors int
	// Pending counts texts of the latest build not embedded yet.
	Pending int
}

// Index holds vectors of the questions of the published articles and fuses
// their similarity to a user's question with lexical scores. It is safe for
// concurrent use: Update replaces the articles in the background while
// Rerank goes on with the vectors at hand.
type Index struct {
	emb          Embedder
	space        string
	weight       float64
	floor        float64
	queryTimeout time.Duration
	retry        time.Duration
	log          *slog.Logger
	observe      func(Outcome, time.Duration)

	vectors *cache // article texts
	queries *cache // user questions
	fileMu  sync.Mutex
	file    *vectorFile // nil: not persisted

	snap atomic.Pointer[snapshot]

	mu     sync.Mutex // guards cur, closed, and the installation of snapshots
	cur    *build
	closed bool

	requests, fallbacks, failures, embedded, buildErrors atomic.Uint64
	latency                                              atomic.Int64
	failing                                              atomic.Bool
}

// build is one Update or Build: a set of articles being embedded.
type build struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when its background goroutine ends
	ok      bool          // set before done is closed: every text has its vector
	err     error         // set before done is closed: why Build failed
	pending atomic.Int64
}

// snapshot is the vectors of one set of articles. Vectors of article a are
// vecs[start[a]:start[a+1]], the texts they embed texts[…] likewise.
type snapshot struct {
	articles []kb.Article
	byID     map[string]int32
	start    []int32
	vecs     [][]float32
	texts    []string
	dim      int
	embedded int // articles with at least one vector
}

// NewIndex returns an empty Index; Update or Build gives it articles. A
// cache file that cannot be read is logged and started afresh.
func NewIndex(opts Options) (*Index, error) {
	if opts.Embedder == nil {
		return nil, errors.New("semantic: Options.Embedder is required")
	}
	if opts.Weight < 0 || opts.Weight > 1 || opts.Floor < 0 || opts.Floor >= 1 {
		return nil, fmt.Errorf("semantic: weight %g must be in (0, 1] and floor %g in [0, 1)", opts.Weight, opts.Floor)
	}
	ix := &Index{
		emb: opts.Embedder, space: opts.Model,
		weight: cmp.Or(opts.Weight, DefaultWeight), floor: cmp.Or(opts.Floor, DefaultFloor),
		queryTimeout: cmp.Or(opts.QueryTimeout, DefaultQueryTimeout), retry: cmp.Or(opts.Retry, DefaultRetry),
		log: cmp.Or(opts.Logger, slog.Default()), observe: opts.Observe,
		vectors: newCache(cmp.Or(opts.CacheSize, DefaultCacheSize)), queries: newCache(queryCacheSize),
	}
	if m, ok := opts.Embedder.(interface{ Model() string }); ok && ix.space == "" {
		ix.space = m.Model()
	}
	if opts.CacheFile != "" {
		ix.file = &vectorFile{path: opts.CacheFile}
		if err := ix.file.load(ix.vectors); err != nil {
			ix.log.Warn("semantic: starting the vector cache afresh", "err", err)
			if err := ix.file.rewrite(ix.vectors.entries()); err != nil {
				ix.log.Warn("semantic: vectors will not be kept across restarts", "err", err)
				ix.file = nil
			}
		}
	}
	return ix, nil
}

// Update replaces the articles (only published ones are used) and embeds
// their new or changed questions in the background, retrying while the
// endpoint fails. It returns at once: the new articles are matched with the
// vectors already known, the others lexically until theirs exist. A running
// build of earlier articles is cancelled.
func (ix *Index) Update(articles []kb.Article) {
	p := newPlan(articles, ix.space)
	b, prev, ctx := ix.start(context.Background())
	if b == nil {
		return
	}
	ix.install(b, p)
	go func() {
		defer close(b.done)
		defer b.cancel()
		if prev != nil {
			<-prev.done // one build at a time
		}
		delay := ix.retry
		for {
			err := ix.run(ctx, b, p)
			if err == nil {
				b.ok = true
				return
			}
			if ctx.Err() != nil {
				return
			}
			ix.log.Warn("semantic: embedding the knowledge base failed; its new questions are matched lexically until it succeeds",
				"err", err, "pending", b.pending.Load(), "retry_in", delay)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRetry)
		}
	}()
}

// Build is Update in the caller's goroutine, without retries: it returns
// once every question has its vector, or with the first error (the vectors
// embedded so far are kept and used).
func (ix *Index) Build(ctx context.Context, articles []kb.Article) error {
	p := newPlan(articles, ix.space)
	b, _, ctx := ix.start(ctx)
	if b == nil {
		return ErrClosed
	}
	defer close(b.done)
	defer b.cancel()
	b.err = ix.run(ctx, b, p)
	b.ok = b.err == nil
	return b.err
}

// start begins a new generation, cancelling the one before (returned, so
// that it can be waited for). It returns a nil build after Close.
func (ix *Index) start(ctx context.Context) (b, prev *build, bctx context.Context) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil, nil, nil
	}
	prev = ix.cur
	if prev != nil {
		prev.cancel()
	}
	b = &build{done: make(chan struct{})}
	bctx, b.cancel = context.WithCancel(ctx)
	ix.cur = b
	return b, prev, bctx
}

// run embeds the texts of p that have no vector yet, in chunks, installing
// the vectors at the end, or on failure those embedded so far.
func (ix *Index) run(ctx context.Context, b *build, p *plan) error {
	missing := ix.install(b, p)
	for len(missing) > 0 {
		n := min(chunk, len(missing))
		texts := missing[:n]
		vecs, err := ix.emb.Embed(ctx, texts)
		if err == nil && len(vecs) != len(texts) {
			err = fmt.Errorf("semantic: %d vectors for %d texts: %w", len(vecs), len(texts), ErrBadResponse)
		}
		if err != nil {
			if ctx.Err() == nil {
				ix.buildErrors.Add(1)
			}
			ix.install(b, p)
			return err
		}
		ix.embedded.Add(uint64(n))
		entries := make([]entry, n)
		for i, t := range texts {
			entries[i] = entry{keyOf(ix.space, t), vecs[i]}
			ix.vectors.put(entries[i].k, vecs[i])
		}
		ix.save(entries)
		missing = missing[n:]
		b.pending.Store(int64(len(missing)))
	}
	ix.install(b, p)
	return nil
}

// save appends entries to the cache file, if there is one.
func (ix *Index) save(entries []entry) {
	if ix.file == nil {
		return
	}
	ix.fileMu.Lock()
	defer ix.fileMu.Unlock()
	if err := ix.file.add(entries, ix.vectors); err != nil {
		ix.log.Warn("semantic: saving vectors", "err", err)
	}
}

// Wait waits until the latest Update or Build has a vector for every
// question. It returns ErrClosed after Close, and ctx's error when ctx
// ends first.
func (ix *Index) Wait(ctx context.Context) error {
	for {
		ix.mu.Lock()
		b, closed := ix.cur, ix.closed
		ix.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if b == nil {
			return nil
		}
		select {
		case <-b.done:
			ix.mu.Lock()
			current := ix.cur == b
			ix.mu.Unlock()
			switch {
			case current && b.ok:
				return nil
			case current && b.err != nil:
				return b.err
			}
			// Superseded by a newer build, or cancelled by Close.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops the background build and waits for it. Rerank keeps working
// with the vectors at hand.
func (ix *Index) Close() error {
	ix.mu.Lock()
	b := ix.cur
	ix.closed = true
	ix.mu.Unlock()
	if b != nil {
		b.cancel()
		<-b.done
	}
	return nil
}

// plan is the texts of one set of published articles.
type plan struct {
	articles []kb.Article
	texts    [][]string // article → its distinct non-blank texts
	keys     [][]key    // parallel to texts
}

// newPlan keeps the published articles (the first of an ID, as kb.NewIndex
// does) and lists their standard question, similar questions and title.
func newPlan(articles []kb.Article, space string) *plan {
	p := &plan{}
	seen := map[string]bool{}
	for _, a := range articles {
		if a.Status != kb.StatusPublished || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		a.Similar, a.Tags = slices.Clone(a.Similar), slices.Clone(a.Tags)
		var texts []string
		var keys []key
		for _, q := range append(a.Questions(), a.Title) {
			q = cleanText(q)
			if q == "" || slices.Contains(texts, q) {
				continue
			}
			texts = append(texts, q)
			keys = append(keys, keyOf(space, q))
		}
		p.articles = append(p.articles, a)
		p.texts = append(p.texts, texts)
		p.keys = append(p.keys, keys)
	}
	return p
}

// cleanText collapses white space (models embed newlines poorly) and
// bounds the length.
func cleanText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	n := 0
	for i := range s {
		if n == maxTextRunes {
			return s[:i]
		}
		n++
	}
	return s
}

// install makes a snapshot of p's articles with the vectors in the cache
// the index in use, unless a newer build has begun, and returns the texts
// still without a vector.
func (ix *Index) install(b *build, p *plan) (missing []string) {
	s := &snapshot{articles: p.articles, byID: make(map[string]int32, len(p.articles)), start: make([]int32, len(p.articles)+1)}
	total := 0
	for _, ts := range p.texts {
		total += len(ts)
	}
	ix.vectors.reserve(total)
	wanted := map[key]bool{}
	for a := range p.articles {
		s.byID[p.articles[a].ID] = int32(a)
		s.start[a] = int32(len(s.vecs))
		for i, k := range p.keys[a] {
			v, ok := ix.vectors.get(k)
			if ok && s.dim == 0 {
				s.dim = len(v)
			}
			if !ok || len(v) != s.dim { // a vector of another length: embed it anew
				if !wanted[k] {
					wanted[k] = true
					missing = append(missing, p.texts[a][i])
				}
				continue
			}
			s.vecs = append(s.vecs, v)
			s.texts = append(s.texts, p.texts[a][i])
		}
		if int(s.start[a]) < len(s.vecs) {
			s.embedded++
		}
	}
	s.start[len(p.articles)] = int32(len(s.vecs))
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.cur == b {
		ix.snap.Store(s)
		b.pending.Store(int64(len(missing)))
	}
	return missing
}

// Rerank fuses the semantic similarity of query with lexical, the matches
// of kb.Index.Search for it, best first, and returns the k best. An
// article's fused score is (1−w)·lexical + w·semantic, where semantic is
// the cosine of query with the article's closest question mapped to [0, 1]
// by clamp((cos−Floor)/(1−Floor)) and w is the Weight. Articles the lexical
// search missed come in with a lexical score of 0 (so pass Search a k
// larger than this one); articles without vectors yet keep their lexical
// score.
//
// The question's embedding is bounded by ctx and QueryTimeout. When it
// fails or times out, or no article has vectors yet, Rerank returns the
// first k lexical matches unchanged, and counts a fallback.
//
// Matches of articles the lexical search missed point into the Index's own
// copy of the articles; they must not be modified.
func (ix *Index) Rerank(ctx context.Context, query string, lexical []kb.Match, k int) []kb.Match {
	if k <= 0 {
		return nil
	}
	lex := lexical[:min(k, len(lexical))]
	query = cleanText(query)
	if query == "" {
		return lex
	}
	start := time.Now()
	out, outcome := ix.rerank(ctx, query, lexical, k)
	d := time.Since(start)
	ix.requests.Add(1)
	ix.latency.Add(int64(d))
	if outcome != OutcomeFused {
		out = lex
		ix.fallbacks.Add(1)
	}
	if ix.observe != nil {
		ix.observe(outcome, d)
	}
	return out
}

func (ix *Index) rerank(ctx context.Context, query string, lexical []kb.Match, k int) ([]kb.Match, Outcome) {
	s := ix.snap.Load()
	if s == nil || len(s.vecs) == 0 {
		return nil, OutcomeNotReady
	}
	qv, err := ix.queryVector(ctx, query)
	if err == nil && len(qv) != s.dim {
		err = fmt.Errorf("semantic: question has %d dimensions, articles %d: %w", len(qv), s.dim, ErrBadResponse)
	}
	if err != nil {
		ix.failures.Add(1)
		if ix.failing.CompareAndSwap(false, true) {
			ix.log.Warn("semantic: embedding questions failed; answering lexically until it works again", "err", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, OutcomeTimeout
		}
		return nil, OutcomeError
	}
	if ix.failing.CompareAndSwap(true, false) {
		ix.log.Info("semantic: embedding questions works again")
	}
	return ix.fuse(s, qv, lexical, k), OutcomeFused
}

// queryVector returns the vector of a user's question, from the cache or
// the endpoint.
func (ix *Index) queryVector(ctx context.Context, query string) ([]float32, error) {
	k := keyOf(ix.space, query)
	if v, ok := ix.queries.get(k); ok {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ix.queryTimeout)
	defer cancel()
	vecs, err := ix.emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, err
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("semantic: %d vectors for one question: %w", len(vecs), ErrBadResponse)
	}
	ix.embedded.Add(1)
	ix.queries.put(k, vecs[0])
	return vecs[0], nil
}

// fuse scores every article against qv by its closest question and
// merges the result with lexical; see Rerank.
func (ix *Index) fuse(s *snapshot, qv []float32, lexical []kb.Match, k int) []kb.Match {
	w := ix.weight
	scale := func(cos float32) float64 {
		return min(max((float64(cos)-ix.floor)/(1-ix.floor), 0), 1)
	}
	best := make([]float32, len(s.articles))
	bestV := make([]int32, len(s.articles))
	for a := range s.articles {
		best[a], bestV[a] = -2, -1
		for v := s.start[a]; v < s.start[a+1]; v++ {
			if c := dot(qv, s.vecs[v]); c > best[a] {
				best[a], bestV[a] = c, v
			}
		}
	}

	out := make([]kb.Match, 0, len(lexical)+k)
	for _, m := range lexical {
		if a, ok := s.byID[m.Article.ID]; ok && bestV[a] >= 0 {
			m.Score = (1-w)*m.Score + w*scale(best[a])
			bestV[a] = -1 // fused: not offered again below
		}
		out = append(out, m)
	}
	// The k closest articles the lexical search missed, best first.
	var extra []int32
	for a := range s.articles {
		if bestV[a] < 0 || scale(best[a]) == 0 {
			continue
		}
		if len(extra) == k && best[a] <= best[extra[k-1]] {
			continue
		}
		i, _ := slices.BinarySearchFunc(extra, best[a], func(x int32, c float32) int {
			if best[x] >= c {
				return -1
			}
			return 1
		})
		extra = slices.Insert(extra, i, int32(a))
		extra = extra[:min(len(extra), k)]
	}
	for _, a := range extra {
		out = append(out, kb.Match{Article: &s.articles[a], Question: s.texts[bestV[a]], Score: w * scale(best[a])})
	}
	slices.SortStableFunc(out, func(x, y kb.Match) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return 0
	})
	return out[:min(k, len(out))]
}

// Stats returns the counters.
func (ix *Index) Stats() Stats {
	st := Stats{
		Requests: ix.requests.Load(), Fallbacks: ix.fallbacks.Load(), Errors: ix.failures.Load(),
		Latency: time.Duration(ix.latency.Load()), Embedded: ix.embedded.Load(), BuildErrors: ix.buildErrors.Load(),
	}
	if s := ix.snap.Load(); s != nil {
		st.Articles, st.Vectors = s.embedded, len(s.vecs)
	}
	ix.mu.Lock()
	if ix.cur != nil {
		st.Pending = int(ix.cur.pending.Load())
	}
	ix.mu.Unlock()
	return st
}

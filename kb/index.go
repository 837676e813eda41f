package kb

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// DefaultThreshold is the Score at or above which a match counts as an
// answer; below it the turn has failed. It is what kefu eval -tune picks
// for the default knowledge base on the dev half of an independent set of
// everyday questions (kb/testdata/default_kb). The hand-written checks of
// quality_test.go agree: their lowest paraphrase scores 0.211, their
// highest unrelated question 0.138 (leaving out the known limitation
// 怎么学好英语). A knowledge base of another size and shape wants its own:
// kefu eval -tune picks one on a labelled set.
const DefaultThreshold = 0.185

// Match is one search result.
type Match struct {
	// Article is the matched article. It points into the Index and must not
	// be modified.
	Article *Article
	// Question is the text of the article that matched best: its standard
	// question, one of its similar questions, or its title.
	Question string
	// Score is the confidence of the match, in [0, 1].
	Score float64
}

// Index finds the published articles whose questions are closest to a
// user's question. It needs no word segmentation: texts are folded (full
// width to half width, lower case, common traditional characters to
// simplified) and split into CJK character uni-, bi- and trigrams and into
// Latin words, word bigrams and in-word trigrams; function words are dropped.
// Terms are weighted by inverse document frequency over articles, and the
// query is compared by cosine similarity with every question of every
// article (standard, similar and title). An article's score blends its best
// question's cosine with the cosine of the article's centroid, which rewards
// queries close to several of its questions, and is fused with a
// classifier's probability of the article. The best few matches lose part
// of the classifier's confidence that rests on a single word or character
// of the query (see erasure), and the best article's one-vs-rest sigmoid
// (does the query look like its questions at all?) then moves every score
// by the same amount.
//
// An Index is immutable and safe for concurrent use; build a new one when
// the articles change.
type Index struct {
	articles  []Article        // published articles, in input order
	byID      map[string]int32 // article ID → position in articles
	aStart    []int32          // questions of article a are aStart[a]:aStart[a+1]
	qArticle  []int32          // question → article
	questions []string         // every indexed question
	qLang     []uint8          // question → 1 if written in English (see DetectEnglish), else 0
	termIDs   map[uint64]int32 // term hash → term id
	termW     []float32        // term id → IDF × kind weight
	unknownW  [numKinds]float32
	postStart []int32      // postings of term t are postQ/postW[postStart[t]:postStart[t+1]]
	postQ     []int32      // question ids, ascending within a term
	postW     []float32    // weight of the term in the question, divided by the question's norm
	cnorm     [2][]float32 // [english][article] → 1 / norm of its centroid in that language, or 0
	centroid  float32      // share of the centroid cosine in an article's score
	cls       *classifier  // nil when the blend gives it no weight
	clsWeight float32      // share of the classifier's probability in an article's score
	ovrShare  float32      // share of the best match's one-vs-rest sigmoid in the scores
	erasure   float32      // share of the classifier's figures moved towards their erasure minima
	neg       []bool       // article → holds out-of-scope examples (KindOutOfScope); nil when none does
	patch     *patch       // see Patched; nil for an index built whole
	pool      sync.Pool    // *scratch
}

// params are the tunable weights of the matcher.
type params struct {
	kindWeight [numKinds]float64 // scales the IDF of each kind of term
	unknown    [numKinds]float64 // weight of a query term absent from the index, relative to a term found once
	centroid   float64           // share of the centroid cosine in an article's score
	clsWeight  float64           // share of the classifier's probability in an article's score, at most
	clsPrior   float64           // questions per article at which the classifier gets half its share
	ovrShare   float64           // share of the best match's one-vs-rest sigmoid in the scores, at most
	ovrPrior   float64           // questions per article at which that sigmoid gets half its share
	erasure    float64           // share of the classifier's figures moved towards their least with a unit of the query taken out
	cls        classifierParams
}

// defaultParams were tuned on the default knowledge base and on the dev
// splits of the labelled sets in ../shared/data (never their test splits).
var defaultParams = params{
	kindWeight: [numKinds]float64{kindHan1: 1, kindHan2: 1, kindHan3: 0.3, kindWord: 1, kindWord2: 0.7, kindChar3: 0.5},
	unknown:    [numKinds]float64{kindHan1: 1.5, kindHan2: 0.7, kindHan3: 0.5, kindWord: 1, kindWord2: 0.7, kindChar3: 0.7},
	centroid:   0.5,
	clsWeight:  0.6,
	clsPrior:   5,
	ovrShare:   0.5,
	ovrPrior:   100,
	erasure:    0.5,
	cls: classifierParams{epochs: 10, rate: 0.5, l2: 1e-5, minGrad: 0.01, rest: 4, confusers: 10, richConfusers: 30, richArticle: 20, largeKB: 2000,
		maxArticles: 200, maxShare: 20, budget: 5e8, probes: 5, searches: 20000, ovrRate: 0.2, ovrEpochs: 3, ovrBudget: 2e8},
}

// NewIndex builds an index of the published articles. Articles are copied,
// so later changes to the slice do not affect the index. When two published
// articles share an ID, the first one wins. An article's title is indexed as
// one more question; blank questions are skipped.
func NewIndex(articles []Article) *Index {
	return newIndex(articles, defaultParams)
}

// qterm is one distinct term of an indexed question.
type qterm struct {
	id int32
	tf int32
}

// indexable returns copies of the articles an index holds: the published
// ones, the first of each ID.
func indexable(articles []Article) []Article {
	var out []Article
	seen := make(map[string]bool, len(articles))
	for _, a := range articles {
		if a.Status != StatusPublished || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		a.Similar = slices.Clone(a.Similar)
		a.Tags = slices.Clone(a.Tags)
		out = append(out, a)
	}
	return out
}

func newIndex(articles []Article, p params) *Index {
	ix := &Index{byID: make(map[string]int32), termIDs: make(map[uint64]int32), articles: indexable(articles)}
	for i, a := range ix.articles {
		if a.Kind == KindOutOfScope && ix.neg == nil {
			ix.neg = make([]bool, len(ix.articles))
		}
		if ix.neg != nil {
			ix.neg[i] = a.Kind == KindOutOfScope
		}
		ix.byID[a.ID] = int32(i)
	}

	// Analyze every question; count each term's document frequency over
	// articles.
	var (
		an      analyzer
		qts     [][]qterm
		df      []int32
		kinds   []termKind
		lastArt []int32 // term id → last article counted in df
	)
	ix.aStart = make([]int32, len(ix.articles)+1)
	for ai := range ix.articles {
		ix.aStart[ai] = int32(len(ix.questions))
		a := &ix.articles[ai]
		qs := append(a.Questions(), a.Title)
		for i, q := range qs {
			if slices.Contains(qs[:i], q) {
				continue
			}
			ts := an.analyze(q)
			if len(ts) == 0 {
				continue
			}
			slices.SortFunc(ts, func(x, y term) int { return cmp.Compare(x.h, y.h) })
			var list []qterm
			for i := 0; i < len(ts); {
				j := i + 1
				for j < len(ts) && ts[j].h == ts[i].h {
					j++
				}
				id, ok := ix.termIDs[ts[i].h]
				if !ok {
					id = int32(len(df))
					ix.termIDs[ts[i].h] = id
					df = append(df, 0)
					kinds = append(kinds, ts[i].k)
					lastArt = append(lastArt, -1)
				}
				if lastArt[id] != int32(ai) {
					df[id]++
					lastArt[id] = int32(ai)
				}
				list = append(list, qterm{id: id, tf: int32(j - i)})
				i = j
			}
			ix.questions = append(ix.questions, q)
			ix.qLang = append(ix.qLang, langOf(q))
			ix.qArticle = append(ix.qArticle, int32(ai))
			qts = append(qts, list)
		}
	}
	ix.aStart[len(ix.articles)] = int32(len(ix.questions))

	na := len(ix.articles)
	ix.termW = make([]float32, len(df))
	for t := range df {
		ix.termW[t] = float32(idf(na, int(df[t])) * p.kindWeight[kinds[t]])
	}
	for k := range ix.unknownW {
		ix.unknownW[k] = float32(idf(na, 0) * p.kindWeight[k] * p.unknown[k])
	}

	// Unit question vectors, stored as postings in CSR form.
	counts := make([]int32, len(df)+1)
	for _, list := range qts {
		for _, qt := range list {
			counts[qt.id+1]++
		}
	}
	for t := range df {
		counts[t+1] += counts[t]
	}
	ix.postStart = counts
	ix.postQ = make([]int32, counts[len(df)])
	ix.postW = make([]float32, counts[len(df)])
	fill := slices.Clone(counts[:len(df)])
	unit := make([][]float64, len(qts)) // question → unit weights, parallel to qts
	for qi, list := range qts {
		ws := make([]float64, len(list))
		var norm float64
		for i, qt := range list {
			ws[i] = tfWeight(qt.tf) * float64(ix.termW[qt.id])
			norm += ws[i] * ws[i]
		}
		norm = math.Sqrt(norm)
		for i, qt := range list {
			ws[i] /= norm
			ix.postQ[fill[qt.id]] = int32(qi)
			ix.postW[fill[qt.id]] = float32(ws[i])
			fill[qt.id]++
		}
		unit[qi] = ws
	}

	// The centroid of an article is the sum of its unit question vectors;
	// its cosine with the query is the sum of the question cosines divided
	// by the centroid's norm, so only that norm is stored. Chinese and
	// English questions form separate centroids, so that an English query
	// is not compared with a centroid made mostly of Chinese questions.
	ix.centroid = float32(p.centroid)
	ix.cnorm = [2][]float32{make([]float32, na), make([]float32, na)}
	sums := [2]map[int32]float64{make(map[int32]float64), make(map[int32]float64)}
	for a := range na {
		clear(sums[0])
		clear(sums[1])
		for qi := ix.aStart[a]; qi < ix.aStart[a+1]; qi++ {
			sum := sums[ix.qLang[qi]]
			for i, qt := range qts[qi] {
				sum[qt.id] += unit[qi][i]
			}
		}
		for lang, sum := range sums {
			var n2 float64
			for _, v := range sum {
				n2 += v * v
			}
			if n2 > 0 {
				ix.cnorm[lang][a] = float32(1 / math.Sqrt(n2))
			}
		}
	}

	ix.initPool()
	nq := len(ix.questions)
	if p.clsWeight > 0 && na > 1 {
		var confusers func(int) []int32
		k := p.cls.confusers
		if nq >= p.cls.richArticle*na && na <= p.cls.largeKB {
			k = p.cls.richConfusers
		}
		if k > 0 {
			near := make([][]int32, na)
			// A few searches per article, fewer on a large knowledge base.
			probes := max(1, min(p.cls.probes, p.cls.searches/na))
			confusers = func(qi int) []int32 {
				a := ix.qArticle[qi]
				if near[a] == nil {
					near[a] = ix.nearest(a, k, probes)
				}
				return near[a]
			}
		}
		ix.cls = trainClassifier(ix.questions, ix.qArticle, na, p.cls, confusers)
		// A classifier learns little from a handful of questions per
		// article, where the nearest question knows best: its share
		// grows with the questions per article, m, as m / (m + clsPrior).
		m := float64(nq) / float64(na)
		ix.clsWeight = float32(p.clsWeight * m / (m + p.clsPrior))
		// The one-vs-rest sigmoids need many questions per article to
		// tell an article's questions from anything else.
		ix.ovrShare = float32(p.ovrShare * m / (m + p.ovrPrior))
		ix.erasure = float32(p.erasure)
	}

	return ix
}

// initPool makes the index's pool of search scratch.
func (ix *Index) initPool() {
	nq, na := len(ix.questions), len(ix.articles)
	ix.pool.New = func() any {
		return &scratch{acc: make([]float32, nq), accA: make([]float32, na), seen: make([]bool, na)}
	}
}

// nearest returns up to k other articles that questions of article a are
// most often mistaken for: the runners-up of searches for a few of its
// questions (spread over them), by how often they come up, then by score.
func (ix *Index) nearest(a int32, k, probes int) []int32 {
	type vote struct {
		n     int
		score float64
	}
	votes := map[int32]*vote{}
	first, n := int(ix.aStart[a]), int(ix.aStart[a+1]-ix.aStart[a])
	for i := range min(n, probes) {
		q := first + i*n/min(n, probes)
		for _, m := range ix.Search(ix.questions[q], k+1) {
			b := ix.byID[m.Article.ID]
			if b == a {
				continue
			}
			v := votes[b]
			if v == nil {
				v = &vote{}
				votes[b] = v
			}
			v.n++
			v.score += m.Score
		}
	}
	out := make([]int32, 0, len(votes))
	for b := range votes {
		out = append(out, b)
	}
	slices.SortFunc(out, func(x, y int32) int {
		vx, vy := votes[x], votes[y]
		if vx.n != vy.n {
			return cmp.Compare(vy.n, vx.n)
		}
		if vx.score != vy.score {
			return cmp.Compare(vy.score, vx.score)
		}
		return cmp.Compare(x, y)
	})
	return out[:min(len(out), k)]
}

func tfWeight(tf int32) float64 {
	return 1 + math.Log(float64(tf))
}

// langOf returns 1 for English text and 0 for any other.
func langOf(text string) uint8 {
	if DetectEnglish(text) {
		return 1
	}
	return 0
}

// scratch is the working memory of one search, reused through Index.pool.
type scratch struct {
	an      analyzer
	acc     []float32 // question → dot product with the query (zero between searches)
	accA    []float32 // article → sum of its questions' dot products (dense searches only)
	seen    []bool    // article → touched by this search (false between searches)
	touched []int32   // articles touched by this search
	qterms  []queryTerm
	top     []candidate
	negBest float32 // best score of an out-of-scope article in this search

	cls      clsScratch
	prob     []float32 // article → classifier probability, for articles in probList
	probSet  []bool    // article → in probList and not yet offered
	probList []int32   // articles the classifier gave their own probability
	probRest float32   // probability of every other article
	sig      []float32 // article → one-vs-rest sigmoid, for articles in probList

	cands      []int32   // the top articles, for erasure
	pmin, smin []float32 // their least probability and sigmoid with a unit of the query taken out
}

type queryTerm struct {
	id int32
	w  float32
}

type candidate struct {
	a, q  int32
	score float32
	p     float32 // the classifier's probability of a, or 0
	sig   float32 // the classifier's one-vs-rest sigmoid of a, or 0
}

// Len returns the number of indexed (published) articles, out-of-scope
// ones included.
func (ix *Index) Len() int {
	if ix.patch != nil {
		return ix.patch.n
	}
	return len(ix.articles)
}

// Article returns the published article with the given ID, unless it is
// of KindOutOfScope (never an answer). The article must not be modified.
func (ix *Index) Article(id string) (*Article, bool) {
	if ix.patch != nil && ix.patch.overlay != nil {
		if a, ok := ix.patch.overlay.Article(id); ok {
			return a, true
		}
	}
	i, ok := ix.byID[id]
	if !ok || ix.isNeg(i) || ix.patch != nil && ix.patch.hidden[i] {
		return nil, false
	}
	return &ix.articles[i], true
}

// Search returns up to k articles that best answer query, best first (ties
// in input order), each with the question that matched best and a Score in
// [0, 1]. Articles sharing no term with the query are not returned, nor are
// out-of-scope articles (KindOutOfScope): the best score among those is
// subtracted from every returned Score instead, so that a question as close
// to an out-of-scope example as to an answer is not answered. Before that,
// the best matches lose the part of the classifier's confidence in them
// that rests on one unit of the query (see erasure), and are ranked again.
// Every Score is then moved, by the same amount, towards the best match's
// one-vs-rest sigmoid (see classifier), keeping order and gaps; as that
// amount follows the best match, erasure can move the other matches up. It returns
// nil for k <= 0 and for a query without indexable text (empty, or only
// punctuation and function words).
func (ix *Index) Search(query string, k int) []Match {
	if ix.patch != nil {
		return ix.searchPatched(query, k)
	}
	return ix.search(query, k)
}

// search is Search on the index's own matching.
func (ix *Index) search(query string, k int) []Match {
	if k <= 0 || len(ix.questions) == 0 {
		return nil
	}
	want := k
	if ix.cls != nil && ix.erasure > 0 {
		// Erasure lowers the best matches' scores, and the next k may
		// then rank above them.
		k = min(k, len(ix.articles)) + erasurePool
	}
	s := ix.pool.Get().(*scratch)
	defer ix.pool.Put(s)

	s.negBest = 0
	ts := s.an.analyze(query)
	if len(ts) == 0 {
		return nil
	}
	slices.SortFunc(ts, func(x, y term) int { return cmp.Compare(x.h, y.h) })
	var qnorm float64
	postings := 0
	s.qterms = s.qterms[:0]
	for i := 0; i < len(ts); {
		j := i + 1
		for j < len(ts) && ts[j].h == ts[i].h {
			j++
		}
		tf := tfWeight(int32(j - i))
		if t, ok := ix.termIDs[ts[i].h]; ok {
			w := float32(tf) * ix.termW[t]
			s.qterms = append(s.qterms, queryTerm{id: t, w: w})
			postings += int(ix.postStart[t+1] - ix.postStart[t])
		} else {
			w := float32(tf) * ix.unknownW[ts[i].k]
			qnorm += float64(w) * float64(w)
		}
		i = j
	}
	if len(s.qterms) == 0 {
		return nil
	}
	for _, qt := range s.qterms {
		qnorm += float64(qt.w) * float64(qt.w)
	}
	inv := float32(1 / math.Sqrt(qnorm))
	lang := langOf(query)
	if ix.cls != nil {
		if s.prob == nil { // a scratch made while the classifier was trained
			na := len(ix.articles)
			s.prob, s.probSet, s.sig = make([]float32, na), make([]bool, na), make([]float32, na)
		}
		s.probList = s.probList[:0]
		s.probRest = ix.cls.probabilities(&s.cls, query, func(a int32, p, sig float32) {
			s.prob[a], s.probSet[a], s.sig[a] = p, true, sig
			s.probList = append(s.probList, a)
		})
	}

	// Accumulate dot products. When the postings are few, note each article
	// on its first touch; when they are many, most articles get touched and
	// a plain pass over all articles afterwards is cheaper.
	acc, accA, seen := s.acc, s.accA, s.seen
	dense := postings*4 > len(ix.questions)
	for _, qt := range s.qterms {
		start, end := ix.postStart[qt.id], ix.postStart[qt.id+1]
		qs, ws := ix.postQ[start:end], ix.postW[start:end]
		if dense {
			for p, q := range qs {
				x := qt.w * ws[p]
				acc[q] += x
				accA[ix.qArticle[q]] += x
			}
			continue
		}
		for p, q := range qs {
			if acc[q] == 0 {
				if a := ix.qArticle[q]; !seen[a] {
					seen[a] = true
					s.touched = append(s.touched, a)
				}
			}
			acc[q] += qt.w * ws[p]
		}
	}

	// Score each touched article from its questions' dot products, clearing
	// the scratch for the next search.
	s.top = s.top[:0]
	if dense {
		// One pass over all articles. The sum of an article's dot products
		// bounds its score, so most articles are skipped once the top k
		// are known.
		for a := range int32(len(ix.articles)) {
			bound := accA[a] * inv
			if ix.cls != nil {
				if bound == 0 && !s.probSet[a] {
					continue // shares nothing with the query
				}
				bound = (1-ix.clsWeight)*bound + ix.clsWeight*ix.probOf(s, a)
			}
			if bound == 0 || k <= maxInsertK && len(s.top) == k && bound < s.top[k-1].score && !ix.isNeg(a) {
				continue
			}
			var best, sum float32
			bestQ := int32(-1)
			for q := ix.aStart[a]; q < ix.aStart[a+1]; q++ {
				v := acc[q]
				if v > best {
					best, bestQ = v, q
				}
				if ix.qLang[q] == lang {
					sum += v
				}
			}
			ix.offer(s, a, bestQ, best, sum, lang, inv, k)
		}
		clear(acc)
		clear(accA)
		for _, a := range s.probList {
			s.probSet[a] = false
		}
	} else {
		for _, a := range s.touched {
			seen[a] = false
			var best, sum float32
			bestQ := int32(-1)
			for q := ix.aStart[a]; q < ix.aStart[a+1]; q++ {
				v := acc[q]
				acc[q] = 0
				if v > best {
					best, bestQ = v, q
				}
				if ix.qLang[q] == lang {
					sum += v
				}
			}
			if bestQ >= 0 {
				ix.offer(s, a, bestQ, best, sum, lang, inv, k)
			}
		}
		s.touched = s.touched[:0]
		// Articles only the classifier saw (through features the index
		// does not keep, such as function words).
		for _, a := range s.probList {
			if s.probSet[a] {
				ix.offer(s, a, -1, 0, 0, lang, inv, k)
			}
		}
	}

	if k > maxInsertK {
		slices.SortFunc(s.top, cmpCandidate)
		s.top = s.top[:min(k, len(s.top))]
	}
	if ix.cls != nil {
		if ix.erasure > 0 {
			ix.eraseTop(s)
		}
		ix.cls.release(&s.cls)
		s.top = s.top[:min(want, len(s.top))]
	}
	// The best match's one-vs-rest sigmoid moves every score by the same
	// amount, keeping the order and the gaps between matches: a query
	// that looks like none of the best article's questions is less sure
	// of any answer.
	var shift float32
	if len(s.top) > 0 && ix.cls != nil {
		shift = ix.ovrShare * (s.top[0].sig - s.top[0].score)
	}
	matches := make([]Match, len(s.top))
	for i, c := range s.top {
		// An out-of-scope example that matches as well as an answer
		// cancels it.
		score := c.score + shift - s.negBest
		matches[i] = Match{Article: &ix.articles[c.a], Score: float64(min(max(score, 0), 1))}
		if c.q >= 0 {
			matches[i].Question = ix.questions[c.q]
		} else { // matched through the classifier alone
			matches[i].Question = matches[i].Article.Question
		}
	}
	return matches
}

// offer scores article a from the dot products of its best question and
// the sum over its questions in the query's language, blending the best
// question's cosine with the cosine of the article's centroid, and keeps the
// article if it is among the top k so far.
func (ix *Index) offer(s *scratch, a, bestQ int32, best, sum float32, lang uint8, inv float32, k int) {
	score := ((1-ix.centroid)*best + ix.centroid*sum*ix.cnorm[lang][a]) * inv
	var p, sig float32
	if ix.cls != nil {
		p = ix.probOf(s, a)
		score = (1-ix.clsWeight)*score + ix.clsWeight*p
		if s.probSet[a] {
			sig = s.sig[a]
		}
		s.probSet[a] = false
	}
	if ix.isNeg(a) {
		s.negBest = max(s.negBest, score)
		return
	}
	c := candidate{a: a, q: bestQ, score: score, p: p, sig: sig}
	if k > maxInsertK {
		s.top = append(s.top, c) // sorted once at the end
		return
	}
	if len(s.top) == k {
		if cmpCandidate(c, s.top[k-1]) >= 0 {
			return
		}
		s.top = s.top[:k-1]
	}
	i := len(s.top)
	s.top = append(s.top, c)
	for ; i > 0 && cmpCandidate(c, s.top[i-1]) < 0; i-- {
		s.top[i] = s.top[i-1]
	}
	s.top[i] = c
}

// eraseTop moves the classifier's probability and one-vs-rest sigmoid of
// each top match towards the least each takes with one unit of the query
// taken out (see erasure), by the share ix.erasure, and sorts the matches
// again.
func (ix *Index) eraseTop(s *scratch) {
	s.cands, s.pmin, s.smin = s.cands[:0], s.pmin[:0], s.smin[:0]
	for _, c := range s.top[:min(erasurePool, len(s.top))] {
		s.cands, s.pmin, s.smin = append(s.cands, c.a), append(s.pmin, c.p), append(s.smin, c.sig)
	}
	if !ix.cls.erase(&s.cls, s.cands, s.pmin, s.smin) {
		return
	}
	for i := range s.cands {
		c := &s.top[i]
		c.score -= ix.clsWeight * ix.erasure * (c.p - s.pmin[i])
		c.sig -= ix.erasure * (c.sig - s.smin[i])
	}
	slices.SortFunc(s.top, cmpCandidate)
}

// isNeg reports whether article a holds out-of-scope examples.
func (ix *Index) isNeg(a int32) bool {
	return ix.neg != nil && ix.neg[a]
}

// probOf returns the classifier's probability of article a in this search.
func (ix *Index) probOf(s *scratch, a int32) float32 {
	if s.probSet[a] {
		return s.prob[a]
	}
	return s.probRest
}

// erasurePool is how many of the best matches erasure reconsiders: the
// best by their scores before it, whatever the k of the search, so that
// every k gets the first k of the same ranking. Only the best few matter
// to the decision, and each costs a little for every unit of the query.
const erasurePool = 5

// maxInsertK is the largest k kept by insertion into a sorted top list;
// larger ones collect every candidate and sort once.
const maxInsertK = 32

// cmpCandidate orders candidates best first: higher score, then earlier article.
func cmpCandidate(x, y candidate) int {
	if x.score != y.score {
		if x.score > y.score {
			return -1
		}
		return 1
	}
	return cmp.Compare(x.a, y.a)
}

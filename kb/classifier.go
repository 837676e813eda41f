package kb

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// classifier is a linear model over the knowledge base's questions: a
// multinomial logistic regression whose features are TF-IDF weighted
// n-grams (CJK character 1–4-grams; words, word bigrams and character
// 3–4-grams of English text). It learns which n-grams tell one article
// from another, which nearest-question similarity cannot: in a large
// article many questions share words with other articles, and the model
// weighs them down.
//
// To stay small and fast on large knowledge bases the model is sparse: a
// feature has a weight only for the articles whose questions contain it,
// stored as postings like the index's. A query's logit for an article is
// the sum of its features' weights for that article, and articles the
// query shares no feature with have logit 0, so their probability mass is
// counted without visiting them.
//
// Beside the softmax, the same sparse weights hold one-vs-rest logistic
// units (as in DOC, Shu et al. 2017): each article's own sigmoid, trained
// with its questions as positives and the questions of every article
// sharing a weighted feature with it as negatives. The softmax spreads its
// mass over the articles whatever the query, so even an unrelated question
// gets a peaked distribution; a sigmoid says on its own whether the query
// looks like the article's questions, which makes it a rejection signal.
type classifier struct {
	featIDs   map[uint64]int32 // feature hash → feature id
	idf       []float32        // feature id → inverse document frequency over questions
	postStart []int32          // weights of feature f are postA/postW[postStart[f]:postStart[f+1]]
	postA     []int32          // article ids, ascending within a feature
	postW     []float32        // learned weights
	classes   int              // number of articles
	unknown   float32          // weight of a feature never seen in training
	ovrW      []float32        // one-vs-rest weights, parallel to postW
	ovrBias   []float32        // article → one-vs-rest bias
}

// classifierParams are the training settings.
type classifierParams struct {
	epochs int     // passes over the questions
	rate   float64 // AdaGrad learning rate
	l2     float64 // weight decay per update
	// minGrad is the least gradient of a logit that updates weights: a
	// question whose articles' probabilities are all within it of their
	// targets is learnt, and leaving it alone keeps the model from
	// over-fitting the easy questions (it also helps accuracy on dev).
	minGrad float32
	// rest is how many epochs a learnt question sits out.
	rest uint8
	// A feature found in more than max(maxArticles, articles/maxShare)
	// articles gets no weights.
	maxArticles, maxShare int
	// budget bounds the weight visits of all epochs, and so the time
	// training takes on a large knowledge base (about 1 s per 1e8 here).
	budget int64
	// probes is how many of an article's questions are searched to find
	// the articles it may be confused with, and searches bounds the
	// searches over all articles.
	probes, searches int
	// confusers is how many of the articles most similar to an article
	// (by the index) get a weight for its questions' features, so the
	// model can learn what tells them apart. Articles with at least
	// richArticle questions on average, in a knowledge base of at most
	// largeKB articles, get richConfusers: more questions can teach more
	// distinctions, and a small knowledge base can afford the weights.
	confusers, richConfusers, richArticle, largeKB int
	// ovrRate is the AdaGrad learning rate of the one-vs-rest units,
	// trained for ovrEpochs passes at most and within ovrBudget weight
	// visits (but at least one pass). Unlike the softmax's, their
	// updates skip no question: a learnt question still teaches every
	// unit it touches how far from it the others lie.
	ovrRate   float64
	ovrEpochs int
	ovrBudget int64
}

// minEpochs is the fewest passes the training budget allows for.
const minEpochs = 2

// feature is one weighted feature of a text.
type feature struct {
	id int32
	x  float32
}

// clsKind namespaces the classifier's feature hashes.
const (
	clsHan    = 16 // + n for a CJK character n-gram
	clsWord   = 24
	clsWord2  = 25
	clsChars  = 26 // + n for a character n-gram of English text
	clsMaxHan = 4
)

// featurizer turns text into the classifier's hashed features. It keeps
// its buffers between calls; one featurizer must not be used by two
// goroutines at once.
//
// Beside each feature it notes the units of the text it was made from (a
// unit is a CJK character or an English word, numbered in order), so
// that a query's features can be taken away one unit at a time (see
// classifier.erase).
type featurizer struct {
	run    []rune
	runU   []uint16 // the unit of each rune of run
	latin  []rune   // the words of the text, space separated, with a space before and after
	latinU []uint16 // the unit of each rune of latin; noUnit for the spaces
	word   []rune
	prev   uint64
	prevU  uint16
	hasPrv bool
	units  uint16
	occ    []occurrence
}

// occurrence is one feature of a text: its hash and the units it was made
// from.
type occurrence struct {
	h  uint64
	sp unitSpan
}

// noUnit marks a rune of no unit (a space between words).
const noUnit = math.MaxUint16

// unitSpan is the set of units a feature was made from: lo to hi, or,
// when ends is set, only lo and hi (a word bigram, or a character n-gram
// across two words, whose words may have CJK text between them).
type unitSpan struct {
	lo, hi uint16
	ends   bool
}

// appendUnits appends to dst the units the feature was made from.
func (sp unitSpan) appendUnits(dst []uint16) []uint16 {
	switch {
	case sp.lo == noUnit: // made of spaces only; cannot happen
	case sp.ends:
		dst = append(dst, sp.lo)
		if sp.hi != sp.lo {
			dst = append(dst, sp.hi)
		}
	default:
		for u := sp.lo; u <= sp.hi; u++ {
			dst = append(dst, u)
		}
	}
	return dst
}

// features returns the features of s, with repeats. The slice is owned by
// the featurizer and valid until the next call.
func (fz *featurizer) features(s string) []occurrence {
	fz.occ, fz.run, fz.runU, fz.word, fz.hasPrv, fz.units = fz.occ[:0], fz.run[:0], fz.runU[:0], fz.word[:0], false, 0
	fz.latin, fz.latinU = append(fz.latin[:0], ' '), append(fz.latinU[:0], noUnit)
	for _, r := range s {
		r = fold(r)
		switch classify(r) {
		case classCJK:
			fz.endWord()
			fz.run, fz.runU = append(fz.run, r), append(fz.runU, fz.nextUnit())
		case classWord:
			fz.endRun()
			fz.word = append(fz.word, r)
		case classIgnore:
		default:
			fz.endWord()
			fz.endRun()
		}
	}
	fz.endWord()
	fz.endRun()
	l, lu := fz.latin, fz.latinU
	for n := 3; n <= 4; n++ {
		for i := 0; i+n <= len(l); i++ {
			sp := unitSpan{lo: noUnit, ends: true}
			for _, u := range lu[i : i+n] {
				if u != noUnit {
					sp.lo, sp.hi = min(sp.lo, u), max(sp.hi, u)
				}
			}
			fz.add(hashRunes(clsChars+termKind(n), l[i:i+n]), sp)
		}
	}
	return fz.occ
}

// nextUnit numbers a new unit. Past the last number, units share it.
func (fz *featurizer) nextUnit() uint16 {
	if fz.units < noUnit-1 {
		fz.units++
	}
	return fz.units - 1
}

func (fz *featurizer) add(h uint64, sp unitSpan) {
	fz.occ = append(fz.occ, occurrence{h: h, sp: sp})
}

func (fz *featurizer) endRun() {
	r, ru := fz.run, fz.runU
	for n := 1; n <= clsMaxHan; n++ {
		for i := 0; i+n <= len(r); i++ {
			fz.add(hashRunes(clsHan+termKind(n), r[i:i+n]), unitSpan{lo: ru[i], hi: ru[i+n-1]})
		}
	}
	fz.run, fz.runU = fz.run[:0], fz.runU[:0]
}

func (fz *featurizer) endWord() {
	if len(fz.word) == 0 {
		return
	}
	u := fz.nextUnit()
	h := hashRunes(clsWord, fz.word)
	fz.add(h, unitSpan{lo: u, hi: u})
	if fz.hasPrv {
		fz.add(mix(fz.prev*0x9e3779b97f4a7c15^h^clsWord2<<56), unitSpan{lo: fz.prevU, hi: u, ends: true})
	}
	fz.prev, fz.prevU, fz.hasPrv = h, u, true
	fz.latin = append(append(fz.latin, fz.word...), ' ')
	for range len(fz.word) {
		fz.latinU = append(fz.latinU, u)
	}
	fz.latinU = append(fz.latinU, noUnit)
	fz.word = fz.word[:0]
}

// vector turns a text's features into a unit TF-IDF vector (sublinear
// term frequency) over the known features, appending to dst. Unknown
// features count in the norm, so a query mostly made of unknown words gets
// small weights. If er is not nil, vector also notes in it which features
// each unit of the text holds a share of.
func (c *classifier) vector(dst []feature, occ []occurrence, er *erasure) []feature {
	slices.SortFunc(occ, func(x, y occurrence) int { return cmp.Compare(x.h, y.h) })
	if er != nil {
		er.reset()
	}
	start := len(dst)
	var norm float64
	for i := 0; i < len(occ); {
		j := i + 1
		for j < len(occ) && occ[j].h == occ[i].h {
			j++
		}
		tf := float32(tfWeight(int32(j - i)))
		if id, ok := c.featIDs[occ[i].h]; ok {
			x := tf * c.idf[id]
			if er != nil {
				er.note(len(dst)-start, int32(j-i), c.idf[id], occ[i:j])
			}
			dst = append(dst, feature{id: id, x: x})
			norm += float64(x) * float64(x)
		} else {
			x := tf * c.unknown
			norm += float64(x) * float64(x)
		}
		i = j
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range dst[start:] {
			dst[start+i].x *= inv
		}
		if er != nil {
			er.inv = inv
		}
	}
	return dst
}

// trainClassifier fits the model to questions (texts with the article each
// belongs to) among n articles.
func trainClassifier(texts []string, labels []int32, n int, p classifierParams, confusers func(qi int) []int32) *classifier {
	c := &classifier{featIDs: make(map[uint64]int32), classes: n}
	var fz featurizer

	// Feature ids, document frequencies over questions, and the (feature,
	// article) pairs that get a weight: each feature of a question with the
	// question's article, and with the articles it may be confused with.
	var df []int32
	var own, confused []uint64 // feature id << 32 | article
	var hs []uint64
	for qi, text := range texts {
		hs = hs[:0]
		for _, o := range fz.features(text) {
			hs = append(hs, o.h)
		}
		slices.Sort(hs)
		hs = slices.Compact(hs)
		for _, h := range hs {
			id, ok := c.featIDs[h]
			if !ok {
				id = int32(len(df))
				c.featIDs[h] = id
				df = append(df, 0)
			}
			df[id]++
			own = append(own, uint64(id)<<32|uint64(labels[qi]))
			if confusers != nil {
				for _, a := range confusers(qi) {
					confused = append(confused, uint64(id)<<32|uint64(a))
				}
			}
		}
	}
	nq := float64(len(texts))
	c.idf = make([]float32, len(df))
	for f, d := range df {
		c.idf[f] = float32(math.Log((1+nq)/(1+float64(d))) + 1)
	}
	c.unknown = float32(math.Log(1+nq) + 1)

	// A feature found in very many articles (a common character, "how")
	// says little about which one is meant and would cost the most to
	// train and to score: it gets no weights, though it still counts in a
	// question's norm.
	slices.Sort(own)
	own = slices.Compact(own)
	articlesOf := make([]int32, len(df))
	for _, k := range own {
		articlesOf[k>>32]++
	}
	limit := int32(max(p.maxArticles, n/p.maxShare))
	pairs := append(own, confused...)
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	pairs = slices.DeleteFunc(pairs, func(k uint64) bool { return articlesOf[k>>32] > limit })

	// The training budget: an epoch visits, for each question, the
	// weights of its features. When even minEpochs epochs would exceed
	// the budget, the features with the most weights go first; the
	// epochs are as many as fit, up to p.epochs.
	weightsOf := make([]int32, len(df))
	for _, k := range pairs {
		weightsOf[k>>32]++
	}
	var work int64 // weight visits of one epoch
	for f := range df {
		work += int64(df[f]) * int64(weightsOf[f])
	}
	if work*minEpochs > p.budget {
		byWeights := make([]int32, len(df))
		for f := range byWeights {
			byWeights[f] = int32(f)
		}
		slices.SortFunc(byWeights, func(x, y int32) int { return cmp.Compare(weightsOf[y], weightsOf[x]) })
		drop := make([]bool, len(df))
		for _, f := range byWeights {
			if work*minEpochs <= p.budget {
				break
			}
			drop[f] = true
			work -= int64(df[f]) * int64(weightsOf[f])
		}
		pairs = slices.DeleteFunc(pairs, func(k uint64) bool { return drop[k>>32] })
	}
	epochs := p.epochs
	if work > 0 {
		epochs = int(min(int64(p.epochs), max(minEpochs, p.budget/work)))
	}

	// Postings: for each feature, its articles, ascending.
	c.postStart = make([]int32, len(df)+1)
	c.postA = make([]int32, len(pairs))
	c.postW = make([]float32, len(pairs))
	for i, k := range pairs {
		c.postStart[k>>32+1]++
		c.postA[i] = int32(uint32(k))
	}
	for f := range df {
		c.postStart[f+1] += c.postStart[f]
	}

	// Training vectors.
	vecs := make([][]feature, len(texts))
	for qi, text := range texts {
		vecs[qi] = c.vector(nil, fz.features(text), nil)
	}

	// AdaGrad on the cross-entropy, over the sparse weights.
	g2 := make([]float32, len(c.postW))
	logit := make([]float32, n)
	touched := make([]int32, 0, n)
	seen := make([]bool, n)
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rate, l2, minGrad := float32(p.rate), float32(p.l2), p.minGrad
	rest := make([]uint8, len(texts)) // epochs a learnt question sits out
	for range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, qi := range order {
			if rest[qi] > 0 {
				rest[qi]--
				continue
			}
			y := labels[qi]
			touched = c.logits(vecs[qi], c.postW, logit, seen, touched[:0])
			// Softmax over the touched articles; the others have logit 0.
			mx, z := softmaxNorm(logit, touched, n, nil)
			learnt := true
			for _, a := range touched {
				prob := float32(math.Exp(float64(logit[a]-mx)) / z)
				if a == y {
					prob--
				}
				if prob > -minGrad && prob < minGrad {
					prob = 0 // learnt: leave its weights alone this time
				} else {
					learnt = false
				}
				logit[a] = prob // now the gradient of the logit
			}
			if learnt {
				rest[qi] = p.rest
			}
			c.adagrad(vecs[qi], logit, c.postW, g2, rate, l2)
			for _, a := range touched {
				logit[a], seen[a] = 0, false
			}
		}
	}
	ovrEpochs := p.ovrEpochs
	if work > 0 {
		ovrEpochs = int(min(int64(p.ovrEpochs), max(1, p.ovrBudget/work)))
	}
	c.trainOvR(vecs, labels, ovrEpochs, p)
	return c
}

// trainOvR fits the one-vs-rest units by AdaGrad on the binary
// cross-entropy: for each question, the unit of its article is pushed
// towards 1 and the units of the other articles it touches towards 0.
func (c *classifier) trainOvR(vecs [][]feature, labels []int32, epochs int, p classifierParams) {
	n := c.classes
	c.ovrW = make([]float32, len(c.postW))
	c.ovrBias = make([]float32, n)
	g2 := make([]float32, len(c.postW))
	g2b := make([]float32, n)
	grad := make([]float32, n)
	touched := make([]int32, 0, n)
	seen := make([]bool, n)
	order := make([]int, len(vecs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rate, l2 := float32(p.ovrRate), float32(p.l2)
	for range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, qi := range order {
			touched = c.logits(vecs[qi], c.ovrW, grad, seen, touched[:0])
			for _, a := range touched {
				g := sigmoid(grad[a] + c.ovrBias[a])
				if a == labels[qi] {
					g--
				}
				if g != 0 {
					g2b[a] += g * g
					c.ovrBias[a] -= rate * g / float32(math.Sqrt(float64(g2b[a])))
				}
				grad[a] = g // now the gradient of the logit
			}
			c.adagrad(vecs[qi], grad, c.ovrW, g2, rate, l2)
			for _, a := range touched {
				grad[a], seen[a] = 0, false
			}
		}
	}
}

// logits adds to logit[a] the weighted sum w·vec of every article a the
// question's features have weights for, appending each article to touched
// (and marking it in seen) the first time; it returns touched.
func (c *classifier) logits(vec []feature, w, logit []float32, seen []bool, touched []int32) []int32 {
	for _, ft := range vec {
		for k := c.postStart[ft.id]; k < c.postStart[ft.id+1]; k++ {
			a := c.postA[k]
			if !seen[a] {
				seen[a] = true
				touched = append(touched, a)
			}
			logit[a] += ft.x * w[k]
		}
	}
	return touched
}

// adagrad takes one AdaGrad step on the weights w of the question's
// features, given the gradient of each article's logit, grad[a] (0: no
// change), with L2 regularisation and the accumulated squares g2.
func (c *classifier) adagrad(vec []feature, grad, w, g2 []float32, rate, l2 float32) {
	for _, ft := range vec {
		for k := c.postStart[ft.id]; k < c.postStart[ft.id+1]; k++ {
			ga := grad[c.postA[k]]
			if ga == 0 {
				continue
			}
			g := ga*ft.x + l2*w[k]
			g2[k] += g * g
			w[k] -= rate * g / float32(math.Sqrt(float64(g2[k])))
		}
	}
}

func sigmoid(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// clsScratch is the working memory of one classification.
type clsScratch struct {
	fz      featurizer
	vec     []feature
	logit   []float32 // article → logit (zero between queries)
	ovr     []float32 // article → one-vs-rest logit (zero between queries)
	seen    []bool
	touched []int32
	mx      float32   // the largest logit of the query, at least 0
	z       float64   // the softmax's normaliser relative to mx
	exp     []float64 // article → exp(logit − mx), for the touched articles
	er      erasure
}

// probabilities computes the probability of every article the query
// shares a feature with, and its one-vs-rest sigmoid, calling visit for
// each; the others share the rest of the mass equally. It returns the
// probability of an untouched article. The scratch keeps the query's
// logits, for erase, until release.
func (c *classifier) probabilities(s *clsScratch, query string, visit func(a int32, p, sig float32)) float32 {
	if len(s.logit) < c.classes {
		s.logit, s.ovr, s.seen = make([]float32, c.classes), make([]float32, c.classes), make([]bool, c.classes)
		s.exp = make([]float64, c.classes)
	}
	s.vec = c.vector(s.vec[:0], s.fz.features(query), &s.er)
	s.er.units = int(s.fz.units)
	s.touched = s.touched[:0]
	for _, ft := range s.vec {
		for k := c.postStart[ft.id]; k < c.postStart[ft.id+1]; k++ {
			a := c.postA[k]
			if !s.seen[a] {
				s.seen[a] = true
				s.touched = append(s.touched, a)
			}
			s.logit[a] += ft.x * c.postW[k]
			s.ovr[a] += ft.x * c.ovrW[k]
		}
	}
	s.mx, s.z = softmaxNorm(s.logit, s.touched, c.classes, s.exp)
	for _, a := range s.touched {
		visit(a, float32(s.exp[a]/s.z), sigmoid(s.ovr[a]+c.ovrBias[a]))
	}
	return float32(math.Exp(float64(-s.mx)) / s.z)
}

// release clears the scratch's logits for the next query.
func (c *classifier) release(s *clsScratch) {
	for _, a := range s.touched {
		s.logit[a], s.ovr[a], s.seen[a] = 0, 0, false
	}
	s.touched = s.touched[:0]
}

// softmaxNorm returns the largest logit of the touched articles (at least
// 0, the logit of every other one of the n) and the softmax normaliser
// relative to it: the probability of article a is exp(logit[a]−mx)/z.
// If exps is not nil, it also stores exp(logit[a]−mx) in exps[a] for each
// touched article.
func softmaxNorm(logit []float32, touched []int32, n int, exps []float64) (mx float32, z float64) {
	for _, a := range touched {
		mx = max(mx, logit[a])
	}
	z = float64(n-len(touched)) * math.Exp(float64(-mx))
	for _, a := range touched {
		e := math.Exp(float64(logit[a] - mx))
		if exps != nil {
			exps[a] = e
		}
		z += e
	}
	return mx, z
}

package kb

import "math"

// erasure measures how much the classifier's confidence in a match rests
// on a single unit of the query: a CJK character or an English word.
//
// A question the knowledge base does not answer often shares one telling
// word with an article ("How is my PIN sent?" and the article on a
// blocked PIN; "disposable" and the article on disposable cards' limits),
// and the classifier, having learnt that the word belongs to that article,
// is sure of it. A question the article answers usually says so in
// several ways at once. So each unit is taken out of the query in turn —
// its features lose its share of their counts, the rest of the vector is
// left as it is — and the least probability and one-vs-rest sigmoid of
// each candidate article over those queries is a measure of how robust
// the match is (leave-one-out erasure, as used to explain a linear
// model's decisions). The index blends it into the score (see
// params.erasure).
//
// Taking a unit out only touches the features made from it: for everyday
// questions the cost is about that of the classification itself again.
// A text that repeats itself costs more (each repeat is a unit whose
// features have many weights), hence maxErasureUnits.
type erasure struct {
	inv   float32       // the normalisation of the query's vector
	feats []erasedFeat  // the query's known features, parallel to its vector
	pairs []unitFeature // which unit made which feature, and how many times
	// Buffers of note and byUnit.
	units16 []uint16
	sorted  []unitFeature
	start   []int32
	units   int // units in the query
	// Per unit: article → the change of its logits when the unit is
	// taken out (zero between units), and the articles changed.
	dLogit, dOvr []float32
	seen         []bool
	changed      []int32
}

// erasedFeat is what erasure needs of a known feature of the query.
type erasedFeat struct {
	count int32   // occurrences in the query
	idf   float32 // its inverse document frequency
}

// unitFeature says that unit made covers occurrences of feature f.
type unitFeature struct {
	unit   uint16
	f      int32
	covers int32
}

// minErasureUnits is the fewest units a query needs for erasure: in a
// query of two, taking one out leaves too little to judge by.
// maxErasureUnits is the most: in a longer one a single unit counts for
// little, and the cost grows with the units (a long text that repeats
// itself would cost many times its classification).
const (
	minErasureUnits = 3
	maxErasureUnits = 128
)

func (er *erasure) reset() {
	er.feats, er.pairs, er.inv = er.feats[:0], er.pairs[:0], 0
}

// note records the occurrences of the f-th known feature of the query.
func (er *erasure) note(f int, count int32, idf float32, occ []occurrence) {
	er.feats = append(er.feats, erasedFeat{count: count, idf: idf})
	for _, o := range occ {
		er.units16 = o.sp.appendUnits(er.units16[:0])
		for _, u := range er.units16 {
			er.pairs = append(er.pairs, unitFeature{unit: u, f: int32(f), covers: 1})
		}
	}
}

// erase lowers pmin[i] and smin[i], which hold the probability and the
// one-vs-rest sigmoid of article cands[i] for the query of the scratch,
// to the least each takes with one unit of the query taken out. It must
// be called after probabilities and before release. It reports whether
// the query had enough units to try.
func (c *classifier) erase(s *clsScratch, cands []int32, pmin, smin []float32) bool {
	er := &s.er
	if er.units < minErasureUnits || er.units > maxErasureUnits || len(cands) == 0 {
		return false
	}
	if len(er.dLogit) < c.classes {
		er.dLogit, er.dOvr, er.seen = make([]float32, c.classes), make([]float32, c.classes), make([]bool, c.classes)
	}
	er.byUnit()
	for i := 0; i < len(er.pairs); {
		u := er.pairs[i].unit
		for ; i < len(er.pairs) && er.pairs[i].unit == u; i++ {
			pr := er.pairs[i]
			ft, ef := s.vec[pr.f], er.feats[pr.f]
			dx := ft.x // the feature's weight, less what is left of it
			if left := ef.count - pr.covers; left > 0 {
				dx -= float32(tfWeight(left)) * ef.idf * er.inv
			}
			for k := c.postStart[ft.id]; k < c.postStart[ft.id+1]; k++ {
				a := c.postA[k]
				if !er.seen[a] {
					er.seen[a] = true
					er.changed = append(er.changed, a)
				}
				er.dLogit[a] += dx * c.postW[k]
				er.dOvr[a] += dx * c.ovrW[k]
			}
		}
		// The softmax's normaliser changes only through the changed
		// articles.
		z := s.z
		for _, a := range er.changed {
			z += math.Exp(float64(s.logit[a]-er.dLogit[a]-s.mx)) - s.exp[a]
		}
		z = max(z, math.SmallestNonzeroFloat64)
		for j, a := range cands {
			p := float32(math.Exp(float64(s.logit[a]-er.dLogit[a]-s.mx)) / z)
			pmin[j] = min(pmin[j], p)
			smin[j] = min(smin[j], sigmoid(s.ovr[a]-er.dOvr[a]+c.ovrBias[a]))
		}
		for _, a := range er.changed {
			er.dLogit[a], er.dOvr[a], er.seen[a] = 0, 0, false
		}
		er.changed = er.changed[:0]
	}
	return true
}

// byUnit sorts the pairs by unit, keeping the order of the features within
// a unit (a counting sort: there are few units), and merges the pairs of
// the same unit and feature.
func (er *erasure) byUnit() {
	er.start = append(er.start[:0], make([]int32, er.units+1)...)
	for _, p := range er.pairs {
		er.start[p.unit+1]++
	}
	for u := range er.units {
		er.start[u+1] += er.start[u]
	}
	er.sorted = append(er.sorted[:0], er.pairs...)
	for _, p := range er.pairs {
		er.sorted[er.start[p.unit]] = p
		er.start[p.unit]++
	}
	er.pairs, er.sorted = mergeCovers(er.sorted), er.pairs
}

// mergeCovers merges the pairs of the same unit and feature, which are
// next to each other, adding up their covers.
func mergeCovers(pairs []unitFeature) []unitFeature {
	out := pairs[:0]
	for _, p := range pairs {
		if n := len(out); n > 0 && out[n-1].unit == p.unit && out[n-1].f == p.f {
			out[n-1].covers += p.covers
			continue
		}
		out = append(out, p)
	}
	return out
}

package kb

import (
	"cmp"
	"slices"
)

// maxPatched is the most articles Patched matches by similarity alone;
// past it (a large import, say) the knowledge base waits for a full build.
const maxPatched = 200

// patch is what a patched index changes in the index it was made from.
type patch struct {
	overlay *Index // similarity alone, over the new and the changed articles
	hidden  []bool // article of the base → removed or changed
	nHidden int
	n       int // articles in all
}

// Patched returns an index of articles (the published ones, as NewIndex
// takes them), made in milliseconds from ix, so that a publish reaches
// users at once while NewIndex(articles) trains its classifier, which takes
// seconds on a large knowledge base. Articles whose questions, title and
// kind are unchanged keep ix's matching, with their new answers and other
// fields; new articles and those whose questions changed are matched by
// similarity alone beside them (a near-exact question scores as high as
// ever), and removed ones are no longer returned (their questions still
// weigh a little in the scores of the others until the full build). When
// nothing needs matching anew (only answers and other fields changed), the
// index matches exactly as NewIndex(articles) would, and complete is true:
// it need not be replaced. It returns nil when more than maxPatched
// articles would need it, or when an out-of-scope article is new, changed
// or removed: its examples lower every answer's score, which only a full
// build gets right.
func (ix *Index) Patched(articles []Article) (p *Index, complete bool) {
	if ix == nil || ix.patch != nil {
		return nil, false
	}
	next := indexable(articles)
	base := ix.copyMatching()
	base.articles = slices.Clone(ix.articles)
	same := len(next) == len(ix.articles)
	var fresh []Article
	seen := make([]bool, len(ix.articles))
	for i, a := range next {
		at, ok := ix.byID[a.ID]
		if !ok || !sameMatching(ix.articles[at], a) {
			fresh = append(fresh, a)
			same = false
			continue
		}
		seen[at] = true
		base.articles[at] = a
		same = same && int(at) == i
	}
	if same {
		return base, true
	}
	if len(fresh) > maxPatched || slices.ContainsFunc(fresh, func(a Article) bool { return a.Kind == KindOutOfScope }) {
		return nil, false
	}
	pt := &patch{hidden: make([]bool, len(ix.articles)), n: len(next)}
	for i, kept := range seen {
		if !kept {
			if ix.isNeg(int32(i)) {
				return nil, false
			}
			pt.hidden[i] = true
			pt.nHidden++
		}
	}
	if len(fresh) > 0 {
		sim := defaultParams
		sim.clsWeight = 0
		pt.overlay = newIndex(fresh, sim)
	}
	base.patch = pt
	return base, false
}

// sameMatching reports whether two versions of an article are matched the
// same way: same questions, title and kind.
func sameMatching(a, b Article) bool {
	return a.ID == b.ID && a.Question == b.Question && a.Title == b.Title && a.Kind == b.Kind &&
		slices.Equal(a.Similar, b.Similar)
}

// copyMatching returns a new index sharing ix's matching (immutable), with
// its own scratch pool and no patch.
func (ix *Index) copyMatching() *Index {
	c := &Index{
		articles: ix.articles, byID: ix.byID, aStart: ix.aStart, qArticle: ix.qArticle, questions: ix.questions,
		qLang: ix.qLang, termIDs: ix.termIDs, termW: ix.termW, unknownW: ix.unknownW, postStart: ix.postStart,
		postQ: ix.postQ, postW: ix.postW, cnorm: ix.cnorm, centroid: ix.centroid, cls: ix.cls,
		clsWeight: ix.clsWeight, ovrShare: ix.ovrShare, erasure: ix.erasure, neg: ix.neg,
	}
	c.initPool()
	return c
}

// searchPatched is Search on a patched index: the base's matches without
// the removed and changed articles, and the overlay's, by score.
func (ix *Index) searchPatched(query string, k int) []Match {
	if k <= 0 {
		return nil
	}
	pt := ix.patch
	ms := ix.search(query, k+pt.nHidden)
	ms = slices.DeleteFunc(ms, func(m Match) bool { return pt.hidden[ix.byID[m.Article.ID]] })
	if pt.overlay != nil {
		ms = append(ms, pt.overlay.search(query, k)...)
	}
	if len(ms) == 0 {
		return nil
	}
	slices.SortStableFunc(ms, func(a, b Match) int { return cmp.Compare(b.Score, a.Score) })
	return ms[:min(k, len(ms))]
}

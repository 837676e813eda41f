package kb

import "sync"

// LiveIndex keeps the index of a changing set of articles — the published
// ones, or an editor's drafts — up to date without making anyone wait for
// a classifier to train, which takes seconds on a large knowledge base.
// Update serves a new set at once, patched onto the last index built whole
// (see Index.Patched), and builds the full index in the background: one
// build at a time, always of the latest set. It is safe for concurrent
// use.
type LiveIndex struct {
	serve func(*Index) // told of every index served, in order, under mu

	mu       sync.Mutex
	cur      *Index    // what is served
	full     *Index    // an index built whole: what sets are patched onto
	latest   []Article // the latest set
	gen      int       // counts the sets
	due      bool      // the latest set waits for a full build
	building bool
}

// NewLiveIndex returns a LiveIndex serving ix (nil: none until the first
// Update, which then builds in full before it returns). serve, if not nil,
// is called with each index as it comes to be served, in order.
func NewLiveIndex(ix *Index, serve func(*Index)) *LiveIndex {
	if serve == nil {
		serve = func(*Index) {}
	}
	return &LiveIndex{serve: serve, cur: ix, full: ix}
}

// Current returns the index served and whether it is approximate: patched,
// or of an older set, while the full index of the latest set trains.
func (l *LiveIndex) Current() (ix *Index, approximate bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.cur != l.full || l.due
}

// Building reports whether a full index is being built.
func (l *LiveIndex) Building() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.building
}

// Update serves articles (as NewIndex takes them): at once when they can
// be patched onto the last full index (and for good when only answers and
// other fields changed), in full when the background build is done.
func (l *LiveIndex) Update(articles []Article) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latest = articles
	l.gen++
	if l.full == nil {
		l.setFull(NewIndex(articles))
		return
	}
	if l.patch(articles) {
		l.due = false
		return
	}
	l.due = true
	if !l.building {
		l.building = true
		go l.build()
	}
}

// patch serves articles patched onto the full index, if they can be, and
// reports whether that is complete. l.mu is held.
func (l *LiveIndex) patch(articles []Article) bool {
	p, complete := l.full.Patched(articles)
	if p == nil {
		return false
	}
	l.cur = p
	l.serve(p)
	if complete {
		l.full = p
	}
	return complete
}

// setFull serves ix, built whole. l.mu is held.
func (l *LiveIndex) setFull(ix *Index) {
	l.full, l.cur = ix, ix
	l.serve(ix)
}

// build builds the full index of the latest set until none is due. A
// build overtaken by a newer set is not served: the newer set is patched
// onto it (a fresher base) when that set still waits for its own build,
// and dropped when the newer set was served complete meanwhile.
func (l *LiveIndex) build() {
	for {
		l.mu.Lock()
		if !l.due {
			l.building = false
			l.mu.Unlock()
			return
		}
		articles, gen := l.latest, l.gen
		l.due = false
		l.mu.Unlock()

		full := NewIndex(articles)

		l.mu.Lock()
		switch {
		case gen == l.gen:
			l.setFull(full)
		case l.due:
			l.full = full
			if l.patch(l.latest) {
				l.due = false
			}
		}
		l.mu.Unlock()
	}
}

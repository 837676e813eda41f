package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
)

// kbReloader keeps the router's index in step with the published
// knowledge base. A publish is patched in at once (kb.Index.Patched); the
// full index, whose classifier takes seconds to train on a large knowledge
// base, is built in the background, one build at a time, always of the
// latest revision, so that publishes in quick succession each reach users
// at once.
type kbReloader struct {
	router *intents.Router
	log    *slog.Logger

	mu       sync.Mutex
	full     *kb.Index    // the last index built whole: what publishes are patched onto
	pending  []kb.Article // the latest revision's articles, when a full build of them is due
	rev      int64        // the latest revision
	due      bool         // a full build of pending is due
	building bool         // the builder goroutine runs
}

func newKBReloader(router *intents.Router, log *slog.Logger) *kbReloader {
	return &kbReloader{router: router, log: log, full: router.Index()}
}

// publish serves the articles of revision rev: patched at once when it
// can be, in full when the background build is done.
func (r *kbReloader) publish(articles []kb.Article, rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	r.rev = rev
	if r.patch(articles) {
		r.due = false
		r.log.Info("knowledge base reloaded", "revision", rev, "articles", len(articles), "took", time.Since(start))
		return
	}
	r.pending, r.due = articles, true
	if !r.building {
		r.building = true
		go r.build()
	}
}

// patch serves articles patched onto the last full index, if it can, and
// reports whether that is complete (no full build needed). r.mu is held.
func (r *kbReloader) patch(articles []kb.Article) bool {
	p, complete := r.full.Patched(articles)
	if p == nil {
		return false
	}
	r.router.SetIndex(p)
	if complete {
		r.full = p
	}
	return complete
}

// build builds full indexes until none is due.
func (r *kbReloader) build() {
	for {
		r.mu.Lock()
		if !r.due {
			r.building = false
			r.mu.Unlock()
			return
		}
		articles, rev := r.pending, r.rev
		r.due = false
		r.mu.Unlock()

		start := time.Now()
		full := kb.NewIndex(articles)

		r.mu.Lock()
		r.full = full
		if r.due {
			// A newer publish came meanwhile: patch it onto this fresher
			// base, or at least serve the base, closer to it than before.
			if r.patch(r.pending) {
				r.due = false
			} else {
				r.router.SetIndex(full)
			}
		} else {
			r.router.SetIndex(full)
		}
		r.mu.Unlock()
		r.log.Info("knowledge base reloaded", "revision", rev, "articles", len(articles), "took", time.Since(start))
	}
}

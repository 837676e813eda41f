// Package kbtest is the conformance suite of kb.Store and kb.Notifier:
// every implementation runs these tests from its own test file, so the
// embedded and the shared mode behave alike.
//
//	func TestStore(t *testing.T) {
//		kbtest.TestStore(t, func(t *testing.T) kb.Store { return newStore(t) })
//	}
//
// TestStore also drives a kb.Editor over the store (publish, rollback,
// import, the unanswered queue); TestNotifier and TestWatch check that a
// publish reaches another instance.
package kbtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/kb"
)

// TestStore runs the conformance tests of a kb.Store. newStore returns an
// empty store for one subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) kb.Store) {
	t.Run("Save", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testSaveOK(t, newStore(t)) })
		t.Run("Text", func(t *testing.T) { testSaveText(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
		t.Run("Concurrent", func(t *testing.T) { testSaveConcurrent(t, newStore(t)) })
		t.Run("Conditional", func(t *testing.T) { testSaveConditional(t, newStore(t)) })
	})
	t.Run("Heads", func(t *testing.T) { testHeads(t, newStore(t)) })
	t.Run("Publish", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testPublishOK(t, newStore(t)) })
		t.Run("Archive", func(t *testing.T) { testArchive(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testPublishNotFound(t, newStore(t)) })
		t.Run("Expect", func(t *testing.T) { testPublishExpect(t, newStore(t)) })
		t.Run("StatusLog", func(t *testing.T) { testStatusLog(t, newStore(t)) })
	})
	t.Run("Seed", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testSeedOK(t, newStore(t)) })
		t.Run("NotEmpty", func(t *testing.T) { testSeedNotEmpty(t, newStore(t)) })
		t.Run("Concurrent", func(t *testing.T) { testSeedConcurrent(t, newStore(t)) })
	})
	t.Run("Unanswered", func(t *testing.T) {
		t.Run("Record", func(t *testing.T) { testUnansweredRecord(t, newStore(t)) })
		t.Run("Limit", func(t *testing.T) { testUnansweredLimit(t, newStore(t)) })
		t.Run("Batch", func(t *testing.T) { testUnansweredBatch(t, newStore(t)) })
		t.Run("Delete", func(t *testing.T) { testUnansweredDelete(t, newStore(t)) })
	})
	t.Run("Editor", func(t *testing.T) {
		t.Run("PublishRollback", func(t *testing.T) { testEditorPublishRollback(t, newStore(t)) })
		t.Run("Seed", func(t *testing.T) { testEditorSeed(t, newStore(t)) })
		t.Run("Import", func(t *testing.T) { testEditorImport(t, newStore(t)) })
		t.Run("ImportRoundTrip", func(t *testing.T) { testEditorImportRoundTrip(t, newStore(t)) })
		t.Run("Check", func(t *testing.T) { testEditorCheck(t, newStore(t)) })
		t.Run("SaveUnchanged", func(t *testing.T) { testEditorSaveUnchanged(t, newStore(t)) })
		t.Run("ImportArchived", func(t *testing.T) { testEditorImportArchived(t, newStore(t)) })
		t.Run("ImportStale", func(t *testing.T) { testEditorImportStale(t, newStore(t)) })
		t.Run("ImportPublishRace", func(t *testing.T) { testEditorImportPublishRace(t, newStore(t)) })
		t.Run("Unanswered", func(t *testing.T) { testEditorUnanswered(t, newStore(t)) })
		t.Run("ResolveArchiveRace", func(t *testing.T) { testEditorResolveArchiveRace(t, newStore(t)) })
	})
}

// awkward is text that storage must keep byte for byte: Chinese, quotes,
// emoji, backslashes, HTML, the CSV list separator, and control characters
// other than NUL.
const awkward = "我的账号被盗了！\"转人工\" 'quote' ]]> <b>&amp;</b> 😀👨‍👩‍👧 a|b \\| \\n\\\" tab\there\r\nbell\a\x01\x1f\x7f end"

var (
	cst  = time.FixedZone("CST", 8*3600)
	day  = time.Date(2026, 11, 25, 9, 30, 0, 123456000, cst)
	opts = cmp.Options{cmpopts.EquateEmpty()}
)

// article returns a valid article; n varies its answer.
func article(id string, n int) kb.Article {
	return kb.Article{
		ID: id, Title: "标题 " + id, Question: "怎么联系客服 " + id, Similar: []string{"客服电话", "人工客服在哪"},
		Answer: fmt.Sprintf("答案 %d", n), AnswerEN: "Answer", Category: "渠道", Tags: []string{"渠道", "电话"},
		Kind: kb.KindFAQ, Status: kb.StatusDraft,
	}
}

func mustSave(t *testing.T, s kb.Store, a kb.Article, at time.Time) kb.Version {
	t.Helper()
	v, err := s.Save(context.Background(), a, "editor1", "note", at, kb.AnyBase)
	if err != nil {
		t.Fatalf("Save(%s): %v", a.ID, err)
	}
	return v
}

func mustHead(t *testing.T, s kb.Store, id string) kb.Head {
	t.Helper()
	h, err := s.Head(context.Background(), id)
	if err != nil {
		t.Fatalf("Head(%s): %v", id, err)
	}
	return h
}

func mustPublished(t *testing.T, s kb.Store) ([]kb.Version, int64) {
	t.Helper()
	vs, rev, err := s.Published(context.Background())
	if err != nil {
		t.Fatalf("Published: %v", err)
	}
	return vs, rev
}

func testSaveOK(t *testing.T, s kb.Store) {
	ctx := context.Background()
	var want []kb.Version
	for n := 1; n <= 3; n++ {
		v := mustSave(t, s, article("a", n), day.Add(time.Duration(n)*time.Minute))
		w := kb.Version{ID: "a", Version: n, Article: article("a", n), Author: "editor1", At: day.Add(time.Duration(n) * time.Minute), Note: "note"}
		if diff := cmp.Diff(w, v, opts); diff != "" {
			t.Fatalf("Save #%d (-want +got):\n%s", n, diff)
		}
		want = append(want, w)
	}
	for _, w := range want {
		got, err := s.Version(ctx, "a", w.Version)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, got, opts); diff != "" {
			t.Errorf("Version(a, %d) (-want +got):\n%s", w.Version, diff)
		}
	}
	hist, err := s.History(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, hist, opts); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	h := mustHead(t, s, "a")
	wantHead := kb.Head{Article: article("a", 3), Latest: 3, UpdatedBy: "editor1", UpdatedAt: day.Add(3 * time.Minute)}
	if diff := cmp.Diff(wantHead, h, opts); diff != "" {
		t.Errorf("Head (-want +got):\n%s", diff)
	}
}

func testSaveText(t *testing.T, s kb.Store) {
	a := article("text", 1)
	a.Title, a.Question, a.Answer, a.AnswerEN, a.Category = awkward, awkward, awkward, awkward, awkward
	a.Similar, a.Tags = []string{awkward, "二"}, []string{awkward}
	mustSave(t, s, a, day)
	v, err := s.Version(context.Background(), "text", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, v.Article); diff != "" {
		t.Errorf("stored text changed (-want +got):\n%s", diff)
	}
	if h := mustHead(t, s, "text"); !cmp.Equal(a, h.Article) {
		t.Errorf("Head changed the text: %+v", h.Article)
	}
}

func testNotFound(t *testing.T, s kb.Store) {
	ctx := context.Background()
	mustSave(t, s, article("a", 1), day)
	if _, err := s.Version(ctx, "a", 2); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Version(a, 2) = %v, want ErrNotFound", err)
	}
	if _, err := s.Version(ctx, "nope", 1); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Version(nope, 1) = %v, want ErrNotFound", err)
	}
	if _, err := s.History(ctx, "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("History(nope) = %v, want ErrNotFound", err)
	}
	if _, err := s.Head(ctx, "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Head(nope) = %v, want ErrNotFound", err)
	}
}

// testSaveConditional: a save based on a version that is no longer the
// latest stores nothing and says ErrConflict; of many editors starting
// from the same version, exactly one saves.
func testSaveConditional(t *testing.T, s kb.Store) {
	ctx := context.Background()
	if _, err := s.Save(ctx, article("c", 1), "ed", "", day, kb.Base{Version: 0}); err != nil {
		t.Fatalf("create-only save of a new article: %v", err)
	}
	if _, err := s.Save(ctx, article("c", 2), "ed", "", day, kb.Base{Version: 0}); !errors.Is(err, kb.ErrConflict) {
		t.Errorf("create-only save of an existing article = %v, want ErrConflict", err)
	}
	if _, err := s.Save(ctx, article("c", 3), "ed", "", day, kb.Base{Version: 2}); !errors.Is(err, kb.ErrConflict) {
		t.Errorf("save based on version 2 of 1 = %v, want ErrConflict", err)
	}
	const editors = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		saved int
	)
	for i := range editors {
		wg.Go(func() {
			_, err := s.Save(ctx, article("c", 10+i), fmt.Sprintf("ed%d", i), "", day, kb.Base{Version: 1})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				saved++
			case !errors.Is(err, kb.ErrConflict):
				t.Errorf("editor %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if saved != 1 {
		t.Errorf("%d editors saved on top of version 1, want exactly 1", saved)
	}
	if h := mustHead(t, s, "c"); h.Latest != 2 {
		t.Errorf("latest version %d, want 2 (nothing refused was stored)", h.Latest)
	}

	// Archived since the edit started: a save that did not start from it
	// archived is refused, one that did restores it as a draft, and an
	// unconditional one restores it too.
	if _, err := s.Archive(ctx, []string{"c"}, nil, "boss", day); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, article("c", 20), "ed", "", day, kb.Base{Version: 2}); !errors.Is(err, kb.ErrConflict) {
		t.Errorf("save of an article archived since = %v, want ErrConflict", err)
	}
	if h := mustHead(t, s, "c"); h.Latest != 2 || h.Article.Status != kb.StatusArchived {
		t.Errorf("after a refused save: version %d, %s; want 2, still archived", h.Latest, h.Article.Status)
	}
	if _, err := s.Save(ctx, article("c", 21), "ed", "", day, kb.Base{Version: 2, Archived: true}); err != nil {
		t.Errorf("save of an archived article that started from it archived: %v", err)
	}
	if h := mustHead(t, s, "c"); h.Latest != 3 || h.Article.Status != kb.StatusDraft {
		t.Errorf("after restoring: version %d, %s; want 3, a draft", h.Latest, h.Article.Status)
	}
	if _, err := s.Archive(ctx, []string{"c"}, nil, "boss", day); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, article("c", 22), "ed", "", day, kb.AnyBase); err != nil {
		t.Errorf("unconditional save of an archived article: %v", err)
	}
	if h := mustHead(t, s, "c"); h.Article.Status != kb.StatusDraft {
		t.Errorf("after an unconditional save: %s, want a draft", h.Article.Status)
	}
}

// testSaveConcurrent: many writers saving one article get the versions 1…n,
// each exactly once, and every save is kept.
func testSaveConcurrent(t *testing.T, s kb.Store) {
	const writers, saves = 8, 8
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers*saves)
	for w := range writers {
		wg.Go(func() {
			for i := range saves {
				a := article("hot", w*saves+i)
				if _, err := s.Save(ctx, a, fmt.Sprintf("w%d", w), fmt.Sprintf("%d/%d", w, i), day, kb.AnyBase); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != writers*saves {
		t.Fatalf("History has %d versions, want %d", len(hist), writers*saves)
	}
	notes := map[string]bool{}
	for i, v := range hist {
		if v.Version != i+1 {
			t.Fatalf("version #%d is numbered %d", i+1, v.Version)
		}
		notes[v.Note] = true
	}
	if len(notes) != writers*saves {
		t.Errorf("%d distinct saves kept, want %d", len(notes), writers*saves)
	}
	if h := mustHead(t, s, "hot"); h.Latest != writers*saves {
		t.Errorf("Head.Latest = %d, want %d", h.Latest, writers*saves)
	}
}

func testHeads(t *testing.T, s kb.Store) {
	ctx := context.Background()
	if hs, err := s.Heads(ctx); err != nil || len(hs) != 0 {
		t.Fatalf("Heads of an empty store = %v, %v", hs, err)
	}
	for _, id := range []string{"c", "a", "b"} {
		mustSave(t, s, article(id, 1), day)
	}
	mustSave(t, s, article("a", 2), day.Add(time.Minute))
	if _, err := s.Publish(ctx, []string{"b"}, nil, "boss", day.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Archive(ctx, []string{"c"}, nil, "boss", day.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	hs, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []kb.Head{
		{Article: article("a", 2), Latest: 2, UpdatedBy: "editor1", UpdatedAt: day.Add(time.Minute)},
		{Article: withStatus(article("b", 1), kb.StatusPublished), Latest: 1, Published: 1, UpdatedBy: "editor1", UpdatedAt: day,
			StatusBy: "boss", StatusAt: day.Add(2 * time.Minute)},
		{Article: withStatus(article("c", 1), kb.StatusArchived), Latest: 1, UpdatedBy: "editor1", UpdatedAt: day,
			StatusBy: "boss", StatusAt: day.Add(3 * time.Minute)},
	}
	if diff := cmp.Diff(want, hs, opts); diff != "" {
		t.Errorf("Heads (-want +got):\n%s", diff)
	}
}

func withStatus(a kb.Article, st kb.Status) kb.Article {
	a.Status = st
	return a
}

func testPublishOK(t *testing.T, s kb.Store) {
	ctx := context.Background()
	if vs, rev := mustPublished(t, s); len(vs) != 0 || rev != 0 {
		t.Fatalf("Published of an empty store = %d versions, revision %d", len(vs), rev)
	}
	mustSave(t, s, article("a", 1), day)
	mustSave(t, s, article("b", 1), day)
	rev, err := s.Publish(ctx, []string{"a", "b"}, nil, "boss", day)
	if err != nil || rev != 1 {
		t.Fatalf("Publish = %d, %v; want 1", rev, err)
	}
	mustSave(t, s, article("a", 2), day.Add(time.Minute))

	// a answers with version 1 while version 2 waits.
	vs, got := mustPublished(t, s)
	if got != 1 || len(vs) != 2 || vs[0].ID != "a" || vs[0].Version != 1 || vs[0].Article.Answer != "答案 1" || vs[1].ID != "b" {
		t.Fatalf("Published = %+v, revision %d", vs, got)
	}
	if h := mustHead(t, s, "a"); h.Latest != 2 || h.Published != 1 || !h.Pending() || h.Article.Status != kb.StatusPublished {
		t.Errorf("Head(a) = %+v, want version 2 pending over published 1", h)
	}

	rev, err = s.Publish(ctx, []string{"a"}, nil, "boss", day.Add(2*time.Minute))
	if err != nil || rev != 2 {
		t.Fatalf("second Publish = %d, %v; want 2", rev, err)
	}
	vs, _ = mustPublished(t, s)
	if vs[0].Version != 2 || vs[0].Article.Answer != "答案 2" {
		t.Errorf("after publishing again a is %+v", vs[0])
	}
	if r, err := s.Revision(ctx); err != nil || r != 2 {
		t.Errorf("Revision = %d, %v; want 2", r, err)
	}
}

func testArchive(t *testing.T, s kb.Store) {
	ctx := context.Background()
	mustSave(t, s, article("a", 1), day)
	mustSave(t, s, article("b", 1), day)
	if _, err := s.Publish(ctx, []string{"a", "b"}, nil, "boss", day); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Archive(ctx, []string{"a"}, nil, "boss", day)
	if err != nil || rev != 2 {
		t.Fatalf("Archive = %d, %v; want 2", rev, err)
	}
	vs, _ := mustPublished(t, s)
	if len(vs) != 1 || vs[0].ID != "b" {
		t.Errorf("Published after archiving a = %+v", vs)
	}
	if h := mustHead(t, s, "a"); h.Article.Status != kb.StatusArchived || h.Published != 0 {
		t.Errorf("archived Head = %+v", h)
	}
	// Saving an archived article makes it a draft; publishing it brings it back.
	mustSave(t, s, article("a", 2), day)
	if h := mustHead(t, s, "a"); h.Article.Status != kb.StatusDraft {
		t.Errorf("Head after saving an archived article: status %s, want draft", h.Article.Status)
	}
	if _, err := s.Archive(ctx, []string{"a"}, nil, "boss", day); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, []string{"a"}, nil, "boss", day); err != nil {
		t.Fatal(err)
	}
	if h := mustHead(t, s, "a"); h.Article.Status != kb.StatusPublished || h.Published != 2 {
		t.Errorf("Head after publishing an archived article = %+v", h)
	}
}

func testPublishNotFound(t *testing.T, s kb.Store) {
	ctx := context.Background()
	mustSave(t, s, article("a", 1), day)
	for _, f := range []func(context.Context, []string, map[string]int, string, time.Time) (int64, error){s.Publish, s.Archive} {
		if _, err := f(ctx, []string{"a", "nope"}, nil, "boss", day); !errors.Is(err, kb.ErrNotFound) {
			t.Errorf("Publish/Archive of an unknown article = %v, want ErrNotFound", err)
		}
	}
	if vs, rev := mustPublished(t, s); len(vs) != 0 || rev != 0 {
		t.Errorf("a failed Publish changed the published set: %+v, revision %d", vs, rev)
	}
	if h := mustHead(t, s, "a"); h.Article.Status != kb.StatusDraft {
		t.Errorf("a failed Archive changed the status to %s", h.Article.Status)
	}
}

// testStatusLog: every publish and archive is logged per article, with
// the version it put live or took out, who and when; a refused one is not.
func testStatusLog(t *testing.T, s kb.Store) {
	ctx := context.Background()
	mustSave(t, s, article("a", 1), day)
	if _, err := s.Publish(ctx, []string{"a"}, nil, "boss", day.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, article("a", 2), day)
	if _, err := s.Publish(ctx, []string{"a"}, map[string]int{"a": 1}, "boss", day); !errors.Is(err, kb.ErrConflict) {
		t.Fatalf("Publish expecting an old version = %v", err)
	}
	if _, err := s.Publish(ctx, []string{"a"}, nil, "boss", day.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Archive(ctx, []string{"a"}, nil, "other", day.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Archived already: nothing changes, nothing is logged, the revision stays.
	if again, err := s.Archive(ctx, []string{"a"}, nil, "other", day.Add(4*time.Minute)); err != nil || again != rev {
		t.Errorf("Archive of an archived article = %d, %v; want the revision as it was, %d", again, err, rev)
	}
	got, err := s.StatusLog(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := []kb.StatusEvent{
		{Action: kb.ActionPublish, Version: 1, By: "boss", At: day.Add(time.Minute)},
		{Action: kb.ActionPublish, Version: 2, By: "boss", At: day.Add(2 * time.Minute)},
		{Action: kb.ActionArchive, Version: 2, By: "other", At: day.Add(3 * time.Minute)},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("StatusLog (-want +got):\n%s", diff)
	}
	if got, err := s.StatusLog(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("StatusLog of an unknown article = %v, %v; want none", got, err)
	}
}

// testPublishExpect: a publish or an archive that expects versions goes
// ahead only when every article named is still at its version; otherwise
// it changes nothing, neither the published set nor the revision.
func testPublishExpect(t *testing.T, s kb.Store) {
	ctx := context.Background()
	mustSave(t, s, article("a", 1), day)
	mustSave(t, s, article("b", 1), day)
	mustSave(t, s, article("b", 2), day) // b is at version 2
	for _, f := range []func(context.Context, []string, map[string]int, string, time.Time) (int64, error){s.Publish, s.Archive} {
		if _, err := f(ctx, []string{"a", "b"}, map[string]int{"a": 1, "b": 1}, "boss", day); !errors.Is(err, kb.ErrConflict) {
			t.Errorf("Publish/Archive expecting b at version 1 = %v, want ErrConflict", err)
		}
	}
	if vs, rev := mustPublished(t, s); len(vs) != 0 || rev != 0 {
		t.Errorf("a refused Publish changed the published set: %+v, revision %d", vs, rev)
	}
	if h := mustHead(t, s, "a"); h.Article.Status != kb.StatusDraft {
		t.Errorf("a refused Archive changed a's status to %s", h.Article.Status)
	}
	rev, err := s.Publish(ctx, []string{"a", "b"}, map[string]int{"b": 2}, "boss", day)
	if err != nil || rev != 1 {
		t.Fatalf("Publish expecting b at version 2 = %d, %v", rev, err)
	}
	if h := mustHead(t, s, "b"); h.Published != 2 {
		t.Errorf("b published at %d, want 2", h.Published)
	}
}

func seedArticles() []kb.Article {
	return []kb.Article{article("s1", 1), article("s2", 1), article("s3", 1)}
}

func testSeedOK(t *testing.T, s kb.Store) {
	ctx := context.Background()
	ok, err := s.Seed(ctx, seedArticles(), "system", day)
	if err != nil || !ok {
		t.Fatalf("Seed of an empty store = %v, %v", ok, err)
	}
	vs, rev := mustPublished(t, s)
	if rev != 1 || len(vs) != 3 {
		t.Fatalf("after Seed: %d published, revision %d", len(vs), rev)
	}
	for i, v := range vs {
		want := kb.Version{ID: seedArticles()[i].ID, Version: 1, Article: seedArticles()[i], Author: "system", At: day}
		if diff := cmp.Diff(want, v, opts); diff != "" {
			t.Errorf("seeded version (-want +got):\n%s", diff)
		}
	}
	h := mustHead(t, s, "s2")
	if h.Latest != 1 || h.Published != 1 || h.StatusBy != "system" || !h.StatusAt.Equal(day) || h.Article.Status != kb.StatusPublished {
		t.Errorf("seeded Head = %+v", h)
	}
	log, err := s.StatusLog(ctx, "s2")
	if want := []kb.StatusEvent{{Action: kb.ActionPublish, Version: 1, By: "system", At: day}}; err != nil ||
		!cmp.Equal(want, log, cmpopts.EquateApproxTime(0)) {
		t.Errorf("seeded StatusLog = %+v, %v; want %+v", log, err, want)
	}
	ok, err = s.Seed(ctx, []kb.Article{article("x", 1)}, "system", day)
	if err != nil || ok {
		t.Errorf("second Seed = %v, %v; want false", ok, err)
	}
	if _, err := s.Head(ctx, "x"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("second Seed stored an article: %v", err)
	}
}

func testSeedNotEmpty(t *testing.T, s kb.Store) {
	mustSave(t, s, article("mine", 1), day)
	ok, err := s.Seed(context.Background(), seedArticles(), "system", day)
	if err != nil || ok {
		t.Fatalf("Seed of a store with an article = %v, %v; want false", ok, err)
	}
	if hs, _ := s.Heads(context.Background()); len(hs) != 1 {
		t.Errorf("Seed added articles to a store that had one: %d", len(hs))
	}
}

func testSeedConcurrent(t *testing.T, s kb.Store) {
	const n = 4
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		seeded int
	)
	for range n {
		wg.Go(func() {
			ok, err := s.Seed(context.Background(), seedArticles(), "system", day)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				seeded++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if seeded != 1 {
		t.Errorf("%d of %d concurrent seeds seeded, want 1", seeded, n)
	}
	if hist, err := s.History(context.Background(), "s1"); err != nil || len(hist) != 1 {
		t.Errorf("History(s1) after concurrent seeds = %d versions, %v", len(hist), err)
	}
}

func record(t *testing.T, s kb.Store, u kb.Unanswered, max int) {
	t.Helper()
	if err := s.RecordUnanswered(context.Background(), []kb.Unanswered{u}, max); err != nil {
		t.Fatalf("RecordUnanswered(%q): %v", u.Text, err)
	}
}

func texts(t *testing.T, s kb.Store) []kb.UnansweredText {
	t.Helper()
	ts, err := s.UnansweredTexts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ts, func(a, b kb.UnansweredText) int { return a.LastSeen.Compare(b.LastSeen) })
	return ts
}

func testUnansweredRecord(t *testing.T, s kb.Store) {
	record(t, s, kb.Unanswered{Text: awkward, Reason: kb.ReasonFailed, At: day.Add(time.Minute)}, 10)
	record(t, s, kb.Unanswered{Text: awkward, Reason: kb.ReasonHandoff, At: day, ArticleID: "a", Score: 0.2}, 10)
	record(t, s, kb.Unanswered{Text: awkward, Reason: kb.ReasonFailed, At: day.Add(2 * time.Minute), ArticleID: "b", Score: 0.1}, 10)
	record(t, s, kb.Unanswered{Text: awkward, Reason: kb.ReasonFailed, At: day.Add(30 * time.Second), ArticleID: "c", Score: 0.15}, 10)
	record(t, s, kb.Unanswered{Text: "别的问题", Reason: kb.ReasonFailed, At: day.Add(3 * time.Minute)}, 10)
	want := []kb.UnansweredText{
		{Text: awkward, UnansweredStats: kb.UnansweredStats{Count: 4, Failed: 3, Handoff: 1, FirstSeen: day, LastSeen: day.Add(2 * time.Minute), ArticleID: "a", Score: 0.2}},
		{Text: "别的问题", UnansweredStats: kb.UnansweredStats{Count: 1, Failed: 1, FirstSeen: day.Add(3 * time.Minute), LastSeen: day.Add(3 * time.Minute)}},
	}
	if diff := cmp.Diff(want, texts(t, s), opts); diff != "" {
		t.Errorf("UnansweredTexts (-want +got):\n%s", diff)
	}
}

// testUnansweredLimit: beyond the limit the least recently seen texts go;
// a repeat refreshes a text.
func testUnansweredLimit(t *testing.T, s kb.Store) {
	for i := range 5 {
		record(t, s, kb.Unanswered{Text: fmt.Sprintf("问题%d", i), Reason: kb.ReasonFailed, At: day.Add(time.Duration(i) * time.Minute)}, 3)
	}
	record(t, s, kb.Unanswered{Text: "问题2", Reason: kb.ReasonFailed, At: day.Add(10 * time.Minute)}, 3)
	record(t, s, kb.Unanswered{Text: "问题9", Reason: kb.ReasonFailed, At: day.Add(11 * time.Minute)}, 3)
	var got []string
	for _, x := range texts(t, s) {
		got = append(got, x.Text)
	}
	if want := []string{"问题4", "问题2", "问题9"}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
}

// testUnansweredBatch: a batch counts each record, repeats included, and
// the texts are trimmed down to the limit only once past it by the slack.
func testUnansweredBatch(t *testing.T, s kb.Store) {
	const max = 16 // slack 1
	if kb.UnansweredSlack(max) != 1 {
		t.Fatalf("UnansweredSlack(%d) = %d, want 1", max, kb.UnansweredSlack(max))
	}
	var batch []kb.Unanswered
	for i := range 18 {
		batch = append(batch, kb.Unanswered{Text: fmt.Sprintf("问题%02d", i), Reason: kb.ReasonFailed, At: day.Add(time.Duration(i) * time.Minute)})
	}
	batch = append(batch, kb.Unanswered{Text: "问题17", Reason: kb.ReasonHandoff, At: day.Add(20 * time.Minute)})
	if err := s.RecordUnanswered(context.Background(), batch, max); err != nil {
		t.Fatal(err)
	}
	got := texts(t, s)
	if len(got) != max || got[0].Text != "问题02" || got[max-1].Text != "问题17" {
		t.Fatalf("after 18 texts: kept %d, from %q to %q; want %d, 问题02 to 问题17", len(got), got[0].Text, got[len(got)-1].Text, max)
	}
	if last := got[max-1]; last.Count != 2 || last.Failed != 1 || last.Handoff != 1 {
		t.Errorf("问题17 recorded twice in the batch: %+v", last)
	}
	record(t, s, kb.Unanswered{Text: "新问题1", Reason: kb.ReasonFailed, At: day.Add(time.Hour)}, max)
	if n := len(texts(t, s)); n != max+1 {
		t.Errorf("one past the limit, within the slack: kept %d, want %d", n, max+1)
	}
	record(t, s, kb.Unanswered{Text: "新问题2", Reason: kb.ReasonFailed, At: day.Add(2 * time.Hour)}, max)
	if got := texts(t, s); len(got) != max || got[0].Text != "问题04" {
		t.Errorf("past the slack: kept %d from %q, want %d from 问题04", len(got), got[0].Text, max)
	}
}

func testUnansweredDelete(t *testing.T, s kb.Store) {
	for _, q := range []string{"一", "二", "三"} {
		record(t, s, kb.Unanswered{Text: q, Reason: kb.ReasonFailed, At: day, ArticleID: "a", Score: 0.1}, 10)
	}
	if err := s.DeleteUnanswered(context.Background(), "一", "三", "不存在"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUnanswered(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ts := texts(t, s); len(ts) != 1 || ts[0].Text != "二" {
		t.Errorf("after delete: %+v", ts)
	}
	// A deleted text starts again from nothing.
	record(t, s, kb.Unanswered{Text: "一", Reason: kb.ReasonHandoff, At: day.Add(time.Hour)}, 10)
	for _, x := range texts(t, s) {
		if x.Text == "一" && (x.Count != 1 || x.Failed != 0 || x.ArticleID != "" || !x.FirstSeen.Equal(day.Add(time.Hour))) {
			t.Errorf("re-recorded text kept old counts: %+v", x)
		}
	}
}

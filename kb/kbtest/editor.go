package kbtest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/kb"
)

// NewEditor returns an Editor over s with a LocalNotifier and a clock
// standing at a fixed day, which the test may move.
func NewEditor(t testing.TB, s kb.Store) (*kb.Editor, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(day)
	e, err := kb.NewEditor(s, kb.NewLocalNotifier(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func mustEditorSave(t *testing.T, e *kb.Editor, a kb.Article) kb.Version {
	t.Helper()
	v, err := e.Save(context.Background(), a, "editor1", "")
	if err != nil {
		t.Fatalf("Save(%s): %v", a.ID, err)
	}
	return v
}

func mustPublish(t *testing.T, e *kb.Editor, ids ...string) int64 {
	t.Helper()
	rev, err := e.Publish(context.Background(), ids, "boss")
	if err != nil {
		t.Fatalf("Publish(%v): %v", ids, err)
	}
	return rev
}

// answers returns the published answer of each article, by ID.
func answers(t *testing.T, e *kb.Editor) map[string]string {
	t.Helper()
	articles, _, err := e.PublishedArticles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, a := range articles {
		if a.Status != kb.StatusPublished {
			t.Errorf("published article %s has status %s", a.ID, a.Status)
		}
		m[a.ID] = a.Answer
	}
	return m
}

func mustDefault(t *testing.T) []kb.Article {
	t.Helper()
	def, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// testEditorPublishRollback: the bot answers from published versions only,
// and a rollback is a new version that waits for Publish.
func testEditorPublishRollback(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, clock := NewEditor(t, s)
	v1 := article("a", 1)
	v1.Status = kb.StatusPublished // ignored: status is not saved with a version
	if v := mustEditorSave(t, e, v1); v.Version != 1 || v.Article.Status != kb.StatusDraft {
		t.Fatalf("first Save = %+v", v)
	}
	if got := answers(t, e); len(got) != 0 {
		t.Fatalf("a draft is answered: %v", got)
	}
	r1 := mustPublish(t, e, "a")
	clock.Advance(time.Minute)
	mustEditorSave(t, e, article("a", 2))
	if got := answers(t, e); got["a"] != "答案 1" {
		t.Fatalf("answer with a newer draft = %q, want the published 答案 1", got["a"])
	}
	r2 := mustPublish(t, e, "a")
	if r2 <= r1 {
		t.Errorf("revision went from %d to %d", r1, r2)
	}
	if got := answers(t, e); got["a"] != "答案 2" {
		t.Fatalf("answer after publishing version 2 = %q", got["a"])
	}

	clock.Advance(time.Minute)
	v3, err := e.Rollback(ctx, "a", 1, "boss")
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 || v3.Note != "回滚到版本 1" || v3.Author != "boss" || !v3.At.Equal(day.Add(2*time.Minute)) {
		t.Errorf("Rollback = %+v", v3)
	}
	if got := answers(t, e); got["a"] != "答案 2" {
		t.Errorf("a rollback changed the answer before Publish: %q", got["a"])
	}
	mustPublish(t, e, "a")
	if got := answers(t, e); got["a"] != "答案 1" {
		t.Errorf("answer after publishing the rollback = %q, want 答案 1", got["a"])
	}
	hist, err := e.History(ctx, "a")
	if err != nil || len(hist) != 3 {
		t.Fatalf("History = %d versions, %v; want 3", len(hist), err)
	}
	if diff := cmp.Diff(hist[0].Article, hist[2].Article); diff != "" {
		t.Errorf("version 3 is not version 1 again:\n%s", diff)
	}
	changes, err := e.Diff(ctx, "a", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []kb.Change{{Field: "answer", Old: "答案 1", New: "答案 2"}}; !cmp.Equal(want, changes) {
		t.Errorf("Diff(1, 2) = %+v, want %+v", changes, want)
	}
	if changes, err := e.Diff(ctx, "a", 1, 3); err != nil || len(changes) != 0 {
		t.Errorf("Diff(1, 3) = %+v, %v; want none", changes, err)
	}
	if _, err := e.Rollback(ctx, "a", 9, "boss"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Rollback to a missing version = %v, want ErrNotFound", err)
	}
	if _, err := e.Save(ctx, article("a", 4), " ", ""); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("Save without an author = %v, want ErrInvalid", err)
	}
	bad := article("a", 4)
	bad.Question = ""
	if _, err := e.Save(ctx, bad, "boss", ""); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("Save of an invalid article = %v, want ErrInvalid", err)
	}
}

// testEditorSeed: the default knowledge base is imported once, published.
func testEditorSeed(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	def := mustDefault(t)
	ok, err := e.Seed(ctx, def)
	if err != nil || !ok {
		t.Fatalf("Seed = %v, %v", ok, err)
	}
	articles, rev, err := e.PublishedArticles(ctx)
	if err != nil || rev != 1 || len(articles) != len(def) {
		t.Fatalf("PublishedArticles after Seed = %d articles, revision %d, %v; want %d, 1", len(articles), rev, err, len(def))
	}
	h, err := e.Head(ctx, def[0].ID)
	if err != nil || h.UpdatedBy != kb.SystemAuthor || h.Latest != 1 {
		t.Errorf("seeded Head = %+v, %v", h, err)
	}
	if ok, err := e.Seed(ctx, def); ok || err != nil {
		t.Errorf("second Seed = %v, %v", ok, err)
	}
	// The bot answers with the default knowledge base as it ships.
	want := sortedByID(def)
	for i := range want {
		want[i].Status = kb.StatusPublished
	}
	if diff := cmp.Diff(want, articles, opts); diff != "" {
		t.Errorf("published after Seed (-want +got):\n%s", diff)
	}
}

// testEditorImport: a dry run reports added, changed, unchanged and
// rejected rows; applying it refuses rejections unless allowed.
func testEditorImport(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	mustEditorSave(t, e, article("keep", 1))
	mustEditorSave(t, e, article("edit", 1))
	titled := article("titled", 1)
	mustEditorSave(t, e, titled)
	mustPublish(t, e, "keep", "edit", "titled")

	csvFile := "\uFEFFid,question,similar,answer,answer_en,category,tags,kind,status\n" +
		"keep,怎么联系客服 keep,客服电话|人工客服在哪,答案 1,Answer,渠道,渠道|电话,faq,published\n" +
		"edit,怎么联系客服 edit,客服电话|新问法 a\\|b,新答案,Answer,渠道,渠道|电话,faq,published\n" +
		"new,新问题,,新文章的答案,,,,,\n" +
		"bad,坏问题,,答案,,,,kind-x,\n" +
		",,,没有问题,,,,,\n" +
		"new,重复,,答案,,,,,\n" +
		"titled,怎么联系客服 titled,客服电话|人工客服在哪,答案 1,Answer,渠道,渠道|电话,,\n"
	rows, err := kb.ReadCSV(strings.NewReader(csvFile))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, false)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(items []kb.PlanItem) (out []string) {
		for _, it := range items {
			out = append(out, it.Article.ID)
		}
		return out
	}
	if got := ids(plan.Added); !cmp.Equal(got, []string{"new"}) {
		t.Errorf("added %v", got)
	}
	if got := ids(plan.Changed); !cmp.Equal(got, []string{"edit"}) {
		t.Errorf("changed %v", got)
	}
	// A CSV row keeps the fields CSV has no column for (title) and, when
	// empty, kind and status.
	if got := ids(plan.Unchanged); !cmp.Equal(got, []string{"keep", "titled"}) {
		t.Errorf("unchanged %v", got)
	}
	wantChanges := []kb.Change{
		{Field: "similar", Added: []string{"新问法 a|b"}, Removed: []string{"人工客服在哪"}},
		{Field: "answer", Old: "答案 1", New: "新答案"},
	}
	if len(plan.Changed) == 1 && !cmp.Equal(wantChanges, plan.Changed[0].Changes) {
		t.Errorf("changes of edit = %+v, want %+v", plan.Changed[0].Changes, wantChanges)
	}
	var rejected []int
	for _, r := range plan.Rejected {
		rejected = append(rejected, r.Row)
	}
	if !cmp.Equal(rejected, []int{5, 6, 7}) {
		t.Errorf("rejected rows %v (%+v), want 5, 6, 7", rejected, plan.Rejected)
	}

	if _, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer"}); !errors.Is(err, kb.ErrRejected) {
		t.Fatalf("ApplyImport with rejected rows = %v, want ErrRejected", err)
	}
	if h, _ := e.Head(ctx, "edit"); h.Latest != 1 {
		t.Fatalf("a refused import saved a version")
	}
	res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", AllowRejected: true})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(res.Saved, []string{"new", "edit"}) || len(res.Published) != 0 {
		t.Errorf("ApplyImport = %+v", res)
	}
	if got := answers(t, e); got["edit"] != "答案 1" || got["new"] != "" {
		t.Errorf("an import without Publish changed the answers: %v", got)
	}
	h, _ := e.Head(ctx, "edit")
	if h.Latest != 2 || !h.Pending() || h.UpdatedBy != "importer" {
		t.Errorf("Head(edit) after import = %+v", h)
	}

	// With Publish the file's statuses apply, also to articles the import
	// leaves unchanged: edit, marked published, has a draft waiting, and
	// the dry run says so.
	plan, _ = e.PlanImport(ctx, rows, true)
	if len(plan.Changed) != 0 || len(plan.Added) != 0 {
		t.Errorf("a second dry run still changes %+v / adds %+v", plan.Changed, plan.Added)
	}
	if !cmp.Equal(plan.Publish, []string{"edit"}) || len(plan.Archive) != 0 {
		t.Errorf("dry run with Publish: publish %v, archive %v; want edit's waiting draft published", plan.Publish, plan.Archive)
	}
	res, err = e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Publish: true, AllowRejected: true})
	if err != nil || !cmp.Equal(res.Published, []string{"edit"}) || len(res.Saved) != 0 {
		t.Fatalf("ApplyImport with Publish = %+v, %v", res, err)
	}
	if got := answers(t, e); got["edit"] != "新答案" || got["new"] != "" {
		t.Errorf("answers after importing with Publish = %v", got)
	}

	// A status alone is no change of content: without Publish the row
	// leaves the article as it is; with Publish it is archived, and the
	// dry run says so. A draft status never unpublishes.
	statusRows, err := kb.ReadCSV(strings.NewReader("id,question,answer,status\nkeep,怎么联系客服 keep,答案 1,archived\ntitled,怎么联系客服 titled,答案 1,draft\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, _ = e.PlanImport(ctx, statusRows, false)
	if len(plan.Changed) != 0 || len(plan.Unchanged) != 2 || len(plan.Archive) != 0 {
		t.Errorf("status-only rows without Publish: changed %+v, unchanged %d, archive %v; want both unchanged", plan.Changed, len(plan.Unchanged), plan.Archive)
	}
	plan, _ = e.PlanImport(ctx, statusRows, true)
	if !cmp.Equal(plan.Archive, []string{"keep"}) || len(plan.Publish) != 0 {
		t.Errorf("status-only rows with Publish: archive %v, publish %v; want keep archived", plan.Archive, plan.Publish)
	}
	res, err = e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Publish: true})
	if err != nil || !cmp.Equal(res.Archived, plan.Archive) || len(res.Saved) != 0 {
		t.Errorf("ApplyImport of status rows = %+v, %v; want what the dry run said", res, err)
	}
}

// testEditorSaveUnchanged: a save that changes nothing once tidied makes
// no version; on a stale base it is still a conflict.
func testEditorSaveUnchanged(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	a := article("same", 1)
	mustEditorSave(t, e, a)
	untidy := a
	untidy.Question = "  " + a.Question + " "
	untidy.Similar = append(slices.Clone(a.Similar), a.Similar[0])
	for _, base := range []int{1, kb.AnyVersion} {
		v, err := e.SaveIf(ctx, untidy, "editor2", "", kb.Base{Version: base})
		if err != nil || v.Version != 1 || v.Author != "editor1" {
			t.Errorf("SaveIf of the same content on base %d = version %d by %s, %v; want version 1 by editor1", base, v.Version, v.Author, err)
		}
	}
	changed := a
	changed.Answer = "新答案"
	mustEditorSave(t, e, changed)
	if _, err := e.SaveIf(ctx, changed, "editor2", "", kb.Base{Version: 1}); !errors.Is(err, kb.ErrConflict) {
		t.Errorf("the latest content on a stale base = %v, want ErrConflict", err)
	}
	if h, _ := e.History(ctx, "same"); len(h) != 2 {
		t.Errorf("%d versions, want 2", len(h))
	}
	// A version stored untidy (before tidying existed, or written by
	// another tool) is tidied by the next save, which makes a version, and
	// then an import of the export changes nothing.
	raw := article("raw", 1)
	raw.Answer = "答案\r\n"
	if _, err := s.Save(ctx, raw, "old-tool", "", time.Now(), kb.AnyBase); err != nil {
		t.Fatal(err)
	}
	rows, err := kb.ReadJSON(strings.NewReader(`[{"id":"raw","title":"标题 raw","question":"怎么联系客服 raw","similar":["客服电话","人工客服在哪"],"answer":"答案","answer_en":"Answer","category":"渠道","tags":["渠道","电话"],"kind":"faq","status":"draft"}]`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, false)
	if err != nil || len(plan.Changed) != 1 {
		t.Fatalf("plan of the tidy row over an untidy version: changed %+v, %v", plan.Changed, err)
	}
	if res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "editor2"}); err != nil || len(res.Saved) != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if h, _ := e.History(ctx, "raw"); len(h) != 2 {
		t.Errorf("%d versions of raw after the tidying import, want 2", len(h))
	}
	if plan, _ = e.PlanImport(ctx, rows, false); len(plan.Unchanged) != 1 {
		t.Errorf("importing again: changed %+v, want unchanged", plan.Changed)
	}

	changed.Answer = "又一个答案"
	if _, err := e.Save(ctx, changed, "editor2", strings.Repeat("注", kb.MaxNoteLen+1)); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("Save with a note of %d characters = %v, want ErrInvalid", kb.MaxNoteLen+1, err)
	}
}

// testEditorCheck: the editor's check (configured lanes, existing flows)
// refuses a save, and rejects an import row by its number, keeping the
// rows in order; an unchanged row is not checked (nothing is written).
func testEditorCheck(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	mustEditorSave(t, e, article("old", 1))
	e.SetCheck(func(a kb.Article) error {
		if a.Handoff != "" && a.Handoff != "normal" {
			return kb.Invalidf("文章 %s：转人工队列 %q 未配置 (handoff lane %[2]q is not configured)", a.ID, a.Handoff)
		}
		return nil
	})
	bad := article("bad", 1)
	bad.Handoff = "vip"
	if _, err := e.Save(ctx, bad, "editor1", ""); !errors.Is(err, kb.ErrInvalid) || !strings.Contains(err.Error(), `"vip"`) {
		t.Errorf("Save with an unknown lane = %v, want ErrInvalid naming it", err)
	}
	if _, err := e.Head(ctx, "bad"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("the refused article was saved: %v", err)
	}
	rows, err := kb.ReadCSV(strings.NewReader("id,question,answer,handoff\n" +
		"a,问题 a,答案,vip\n" + // row 2: unknown lane
		"b,问题 b,答案,normal\n" +
		",,答案,\n" + // row 4: no question
		"old,怎么联系客服 old,答案 1,\n")) // unchanged
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, false)
	if err != nil {
		t.Fatal(err)
	}
	var rejected []int
	for _, r := range plan.Rejected {
		rejected = append(rejected, r.Row)
	}
	if !cmp.Equal(rejected, []int{2, 4}) || !strings.Contains(plan.Rejected[0].Reason, `"vip"`) {
		t.Errorf("rejected %+v, want rows 2 (naming the lane) and 4", plan.Rejected)
	}
	if len(plan.Added) != 1 || plan.Added[0].Article.ID != "b" || len(plan.Unchanged) != 1 {
		t.Errorf("added %+v, unchanged %+v; want b added and old unchanged", plan.Added, plan.Unchanged)
	}
}

// testEditorImportRoundTrip: export, import with Publish into an empty
// store, export again: the same bytes.
func testEditorImportRoundTrip(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	def := mustDefault(t)
	var in bytes.Buffer
	if err := kb.WriteJSON(&in, def); err != nil {
		t.Fatal(err)
	}
	rows, err := kb.ReadJSON(bytes.NewReader(in.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, false)
	if err != nil || len(plan.Added) != len(def) || len(plan.Rejected) != 0 {
		t.Fatalf("plan: %d added, %d rejected, %v", len(plan.Added), len(plan.Rejected), err)
	}
	if _, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Publish: true}); err != nil {
		t.Fatal(err)
	}
	exported, err := e.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := kb.WriteJSON(&out, exported); err != nil {
		t.Fatal(err)
	}
	var sorted bytes.Buffer
	kb.WriteJSON(&sorted, sortedByID(def))
	if !bytes.Equal(sorted.Bytes(), out.Bytes()) {
		t.Errorf("export after import differs from the file imported (%d and %d bytes)", sorted.Len(), out.Len())
	}
	plan, _ = e.PlanImport(ctx, rows, false)
	if len(plan.Unchanged) != len(def) {
		t.Errorf("importing the export again changes %d and adds %d articles", len(plan.Changed), len(plan.Added))
	}
}

func sortedByID(articles []kb.Article) []kb.Article {
	out := slices.Clone(articles)
	slices.SortFunc(out, func(a, b kb.Article) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// testEditorUnanswered: near-identical questions form one group, which can
// be dismissed or resolved into a similar question of an article.
func testEditorUnanswered(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, clock := NewEditor(t, s)
	mustEditorSave(t, e, article("refund", 1))
	for _, q := range []string{"怎么申请退款", "怎么申请退款", "怎么申请退款啊？", "怎麼申請退款", "  怎么申请退款  ", "账号被盗了怎么办", "账号被盗了怎么办!!", "？？？"} {
		clock.Advance(time.Second)
		if err := e.RecordUnanswered(ctx, kb.Unanswered{Text: q, Reason: kb.ReasonFailed, ArticleID: "refund", Score: 0.1}); err != nil {
			t.Fatal(err)
		}
	}
	// A question with an unknown reason is refused; the others of its
	// batch are recorded (the long one is a group below).
	err := e.RecordUnanswered(ctx, kb.Unanswered{Text: "x", Reason: "other"},
		kb.Unanswered{Text: strings.Repeat("长", 1000), Reason: kb.ReasonHandoff}, kb.Unanswered{Text: "  "})
	if !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("RecordUnanswered with an unknown reason = %v, want ErrInvalid", err)
	}
	groups, err := e.UnansweredGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 4 {
		t.Fatalf("%d groups, want 4: %+v", len(groups), groups)
	}
	g := groups[0]
	if g.Text != "怎么申请退款" || g.Count != 5 || len(g.Texts) != 3 || !g.FirstSeen.Equal(day.Add(time.Second)) ||
		!g.LastSeen.Equal(day.Add(5*time.Second)) || g.ArticleID != "refund" {
		t.Errorf("first group = %+v", g)
	}
	if groups[1].Count != 2 || groups[1].Text != "账号被盗了怎么办" {
		t.Errorf("second group = %+v", groups[1])
	}
	for _, g := range groups {
		if strings.HasPrefix(g.Text, "长") && len(g.Text) > kb.MaxUnansweredLen {
			t.Errorf("a long text was kept whole: %d bytes", len(g.Text))
		}
	}

	// A group's leader changes as its texts are counted; the ID the editor
	// listed still finds the group.
	for range 2 {
		clock.Advance(time.Second)
		if err := e.RecordUnanswered(ctx, kb.Unanswered{Text: "账号被盗了怎么办!!", Reason: kb.ReasonFailed}); err != nil {
			t.Fatal(err)
		}
	}
	if now, _ := e.UnansweredGroups(ctx); len(now) != 4 || now[1].Text != "账号被盗了怎么办!!" || now[1].ID == groups[1].ID {
		t.Fatalf("after counting the other text: %+v, want the same group led by it", now)
	}
	if err := e.DismissUnanswered(ctx, groups[1].ID); err != nil {
		t.Fatalf("dismissing by the ID listed before the leader changed: %v", err)
	}
	if err := e.DismissUnanswered(ctx, groups[1].ID); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("dismissing a group twice = %v, want ErrNotFound", err)
	}
	v, err := e.ResolveUnanswered(ctx, g.ID, "refund", "", "editor2")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 2 || v.Author != "editor2" || v.Article.Similar[len(v.Article.Similar)-1] != "怎么申请退款" {
		t.Errorf("ResolveUnanswered = %+v", v)
	}
	groups, _ = e.UnansweredGroups(ctx)
	if len(groups) != 2 {
		t.Errorf("after dismiss and resolve: %+v", groups)
	}
	if _, err := e.ResolveUnanswered(ctx, groups[0].ID, "nope", "", "editor2"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("resolving into a missing article = %v, want ErrNotFound", err)
	}
	// A question too long for a similar question is refused with a reason.
	if _, err := e.ResolveUnanswered(ctx, groups[0].ID, "refund", strings.Repeat("a", kb.MaxQuestionLen+1), "editor2"); !errors.Is(err, kb.ErrInvalid) || !strings.Contains(err.Error(), "shorten it") {
		t.Errorf("resolving a %d-character question = %v, want ErrInvalid asking to shorten it", kb.MaxQuestionLen+1, err)
	}
	// An archived article takes no question: nobody would see it, and it
	// stays archived.
	mustEditorSave(t, e, article("retired", 1))
	if _, err := e.Archive(ctx, []string{"retired"}, "editor1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ResolveUnanswered(ctx, groups[0].ID, "retired", "", "editor2"); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("resolving into an archived article = %v, want ErrInvalid", err)
	}
	if h, _ := e.Head(ctx, "retired"); h.Article.Status != kb.StatusArchived || h.Latest != 1 {
		t.Errorf("the archived article after a refused resolve: %+v", h)
	}
	if groups, _ := e.UnansweredGroups(ctx); len(groups) != 2 {
		t.Errorf("a refused resolve took the group off the queue: %+v", groups)
	}
}

// testEditorImportArchived: a changed row of an archived article restores
// it as a draft when saved; with Publish and the file marking it archived,
// the dry run says it is archived again, as the import then does.
func testEditorImportArchived(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	mustEditorSave(t, e, article("arc", 1))
	mustPublish(t, e, "arc")
	if _, err := e.Archive(ctx, []string{"arc"}, "editor1"); err != nil {
		t.Fatal(err)
	}
	rows, err := kb.ReadJSON(strings.NewReader(`[{"id":"arc","question":"怎么联系客服 arc","answer":"新答案","kind":"faq","status":"archived"}]`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, true)
	if err != nil || len(plan.Changed) != 1 || !cmp.Equal(plan.Archive, []string{"arc"}) {
		t.Fatalf("dry run: changed %+v, archive %v, %v; want arc changed and archived again", plan.Changed, plan.Archive, err)
	}
	res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Publish: true})
	if err != nil || !cmp.Equal(res.Archived, plan.Archive) {
		t.Errorf("import archived %v, %v; want what the dry run said", res.Archived, err)
	}
	if h, _ := e.Head(ctx, "arc"); h.Article.Status != kb.StatusArchived {
		t.Errorf("after the import arc is %s", h.Article.Status)
	}
}

// testEditorImportStale: an import reviewed by a dry run is refused when
// anything the dry run reported changed since (the token), whether or not
// it publishes, and an article saved by someone else between the plan and
// its save is not overwritten: the import stops there and says which.
func testEditorImportStale(t *testing.T, s kb.Store) {
	ctx := context.Background()
	e, _ := NewEditor(t, s)
	mustEditorSave(t, e, article("a", 1))
	mustEditorSave(t, e, article("b", 1))
	rows, err := kb.ReadJSON(strings.NewReader(`[{"id":"a","question":"怎么联系客服 a","answer":"导入的答案 a","kind":"faq","status":"published"},` +
		`{"id":"b","question":"怎么联系客服 b","answer":"导入的答案 b","kind":"faq","status":"draft"},` +
		`{"id":"c","question":"新问题 c","answer":"新答案 c","kind":"faq","status":"draft"}]`))
	if err != nil {
		t.Fatal(err)
	}
	dry, err := e.PlanImport(ctx, rows, false)
	if err != nil || dry.Token == "" || len(dry.Changed) != 2 || dry.Changed[0].Base != 1 || dry.Added[0].Base != 0 {
		t.Fatalf("dry run: token %q, changed %+v, added %+v, %v", dry.Token, dry.Changed, dry.Added, err)
	}
	if p, _ := e.PlanImport(ctx, rows, true); p.Token != dry.Token {
		t.Errorf("the same plan, publishing, has token %s, want the dry run's %s", p.Token, dry.Token)
	}

	// Someone archives c's neighbour, then publishes a, meanwhile: each
	// changes the token, and the reviewed import is refused whole.
	if _, err := e.Archive(ctx, []string{"b"}, "other"); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.PlanImport(ctx, rows, false); p.Token == dry.Token {
		t.Fatal("an archive meanwhile leaves the token as it was")
	}
	mustPublish(t, e, "a")
	plan, _ := e.PlanImport(ctx, rows, false)
	if plan.Token == dry.Token {
		t.Fatal("a publish meanwhile leaves the token as it was")
	}
	if res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Expect: dry.Token}); !errors.Is(err, kb.ErrStalePlan) || len(res.Saved) != 0 {
		t.Fatalf("import of a stale dry run: saved %v, %v; want ErrStalePlan and nothing saved", res.Saved, err)
	}

	// Someone saves b between the plan and the import's save of it: the
	// new c and a, saved before b, stay saved; b is not overwritten.
	other := article("b", 1)
	other.Answer = "别人的答案"
	mustEditorSave(t, e, other)
	res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Expect: plan.Token})
	if !errors.Is(err, kb.ErrConflict) || res.Conflict != "b" || !cmp.Equal(res.Saved, []string{"c", "a"}) {
		t.Fatalf("import over a save made meanwhile: %+v, %v; want ErrConflict at b", res, err)
	}
	if v, _ := e.Version(ctx, "b", 2); v.Article.Answer != "别人的答案" {
		t.Errorf("b's answer is %q, want the other editor's", v.Article.Answer)
	}
	if h, _ := e.Head(ctx, "b"); h.Latest != 2 {
		t.Errorf("b has %d versions, want 2: the import must not add one", h.Latest)
	}
}

// racingStore runs fn before its at-th Heads: someone's save racing an
// import between its plan and its publish.
type racingStore struct {
	kb.Store
	calls, at int
	fn        func()
}

func (r *racingStore) Heads(ctx context.Context) ([]kb.Head, error) {
	if r.calls++; r.calls == r.at {
		r.fn()
	}
	return r.Store.Heads(ctx)
}

// archivingStore archives article id (once) when its version is first
// read: someone's archive racing an edit between its look and its save.
type archivingStore struct {
	kb.Store
	t  testing.TB
	id string
}

func (r *archivingStore) Version(ctx context.Context, id string, n int) (kb.Version, error) {
	if id == r.id {
		r.id = ""
		if _, err := r.Store.Archive(ctx, []string{id}, nil, "other", time.Now()); err != nil {
			r.t.Fatal(err)
		}
	}
	return r.Store.Version(ctx, id, n)
}

// testEditorResolveArchiveRace: an article archived between the check
// that it is not and the save of the unanswered question into it stays
// archived, and the question is refused as for any archived article.
func testEditorResolveArchiveRace(t *testing.T, s kb.Store) {
	ctx := context.Background()
	racing := &archivingStore{Store: s, t: t}
	e, _ := NewEditor(t, racing)
	mustEditorSave(t, e, article("live", 1))
	mustPublish(t, e, "live")
	if err := e.RecordUnanswered(ctx, kb.Unanswered{Text: "还在用吗", Reason: kb.ReasonFailed}); err != nil {
		t.Fatal(err)
	}
	groups, err := e.UnansweredGroups(ctx)
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups %+v, %v", groups, err)
	}
	racing.id = "live"
	if _, err := e.ResolveUnanswered(ctx, groups[0].ID, "live", "", "editor2"); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("resolving into an article archived meanwhile = %v, want ErrInvalid (archived)", err)
	}
	if h, _ := e.Head(ctx, "live"); h.Article.Status != kb.StatusArchived || h.Latest != 1 {
		t.Errorf("the article archived meanwhile: %s at version %d; want archived, still version 1", h.Article.Status, h.Latest)
	}
}

// testEditorImportPublishRace: a draft someone saves while an import runs
// is not published by it, though the file marks the article published:
// the import stops with ErrConflict naming it, and the bot keeps answering
// with the version published before.
func testEditorImportPublishRace(t *testing.T, s kb.Store) {
	ctx := context.Background()
	racing := &racingStore{Store: s} // at 0: no race yet
	e, _ := NewEditor(t, racing)
	mustEditorSave(t, e, article("u", 1))
	mustPublish(t, e, "u")
	current, err := e.Export(ctx) // the file: u as it is, published
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := kb.WriteJSON(&file, current); err != nil {
		t.Fatal(err)
	}
	rows, err := kb.ReadJSON(&file)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.PlanImport(ctx, rows, true)
	if err != nil || len(plan.Unchanged) != 1 || len(plan.Publish) != 0 {
		t.Fatalf("dry run: unchanged %+v, publish %v, %v", plan.Unchanged, plan.Publish, err)
	}
	racing.calls, racing.at = 0, 1 // the import's Heads, after its saves, before its publish
	racing.fn = func() {
		draft := article("u", 2)
		draft.Answer = "别人未审核的草稿"
		if _, err := s.Save(ctx, draft, "other", "", time.Now(), kb.Base{Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.ApplyImport(ctx, plan, kb.ImportOptions{Author: "importer", Publish: true, Expect: plan.Token})
	if !errors.Is(err, kb.ErrConflict) || res.Conflict != "u" || len(res.Published) != 0 {
		t.Fatalf("import while a draft is saved: %+v, %v; want ErrConflict at u, nothing published", res, err)
	}
	if h, _ := e.Head(ctx, "u"); h.Published != 1 || h.Latest != 2 {
		t.Errorf("u: published %d, latest %d; want the draft (2) waiting and 1 published", h.Published, h.Latest)
	}
}

package kb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SystemAuthor is the author of the versions kefu writes itself, such as
// the default knowledge base seeded into an empty store.
const SystemAuthor = "system"

// DefaultMaxUnanswered is how many distinct unanswered texts an Editor
// keeps; repeats are counted, and once past it by UnansweredSlack the least
// recently seen texts are forgotten down to it, so a flood of messages
// cannot grow the store without limit.
const DefaultMaxUnanswered = 2000

// UnansweredSlack is how far past max the number of unanswered texts may
// go before the least recently seen are forgotten down to max. Forgetting
// them in one go, not one per new text, writes each page of the table
// and its indexes once per UnansweredSlack(max) new texts instead of
// once per text: a failed turn with a new text cost the embedded store
// 6.4 pages of WAL, 3.5 with the slack (see kb/sqlitestore).
func UnansweredSlack(max int) int { return max / 16 }

// MaxUnansweredLen bounds the bytes kept of one unanswered text; longer
// texts are cut at a character boundary.
const MaxUnansweredLen = 500

// DefaultPoll is how often Watch checks the publish revision itself, in
// case a notification was lost (another process on the embedded store has
// no way to notify this one; a Redis subscriber misses what is published
// while it reconnects).
const DefaultPoll = 2 * time.Second

// Editor is the editorial side of the knowledge base: versioned saves,
// explicit publishing, rollback, diffs, import and export, and the queue
// of unanswered questions. It is safe for concurrent use.
type Editor struct {
	store    Store
	notifier Notifier
	now      func() time.Time
	check    func(Article) error // see SetCheck
}

// SetCheck sets a check of what an article names outside the knowledge
// base — its handoff lane, its flow — run at every save and on every row
// an import adds or changes. Its errors are shown to editors as they are:
// they should name the article and be worded for them (see Invalidf).
// nil checks nothing. Set it before the editor is used.
func (e *Editor) SetCheck(check func(Article) error) { e.check = check }

// checkRefs runs the check set by SetCheck on a valid article.
func (e *Editor) checkRefs(a Article) error {
	if e.check == nil {
		return nil
	}
	return e.check(a) // its error names the article
}

// NewEditor returns an Editor over store that announces publishes through
// notifier (nil = a new LocalNotifier) and reads the time from now (nil =
// time.Now).
func NewEditor(store Store, notifier Notifier, now func() time.Time) (*Editor, error) {
	if store == nil {
		return nil, errors.New("kb: editor: a store is required")
	}
	if notifier == nil {
		notifier = NewLocalNotifier()
	}
	if now == nil {
		now = time.Now
	}
	return &Editor{store: store, notifier: notifier, now: now}, nil
}

// Store returns the editor's store.
func (e *Editor) Store() Store { return e.store }

// Notifier returns the editor's notifier.
func (e *Editor) Notifier() Notifier { return e.notifier }

// clock returns the current time as stores keep it: to the microsecond.
func (e *Editor) clock() time.Time { return e.now().Truncate(time.Microsecond) }

// Seed imports articles (typically Default()) as version 1 of each,
// published, by SystemAuthor, when the store holds no article yet: what
// a first start does. Articles are tidied as every save tidies them (see
// Normalize). It reports whether it seeded.
func (e *Editor) Seed(ctx context.Context, articles []Article) (bool, error) {
	if len(articles) == 0 {
		return false, nil
	}
	seen := make(map[string]bool, len(articles))
	drafts := make([]Article, len(articles))
	for i, a := range articles {
		a = Normalize(a)
		a.Status = StatusDraft
		if err := Validate(a); err != nil {
			return false, fmt.Errorf("kb: seed: %w", err)
		}
		if seen[a.ID] {
			return false, fmt.Errorf("kb: seed: id %q twice: %w", a.ID, ErrInvalid)
		}
		seen[a.ID] = true
		drafts[i] = a
	}
	seeded, err := e.store.Seed(ctx, drafts, SystemAuthor, e.clock())
	if err != nil || !seeded {
		return false, err
	}
	rev, err := e.store.Revision(ctx)
	if err == nil {
		err = e.notify(ctx, rev)
	}
	if errors.Is(err, ErrNotNotified) {
		err = nil // the others catch up by polling
	}
	return true, err
}

// Save stores a as a new version of its article (a new article when the
// ID is new), by author, with a short note. Status is not saved with a
// version (see Version.Article); use Publish and Archive. It returns an
// error wrapping ErrInvalid when a or author is not valid.
func (e *Editor) Save(ctx context.Context, a Article, author, note string) (Version, error) {
	return e.SaveIf(ctx, a, author, note, AnyBase)
}

// SaveIf is Save when the article is still as base says (see Base: at
// its version, 0 for a new article, and not archived unless the edit
// started from it archived), which holds across instances: an editor's
// edit never silently replaces another's, nor brings back an article
// someone archived. Otherwise it returns ErrConflict. A save that changes
// nothing (once tidied, see Normalize) makes no new version: it returns
// the latest one.
func (e *Editor) SaveIf(ctx context.Context, a Article, author, note string, base Base) (Version, error) {
	if err := checkAuthor(author); err != nil {
		return Version{}, err
	}
	if utf8.RuneCountInString(note) > MaxNoteLen || !utf8.ValidString(note) {
		return Version{}, Invalidf("文章 %s：说明超过 %d 个字或不是有效的 UTF-8 (the note is longer than %[2]d characters or not UTF-8)", a.ID, MaxNoteLen)
	}
	a = Normalize(a)
	a.Status = StatusDraft
	if err := Validate(a); err != nil {
		return Version{}, err
	}
	if err := e.checkRefs(a); err != nil {
		return Version{}, err
	}
	if v, same, err := e.unchanged(ctx, a, base); err != nil || same {
		return v, err
	}
	return e.store.Save(ctx, a, author, note, e.clock(), base)
}

// unchanged reports whether a (tidied), saved on base, would repeat the
// latest version of its article word for word, and returns that version:
// such a save makes no new version.
func (e *Editor) unchanged(ctx context.Context, a Article, base Base) (Version, bool, error) {
	if base.Version == 0 {
		return Version{}, false, nil // a new article
	}
	h, err := e.store.Head(ctx, a.ID)
	if errors.Is(err, ErrNotFound) || err == nil && !base.Holds(h) {
		return Version{}, false, nil // the store's save says what is wrong
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("kb: save %s: %w", a.ID, err)
	}
	v, err := e.store.Version(ctx, a.ID, h.Latest)
	if err != nil {
		return Version{}, false, fmt.Errorf("kb: save %s: %w", a.ID, err)
	}
	latest := v.Article
	latest.Status = a.Status
	return v, reflect.DeepEqual(latest, a), nil // a save that tidies an untidy version makes one
}

func checkAuthor(author string) error {
	if strings.TrimSpace(author) == "" || !utf8.ValidString(author) {
		return errNoAuthor
	}
	return nil
}

// Head returns the editorial state of an article, or ErrNotFound.
func (e *Editor) Head(ctx context.Context, id string) (Head, error) {
	return e.store.Head(ctx, id)
}

// Heads returns the editorial state of every article, by ID.
func (e *Editor) Heads(ctx context.Context) ([]Head, error) {
	return e.store.Heads(ctx)
}

// History returns the versions of an article, oldest first, or
// ErrNotFound.
func (e *Editor) History(ctx context.Context, id string) ([]Version, error) {
	return e.store.History(ctx, id)
}

// StatusLog returns who published or archived an article, which version
// and when, oldest first.
func (e *Editor) StatusLog(ctx context.Context, id string) ([]StatusEvent, error) {
	return e.store.StatusLog(ctx, id)
}

// Version returns version n of an article, or ErrNotFound.
func (e *Editor) Version(ctx context.Context, id string, n int) (Version, error) {
	return e.store.Version(ctx, id, n)
}

// Diff returns what changed from version from to version to of an
// article.
func (e *Editor) Diff(ctx context.Context, id string, from, to int) ([]Change, error) {
	a, err := e.store.Version(ctx, id, from)
	if err != nil {
		return nil, err
	}
	b, err := e.store.Version(ctx, id, to)
	if err != nil {
		return nil, err
	}
	return DiffArticles(a.Article, b.Article), nil
}

// Publish makes the current versions of the articles the ones the bot
// answers with, and tells every instance. It returns the new publish
// revision; when telling the other instances failed it returns the
// revision with the error (the publish is done; they catch up by polling).
func (e *Editor) Publish(ctx context.Context, ids []string, author string) (int64, error) {
	return e.PublishIf(ctx, ids, nil, author)
}

// PublishIf is Publish when the latest version of each article that
// expect names is still the one it gives (ID → version): what an editor
// reviewed is what goes live, not a draft saved since by someone else.
// Otherwise it publishes nothing and returns ErrConflict.
func (e *Editor) PublishIf(ctx context.Context, ids []string, expect map[string]int, author string) (int64, error) {
	return e.setStatus(ctx, ids, expect, author, e.store.Publish, "publish")
}

// Archive takes the articles out of the published set and marks them
// archived, and tells every instance; like Publish otherwise.
func (e *Editor) Archive(ctx context.Context, ids []string, author string) (int64, error) {
	return e.ArchiveIf(ctx, ids, nil, author)
}

// ArchiveIf is Archive when the articles that expect names are still at
// the versions it gives; like PublishIf otherwise.
func (e *Editor) ArchiveIf(ctx context.Context, ids []string, expect map[string]int, author string) (int64, error) {
	return e.setStatus(ctx, ids, expect, author, e.store.Archive, "archive")
}

func (e *Editor) setStatus(ctx context.Context, ids []string, expect map[string]int, author string,
	apply func(context.Context, []string, map[string]int, string, time.Time) (int64, error), what string) (int64, error) {
	if err := checkAuthor(author); err != nil {
		return 0, err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return 0, Invalidf("请至少给出一篇文章 (no article given)")
	}
	rev, err := apply(ctx, ids, expect, author, e.clock())
	if err != nil {
		return 0, fmt.Errorf("kb: %s: %w", what, err)
	}
	return rev, e.notify(ctx, rev)
}

func (e *Editor) notify(ctx context.Context, rev int64) error {
	if err := e.notifier.Publish(ctx, rev); err != nil {
		return fmt.Errorf("kb: revision %d: %w: %w", rev, ErrNotNotified, err)
	}
	return nil
}

// Rollback saves the content of version to of an article as its newest
// version, noted "回滚到版本 N": history is never rewritten. Like any
// save, it waits for Publish.
func (e *Editor) Rollback(ctx context.Context, id string, to int, author string) (Version, error) {
	old, err := e.store.Version(ctx, id, to)
	if err != nil {
		return Version{}, fmt.Errorf("kb: rollback %s to version %d: %w", id, to, err)
	}
	return e.Save(ctx, old.Article, author, fmt.Sprintf("回滚到版本 %d", to))
}

// PublishedArticles returns the articles the bot answers with (their
// published versions, Status StatusPublished), by ID, and the publish
// revision they belong to.
func (e *Editor) PublishedArticles(ctx context.Context) ([]Article, int64, error) {
	vs, rev, err := e.store.Published(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("kb: published articles: %w", err)
	}
	articles := make([]Article, len(vs))
	for i, v := range vs {
		articles[i] = v.Article
		articles[i].Status = StatusPublished
	}
	return articles, rev, nil
}

// Watch calls fn with the published articles and their revision whenever
// the revision differs from the last one fn saw, starting from since (the
// revision the caller already has; -1 for none): at once when the store is
// elsewhere already, then on each notification, and every poll (0 =
// DefaultPoll) in case one was lost. fn runs on Watch's goroutine, one call
// at a time. Watch returns nil when ctx is done, or an error when it cannot
// subscribe; a failed read is retried at the next notification or poll.
func (e *Editor) Watch(ctx context.Context, since int64, poll time.Duration, fn func(articles []Article, rev int64)) error {
	if poll <= 0 {
		poll = DefaultPoll
	}
	ch, err := e.notifier.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("kb: watch: %w", err)
	}
	last := since
	check := func() {
		if rev, err := e.store.Revision(ctx); err != nil || rev == last {
			return
		}
		articles, rev, err := e.PublishedArticles(ctx)
		if err != nil || rev == last {
			return
		}
		last = rev
		fn(articles, rev)
	}
	check()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for range ch { // until the notifier let go of the subscription
			}
			return nil
		case _, ok := <-ch:
			if !ok {
				return nil
			}
			check()
		case <-tick.C:
			check()
		}
	}
}

// Export returns every article as its latest version with its editorial
// status, by ID: what WriteJSON and WriteCSV write and NewPlan compares
// with.
func (e *Editor) Export(ctx context.Context) ([]Article, error) {
	heads, err := e.store.Heads(ctx)
	if err != nil {
		return nil, fmt.Errorf("kb: export: %w", err)
	}
	return headArticles(heads), nil
}

// headArticles returns the article of each head.
func headArticles(heads []Head) []Article {
	articles := make([]Article, len(heads))
	for i, h := range heads {
		articles[i] = h.Article
	}
	return articles
}

// PlanImport is the dry run of an import: what the rows would add and
// change, compared with the current articles (each item's Base), and, for
// an import that publishes, what it would publish and archive; its Token
// lets ApplyImport refuse when anything it reports has changed since.
func (e *Editor) PlanImport(ctx context.Context, rows []ImportRow, publish bool) (Plan, error) {
	heads, err := e.store.Heads(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("kb: import: %w", err)
	}
	p := NewPlan(headArticles(heads), rows)
	p.Added, p.Changed = e.keepChecked(p.Added, &p), e.keepChecked(p.Changed, &p)
	slices.SortFunc(p.Rejected, func(x, y Rejection) int { return cmp.Compare(x.Row, y.Row) })
	sealPlan(&p, heads)
	if publish {
		p.Publish, p.Archive = toPublish(p, afterSave(p, heads))
	}
	return p, nil
}

// keepChecked returns the items whose articles pass the check set by
// SetCheck, and adds the others to p's rejected rows.
func (e *Editor) keepChecked(items []PlanItem, p *Plan) []PlanItem {
	return slices.DeleteFunc(items, func(it PlanItem) bool {
		err := e.checkRefs(it.Article)
		if err != nil {
			p.Rejected = append(p.Rejected, Rejection{Row: it.Row, ID: it.Article.ID, Reason: err.Error()})
		}
		return err != nil
	})
}

// ApplyImport carries out a plan from PlanImport: each added or changed
// article gets a new version (noted "导入"), and with opts.Publish the
// file's statuses are applied, to unchanged articles too (an article
// whose draft waits is published when the file marks it published). It
// refuses a plan with rejected rows (ErrRejected) unless
// opts.AllowRejected, then, when opts.Expect is set, one whose token is
// not opts.Expect (ErrStalePlan). Someone else's save since the plan was
// made is neither overwritten nor published: the import stops at that
// article with ErrConflict (ImportResult.Conflict names it). Articles
// saved before an error stay saved; the result lists them.
func (e *Editor) ApplyImport(ctx context.Context, p Plan, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Saved: []string{}, Published: []string{}, Archived: []string{}}
	if err := checkAuthor(opts.Author); err != nil {
		return res, err
	}
	if !opts.AllowRejected {
		if err := rejectedError(p); err != nil {
			return res, err
		}
	}
	if opts.Expect != "" && opts.Expect != p.Token {
		return res, ErrStalePlan
	}
	// latest is the version each article of the file must be at once
	// saved: a newer one is someone else's, unreviewed.
	latest := make(map[string]int)
	for _, it := range p.Unchanged {
		latest[it.Article.ID] = it.Base
	}
	for _, it := range toSave(p) {
		v, err := e.SaveIf(ctx, it.Article, opts.Author, importNote, Base{Version: it.Base, Archived: it.Archived})
		if err != nil {
			return res, importStopped(&res, it.Article.ID, err)
		}
		latest[it.Article.ID] = v.Version
		res.Saved = append(res.Saved, it.Article.ID)
	}
	var pub, archive []string
	if opts.Publish {
		heads, err := e.store.Heads(ctx)
		if err != nil {
			return res, fmt.Errorf("kb: import: %w", err)
		}
		pub, archive = toPublish(p, heads)
	}
	var err error
	if len(pub) > 0 {
		if res.Revision, err = e.PublishIf(ctx, pub, latest, opts.Author); err != nil && !errors.Is(err, ErrNotNotified) {
			return res, importStopped(&res, changedSince(ctx, e.store, pub, latest), err)
		}
		res.Published = pub
	}
	if len(archive) > 0 {
		if res.Revision, err = e.ArchiveIf(ctx, archive, latest, opts.Author); err != nil && !errors.Is(err, ErrNotNotified) {
			return res, importStopped(&res, changedSince(ctx, e.store, archive, latest), err)
		}
		res.Archived = archive
	}
	if res.Revision == 0 {
		if res.Revision, err = e.store.Revision(ctx); err != nil {
			return res, fmt.Errorf("kb: import: %w", err)
		}
	}
	return res, nil
}

// importStopped returns the error of an import stopped at article id,
// naming it in res when someone else's save is the cause.
func importStopped(res *ImportResult, id string, err error) error {
	if errors.Is(err, ErrConflict) {
		res.Conflict = id
	}
	return fmt.Errorf("kb: import: %s: %w", id, err)
}

// changedSince returns the first of ids whose latest version is no longer
// the one latest gives, as the store tells it now ("" when none is).
func changedSince(ctx context.Context, s Store, ids []string, latest map[string]int) string {
	for _, id := range ids {
		if h, err := s.Head(ctx, id); err == nil && h.Latest != latest[id] {
			return id
		}
	}
	return ""
}

// RecordUnanswered adds questions the bot failed to answer or handed off
// to the unanswered queue, in one write. Blank texts are ignored; long
// ones are cut to MaxUnansweredLen bytes. A question with an unknown
// reason is left out and reported (ErrInvalid); the others are recorded.
func (e *Editor) RecordUnanswered(ctx context.Context, us ...Unanswered) error {
	valid := make([]Unanswered, 0, len(us))
	var errs []error
	for _, u := range us {
		u, ok, err := e.cleanUnanswered(u)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			valid = append(valid, u)
		}
	}
	if len(valid) > 0 {
		if err := e.store.RecordUnanswered(ctx, valid, DefaultMaxUnanswered); err != nil {
			errs = append(errs, fmt.Errorf("kb: unanswered: %w", err))
		}
	}
	return errors.Join(errs...)
}

// cleanUnanswered readies u for the store: ok is false for a blank text.
func (e *Editor) cleanUnanswered(u Unanswered) (_ Unanswered, ok bool, err error) {
	u.Text = strings.ToValidUTF8(strings.TrimSpace(u.Text), "\uFFFD")
	if u.Text == "" {
		return u, false, nil
	}
	if len(u.Text) > MaxUnansweredLen {
		cut := MaxUnansweredLen
		for cut > 0 && !utf8.RuneStart(u.Text[cut]) {
			cut--
		}
		u.Text = strings.TrimSpace(u.Text[:cut])
	}
	switch u.Reason {
	case ReasonFailed, ReasonHandoff:
	default:
		return u, false, fmt.Errorf("kb: unanswered: unknown reason %q (want %q or %q): %w", u.Reason, ReasonFailed, ReasonHandoff, ErrInvalid)
	}
	if u.At.IsZero() {
		u.At = e.clock()
	}
	u.At = u.At.Truncate(time.Microsecond)
	if u.ArticleID == "" || math.IsNaN(u.Score) || math.IsInf(u.Score, 0) {
		u.ArticleID, u.Score = "", 0
	}
	return u, true, nil
}

// UnansweredGroups returns the unanswered queue, grouped (see
// GroupUnanswered).
func (e *Editor) UnansweredGroups(ctx context.Context) ([]UnansweredGroup, error) {
	texts, err := e.store.UnansweredTexts(ctx)
	if err != nil {
		return nil, fmt.Errorf("kb: unanswered: %w", err)
	}
	return GroupUnanswered(texts), nil
}

// unansweredGroup returns the group with this ID, or ErrNotFound.
func (e *Editor) unansweredGroup(ctx context.Context, id string) (UnansweredGroup, error) {
	groups, err := e.UnansweredGroups(ctx)
	if err != nil {
		return UnansweredGroup{}, err
	}
	for _, g := range groups {
		if g.ID == id {
			return g, nil
		}
	}
	// The leading text may have changed since the caller listed the
	// groups: the group that now holds the text that led is the one.
	for _, g := range groups {
		if slices.ContainsFunc(g.Texts, func(t string) bool { return groupID(t) == id }) {
			return g, nil
		}
	}
	return UnansweredGroup{}, fmt.Errorf("kb: unanswered group %s: %w", id, ErrNotFound)
}

// DismissUnanswered removes a group from the unanswered queue. Groups are
// formed anew on every listing; a group whose leading text changed since
// the caller listed it is still found by its old ID while it holds that
// text. Otherwise it returns ErrNotFound.
func (e *Editor) DismissUnanswered(ctx context.Context, groupID string) error {
	g, err := e.unansweredGroup(ctx, groupID)
	if err != nil {
		return err
	}
	if err := e.store.DeleteUnanswered(ctx, g.Texts...); err != nil {
		return fmt.Errorf("kb: unanswered: %w", err)
	}
	return nil
}

// ResolveUnanswered adds text (empty = the group's leading text) as a
// similar question of article articleID, as a new version by author
// (unless the article already has that question), and removes the group
// from the queue. It returns the article's latest version. The article
// must not be archived (ErrInvalid: nobody would see the question), and
// an editor's save in between is kept, not overwritten.
func (e *Editor) ResolveUnanswered(ctx context.Context, groupID, articleID, text, author string) (Version, error) {
	if err := checkAuthor(author); err != nil {
		return Version{}, err
	}
	g, err := e.unansweredGroup(ctx, groupID)
	if err != nil {
		return Version{}, err
	}
	if text = strings.TrimSpace(text); text == "" {
		text = g.Text
	}
	if n := utf8.RuneCountInString(text); n > MaxQuestionLen {
		return Version{}, Invalidf("问题有 %d 个字，相似问题最多 %d 个字：请缩短后再加入文章 %s (the question has %[1]d characters, a similar question of %[3]s at most %[2]d: shorten it)",
			n, MaxQuestionLen, articleID)
	}
	v, err := e.addSimilar(ctx, articleID, text, author)
	if err != nil {
		return Version{}, err
	}
	if err := e.store.DeleteUnanswered(ctx, g.Texts...); err != nil {
		return Version{}, fmt.Errorf("kb: unanswered: %w", err)
	}
	return v, nil
}

// addSimilar saves text as a new similar question of the latest version
// of an article that is not archived, unless it has that question, and
// returns the article's latest version. A save by someone else in between
// is read again (a few times) rather than overwritten.
func (e *Editor) addSimilar(ctx context.Context, articleID, text, author string) (Version, error) {
	for try := 0; ; try++ {
		h, err := e.store.Head(ctx, articleID)
		if err != nil {
			return Version{}, fmt.Errorf("kb: resolve into %s: %w", articleID, err)
		}
		if h.Article.Status == StatusArchived {
			return Version{}, Invalidf("文章 %s 已归档：修改并保存以恢复它，或选择其他文章 (article %[1]s is archived: change and save it to restore it, or choose another)", articleID)
		}
		v, err := e.store.Version(ctx, articleID, h.Latest)
		if err != nil || slices.Contains(v.Article.Questions(), text) {
			return v, err
		}
		a := v.Article
		a.Similar = append(slices.Clone(a.Similar), text)
		v, err = e.SaveIf(ctx, a, author, "未答问题："+text, Base{Version: h.Latest})
		if !errors.Is(err, ErrConflict) || try == 2 {
			return v, err
		}
	}
}

package kb

import (
	"context"
	"errors"
	"time"
)

// The errors of the editorial side of the knowledge base. Store
// implementations return them (wrapped) as the Store methods document.
var (
	// ErrNotFound is returned for an article or version that does not
	// exist, and for an unanswered group that is gone.
	ErrNotFound = errors.New("kb: not found")
	// ErrRejected is returned by ApplyImport when the plan has rejected
	// rows and the caller did not allow them.
	ErrRejected = errors.New("kb: import has rejected rows")
	// ErrStalePlan is returned by ApplyImport when the knowledge base or
	// the file changed since the dry run the import was reviewed by.
	ErrStalePlan = errors.New("kb: the knowledge base or the file changed since the dry run")
	// ErrConflict is returned by a conditional save when the article's
	// latest version is not the one the edit started from.
	ErrConflict = errors.New("kb: saved by someone else meanwhile")
	// ErrNotNotified is returned (wrapped) when a publish is done but
	// telling the other instances failed; they catch up by polling. It is
	// a warning, not a failure.
	ErrNotNotified = errors.New("kb: published, but the other instances were not notified")
)

// AnyVersion is the base version of an unconditional save.
const AnyVersion = -1

// Base is the state of an article an edit started from: a conditional
// save goes ahead only while the article is still at that version, and
// restores an archived article only when the edit started from it
// archived, so that a save never quietly brings back an article someone
// archived meanwhile.
type Base struct {
	// Version is the article's latest version when the edit started, 0
	// for a new article, AnyVersion for an unconditional save (which also
	// restores an archived article).
	Version int
	// Archived says the article was archived when the edit started: the
	// save restores it, as a draft.
	Archived bool
}

// AnyBase is the base of an unconditional save.
var AnyBase = Base{Version: AnyVersion}

// Holds reports whether article h is still as b says, so that a save on b
// would go ahead (the stores check the same, atomically, as they save).
func (b Base) Holds(h Head) bool {
	return b.Version == AnyVersion || b.Version == h.Latest && (b.Archived || h.Article.Status != StatusArchived)
}

// Version is one saved state of an article. Versions are numbered 1, 2, …
// per article and never change once written: a rollback is a new version.
type Version struct {
	// ID is the article's ID.
	ID string `json:"id"`
	// Version is the number of this version, from 1.
	Version int `json:"version"`
	// Article is the article's content as saved. Its Status is always
	// StatusDraft: the editorial status belongs to the article (see Head),
	// not to one of its versions.
	Article Article `json:"article"`
	// Author is the username of the editor who saved it ("system" for
	// the default knowledge base).
	Author string `json:"author"`
	// At is when it was saved.
	At time.Time `json:"at"`
	// Note says why, e.g. "导入" or "回滚到版本 3"; may be empty.
	Note string `json:"note,omitempty"`
}

// Head is the editorial state of an article: its current draft (the latest
// version) and the version the bot answers with.
type Head struct {
	// Article is the content of the latest version, with Status set to the
	// article's editorial status: StatusPublished while a version of it is
	// published (even when a newer draft waits), StatusArchived once
	// archived, StatusDraft otherwise.
	Article Article `json:"article"`
	// Latest is the number of the latest version.
	Latest int `json:"latest"`
	// Published is the number of the published version, 0 when none.
	Published int `json:"published"`
	// UpdatedBy and UpdatedAt are the author and time of the latest version.
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	// StatusBy and StatusAt tell who last published or archived the
	// article, and when; empty and zero before either happened.
	StatusBy string    `json:"status_by,omitempty"`
	StatusAt time.Time `json:"status_at,omitzero"`
}

// StatusEvent is one publish or archive of an article: who put which
// version live, or took it out, and when.
type StatusEvent struct {
	// Action is ActionPublish or ActionArchive.
	Action string `json:"action"`
	// Version is the version published, or, for an archive, the version
	// that was published until then (0: none was).
	Version int       `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// The actions of a StatusEvent.
const (
	ActionPublish = "publish"
	ActionArchive = "archive"
)

// MaxStatusLog is the most events a StatusLog keeps per article; older
// ones are dropped.
const MaxStatusLog = 200

// Pending reports whether the article has a draft newer than its published
// version.
func (h Head) Pending() bool { return h.Published > 0 && h.Published != h.Latest }

// HeadStatus returns the editorial status of an article whose published
// version is published (0 = none) and that is or is not archived, as every
// Store reports it in Head.Article.Status.
func HeadStatus(published int, archived bool) Status {
	switch {
	case published > 0:
		return StatusPublished
	case archived:
		return StatusArchived
	}
	return StatusDraft
}

// Reason is why a question went unanswered.
type Reason string

const (
	// ReasonFailed is a turn the knowledge base could not answer.
	ReasonFailed Reason = "failed"
	// ReasonHandoff is a question that ended with a handoff to a person.
	ReasonHandoff Reason = "handoff"
)

// Unanswered is one question the bot did not answer.
type Unanswered struct {
	// Text is the user's question.
	Text string `json:"text"`
	// Reason is ReasonFailed or ReasonHandoff.
	Reason Reason `json:"reason"`
	// At is when it was asked; zero means now.
	At time.Time `json:"at"`
	// ArticleID is the best candidate the matcher found, if any, and Score
	// its score.
	ArticleID string  `json:"article_id,omitempty"`
	Score     float64 `json:"score,omitempty"`
}

// UnansweredStats sum up the records of unanswered questions.
type UnansweredStats struct {
	// Count is the number of records; Failed and Handoff split it by
	// reason.
	Count   int `json:"count"`
	Failed  int `json:"failed"`
	Handoff int `json:"handoff"`
	// FirstSeen and LastSeen are the times of the first and last record.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ArticleID and Score are the best-scoring candidate the matcher found
	// over the records (empty and 0 when none had one).
	ArticleID string  `json:"article_id,omitempty"`
	Score     float64 `json:"score,omitempty"`
}

// add sums o into s.
func (s *UnansweredStats) add(o UnansweredStats) {
	if s.Count == 0 || o.FirstSeen.Before(s.FirstSeen) {
		s.FirstSeen = o.FirstSeen
	}
	if s.Count == 0 || o.LastSeen.After(s.LastSeen) {
		s.LastSeen = o.LastSeen
	}
	s.Count += o.Count
	s.Failed += o.Failed
	s.Handoff += o.Handoff
	if o.ArticleID != "" && (s.ArticleID == "" || o.Score > s.Score) {
		s.ArticleID, s.Score = o.ArticleID, o.Score
	}
}

// UnansweredText is what a Store keeps of one distinct unanswered text:
// repeats are counted, not stored again.
type UnansweredText struct {
	// Text is the question as asked (trimmed, cut to MaxUnansweredLen).
	Text string `json:"text"`
	UnansweredStats
}

// Store keeps the versioned articles, the publish revision and the
// unanswered questions. Implementations are safe for concurrent use, also
// by several processes sharing the backend. Times are kept to the
// microsecond.
type Store interface {
	// Seed stores articles, each as version 1 by author at time at, and
	// publishes them all (the revision becomes 1; each article's status log
	// records the publish), if and only if the store
	// holds no article yet; it reports whether it did. Two processes
	// seeding at once seed once. The articles must be valid and their IDs
	// distinct; their Status is stored as given.
	Seed(ctx context.Context, articles []Article, author string, at time.Time) (bool, error)
	// Save stores a as the next version of article a.ID (version 1 for a
	// new ID), atomically: concurrent saves of one article get distinct,
	// consecutive numbers and none is lost. Saving an archived article
	// makes it a draft again; a published article stays published (the
	// new version waits for Publish). It returns the stored version.
	//
	// base makes the save conditional, in the same atomic step: the
	// article's latest version must be base.Version (0: the article must
	// not exist yet), and it must not be archived unless base.Archived,
	// or the save stores nothing and returns ErrConflict. AnyBase saves
	// unconditionally.
	Save(ctx context.Context, a Article, author, note string, at time.Time, base Base) (Version, error)
	// Version returns version n of article id, or ErrNotFound.
	Version(ctx context.Context, id string, n int) (Version, error)
	// History returns every version of article id, oldest first, or
	// ErrNotFound when it has none.
	History(ctx context.Context, id string) ([]Version, error)
	// Head returns the editorial state of article id, or ErrNotFound.
	Head(ctx context.Context, id string) (Head, error)
	// Heads returns the editorial state of every article, by ID.
	Heads(ctx context.Context) ([]Head, error)
	// Publish makes the latest version of each article in ids its
	// published version (un-archiving it), records by and at, and moves
	// the publish revision on by one. It returns the new revision. When an
	// ID is unknown it returns ErrNotFound and changes nothing. expect, if
	// not nil, maps IDs to the version that must still be their latest:
	// when one is not, Publish returns ErrConflict and changes nothing.
	Publish(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error)
	// Archive removes each article in ids from the published set and marks
	// it archived, and moves the revision on; like Publish otherwise.
	// Publish and Archive add a StatusEvent to each article's log.
	Archive(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error)
	// StatusLog returns the publishes and archives of article id, oldest
	// first (empty when it has none, or no such article).
	StatusLog(ctx context.Context, id string) ([]StatusEvent, error)
	// Published returns the published version of every published article,
	// by ID, and the revision they belong to, read together.
	Published(ctx context.Context) ([]Version, int64, error)
	// Revision returns the publish revision: 0 before the first publish,
	// then moved on by every Publish and Archive. It is cheap to call.
	Revision(ctx context.Context) (int64, error)

	// RecordUnanswered counts one more record of each u.Text (u.At must be
	// set), in one write, keeping about max distinct texts: when new texts
	// take their number past max + UnansweredSlack(max), the texts seen
	// least recently are forgotten down to max.
	RecordUnanswered(ctx context.Context, us []Unanswered, max int) error
	// UnansweredTexts returns every kept unanswered text, in no particular
	// order.
	UnansweredTexts(ctx context.Context) ([]UnansweredText, error)
	// DeleteUnanswered forgets the given texts; unknown ones are ignored.
	DeleteUnanswered(ctx context.Context, texts ...string) error
}

// Notifier tells the running instances that the published set changed, so
// each rebuilds its matcher. An in-process one (NewLocalNotifier) serves
// the embedded mode; the shared mode has one on Redis pub/sub.
type Notifier interface {
	// Publish announces revision rev to every subscriber, in this process
	// and in the others sharing the backend.
	Publish(ctx context.Context, rev int64) error
	// Subscribe returns a channel that receives the revisions published
	// after Subscribe returns, until ctx is done; then the channel is
	// closed. A subscriber that falls behind gets the latest revision and
	// misses the ones before it.
	Subscribe(ctx context.Context) (<-chan int64, error)
}

// Package sqlitestore keeps the knowledge base's versioned articles and
// unanswered questions in the SQLite database of the embedded mode
// (internal/sqlitedb).
//
// kb_articles holds one row per article: the number of its latest and of
// its published version, whether it is archived, and who last saved and
// published it. kb_versions holds every version, the article as JSON; a
// version row is never changed once written. kb_revision is the publish
// revision, kb_unanswered one row per distinct unanswered text.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
)

var _ kb.Store = (*Store)(nil)

// migrations create the tables; see sqlitedb.Migrate.
var migrations = []string{
	`CREATE TABLE kb_articles (
	id         TEXT PRIMARY KEY,
	latest     INTEGER NOT NULL,           -- number of the latest version
	published  INTEGER NOT NULL DEFAULT 0, -- number of the published version, 0 = none
	archived   INTEGER NOT NULL DEFAULT 0, -- 1: archived
	updated_by TEXT NOT NULL,
	updated_at INTEGER NOT NULL,           -- unix microseconds
	status_by  TEXT NOT NULL DEFAULT '',   -- who last published or archived it
	status_at  INTEGER NOT NULL DEFAULT 0  -- and when, unix microseconds; 0 = never
) STRICT, WITHOUT ROWID;
CREATE TABLE kb_versions (
	id      TEXT NOT NULL REFERENCES kb_articles (id),
	version INTEGER NOT NULL,
	author  TEXT NOT NULL,
	at      INTEGER NOT NULL, -- unix microseconds
	note    TEXT NOT NULL,
	data    TEXT NOT NULL,    -- JSON of kb.Article
	PRIMARY KEY (id, version)
) STRICT, WITHOUT ROWID;
CREATE TABLE kb_revision (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
) STRICT;
INSERT INTO kb_revision (id, value) VALUES (1, 0);
CREATE TABLE kb_unanswered (
	text       TEXT PRIMARY KEY,
	count      INTEGER NOT NULL,
	failed     INTEGER NOT NULL,
	handoff    INTEGER NOT NULL,
	first_seen INTEGER NOT NULL, -- unix microseconds
	last_seen  INTEGER NOT NULL, -- unix microseconds
	article_id TEXT NOT NULL,    -- best candidate, '' = none
	score      REAL NOT NULL
) STRICT;
CREATE INDEX kb_unanswered_last_seen ON kb_unanswered (last_seen, text);`,
	`CREATE TABLE kb_status_log (
	id      TEXT NOT NULL REFERENCES kb_articles (id),
	what    TEXT NOT NULL,    -- kb.ActionPublish or kb.ActionArchive
	version INTEGER NOT NULL, -- published, or taken out by an archive (0 = none)
	author  TEXT NOT NULL,
	at      INTEGER NOT NULL  -- unix microseconds
) STRICT;
CREATE INDEX kb_status_log_id ON kb_status_log (id);`,
}

// Store is the embedded kb.Store.
type Store struct {
	db *sql.DB
	// recordUnanswered and trimUnanswered are prepared once: a failed turn
	// records one, on the hot path of a busy bot.
	recordUnanswered, trimUnanswered *sql.Stmt
}

// New returns a Store on db, creating or upgrading its tables.
func New(db *sql.DB) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "kb.articles", migrations...); err != nil {
		return nil, fmt.Errorf("kb: article store: %w", err)
	}
	s := &Store{db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		// In an upsert's SET, the columns are those of the stored row:
		// article_id is replaced only by a candidate with a better score.
		// It returns the text's count: 1 for a new text.
		{&s.recordUnanswered, `INSERT INTO kb_unanswered (text, count, failed, handoff, first_seen, last_seen, article_id, score)
VALUES (?1, 1, ?2, ?3, ?4, ?4, ?5, ?6)
ON CONFLICT (text) DO UPDATE SET count = count + 1, failed = failed + excluded.failed, handoff = handoff + excluded.handoff,
	first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
	article_id = CASE WHEN excluded.article_id <> '' AND (article_id = '' OR excluded.score > score) THEN excluded.article_id ELSE article_id END,
	score = CASE WHEN excluded.article_id <> '' AND (article_id = '' OR excluded.score > score) THEN excluded.score ELSE score END
RETURNING count`},
		// ?1 is the most texts to keep, ?2 how far past it they may go.
		{&s.trimUnanswered, `DELETE FROM kb_unanswered WHERE text IN (SELECT text FROM kb_unanswered
ORDER BY last_seen, text LIMIT (SELECT CASE WHEN n > ?1 + ?2 THEN n - ?1 ELSE 0 END FROM (SELECT count(*) AS n FROM kb_unanswered)))`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("kb: article store: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return s, nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func micro(t time.Time) int64 { return t.UnixMicro() }

// timeOf reads a unix microseconds column; 0 is the zero time.
func timeOf(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

const insertVersion = `INSERT INTO kb_versions (id, version, author, at, note, data) VALUES (?, ?, ?, ?, ?, ?)`

// Seed stores and publishes articles when the store has none.
func (s *Store) Seed(ctx context.Context, articles []kb.Article, author string, at time.Time) (bool, error) {
	seeded := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kb_articles)`).Scan(&exists); err != nil || exists {
			return err
		}
		for _, a := range articles {
			data, err := json.Marshal(a)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO kb_articles (id, latest, published, updated_by, updated_at, status_by, status_at)
VALUES (?, 1, 1, ?, ?, ?, ?)`, a.ID, author, micro(at), author, micro(at))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insertVersion, a.ID, 1, author, micro(at), "", string(data)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insertStatusEvent, a.ID, kb.ActionPublish, 1, author, micro(at)); err != nil {
				return err
			}
		}
		seeded = true
		_, err := tx.ExecContext(ctx, `UPDATE kb_revision SET value = value + 1`)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("kb: seed: %w", err)
	}
	return seeded, nil
}

// Save stores the next version of a.ID.
func (s *Store) Save(ctx context.Context, a kb.Article, author, note string, at time.Time, base kb.Base) (kb.Version, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return kb.Version{}, err
	}
	v := kb.Version{ID: a.ID, Article: a, Author: author, At: at, Note: note}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if base.Version != kb.AnyVersion {
			var (
				latest   int
				archived bool
			)
			err := tx.QueryRowContext(ctx, `SELECT latest, archived FROM kb_articles WHERE id = ?`, a.ID).Scan(&latest, &archived)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if latest != base.Version {
				return fmt.Errorf("latest version is %d, not %d: %w", latest, base.Version, kb.ErrConflict)
			}
			if archived && !base.Archived {
				return fmt.Errorf("archived since: %w", kb.ErrConflict)
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO kb_articles (id, latest, updated_by, updated_at) VALUES (?, 1, ?, ?)
ON CONFLICT (id) DO UPDATE SET latest = latest + 1, archived = 0, updated_by = excluded.updated_by, updated_at = excluded.updated_at
RETURNING latest`, a.ID, author, micro(at)).Scan(&v.Version)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertVersion, a.ID, v.Version, author, micro(at), note, string(data))
		return err
	})
	if err != nil {
		return kb.Version{}, fmt.Errorf("kb: save %s: %w", a.ID, err)
	}
	return v, nil
}

// insertStatusEvent logs a publish or an archive: id, what, version,
// author, at.
const insertStatusEvent = `INSERT INTO kb_status_log (id, what, version, author, at) VALUES (?, ?, ?, ?, ?)`

const versionColumns = `v.id, v.version, v.author, v.at, v.note, v.data`

type scanner interface{ Scan(dest ...any) error }

func scanVersion(row scanner, extra ...any) (kb.Version, error) {
	var (
		v    kb.Version
		at   int64
		data []byte
	)
	if err := row.Scan(append([]any{&v.ID, &v.Version, &v.Author, &at, &v.Note, &data}, extra...)...); err != nil {
		return kb.Version{}, err
	}
	v.At = timeOf(at)
	if err := json.Unmarshal(data, &v.Article); err != nil {
		return kb.Version{}, fmt.Errorf("version %d of %s: %w", v.Version, v.ID, err)
	}
	return v, nil
}

// Version returns version n of article id.
func (s *Store) Version(ctx context.Context, id string, n int) (kb.Version, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM kb_versions v WHERE v.id = ? AND v.version = ?`, id, n))
	if errors.Is(err, sql.ErrNoRows) {
		return kb.Version{}, fmt.Errorf("kb: version %d of %s: %w", n, id, kb.ErrNotFound)
	}
	if err != nil {
		return kb.Version{}, fmt.Errorf("kb: version %d of %s: %w", n, id, err)
	}
	return v, nil
}

// History returns every version of article id, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]kb.Version, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+versionColumns+` FROM kb_versions v WHERE v.id = ? ORDER BY v.version`, id)
	if err != nil {
		return nil, fmt.Errorf("kb: history of %s: %w", id, err)
	}
	defer rows.Close()
	var vs []kb.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("kb: history of %s: %w", id, err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: history of %s: %w", id, err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("kb: history of %s: %w", id, kb.ErrNotFound)
	}
	return vs, nil
}

// headQuery selects the heads with the content of their latest versions.
const headQuery = `SELECT ` + versionColumns + `, a.published, a.archived, a.status_by, a.status_at
FROM kb_articles a JOIN kb_versions v ON v.id = a.id AND v.version = a.latest`

func scanHead(row scanner) (kb.Head, error) {
	var (
		h        kb.Head
		archived bool
		statusAt int64
	)
	v, err := scanVersion(row, &h.Published, &archived, &h.StatusBy, &statusAt)
	if err != nil {
		return kb.Head{}, err
	}
	h.Article, h.Latest, h.UpdatedBy, h.UpdatedAt, h.StatusAt = v.Article, v.Version, v.Author, v.At, timeOf(statusAt)
	h.Article.Status = kb.HeadStatus(h.Published, archived)
	return h, nil
}

// Head returns the editorial state of article id.
func (s *Store) Head(ctx context.Context, id string) (kb.Head, error) {
	h, err := scanHead(s.db.QueryRowContext(ctx, headQuery+` WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return kb.Head{}, fmt.Errorf("kb: article %s: %w", id, kb.ErrNotFound)
	}
	if err != nil {
		return kb.Head{}, fmt.Errorf("kb: article %s: %w", id, err)
	}
	return h, nil
}

// Heads returns the editorial state of every article, by ID.
func (s *Store) Heads(ctx context.Context) ([]kb.Head, error) {
	rows, err := s.db.QueryContext(ctx, headQuery+` ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	defer rows.Close()
	heads := []kb.Head{}
	for rows.Next() {
		h, err := scanHead(rows)
		if err != nil {
			return nil, fmt.Errorf("kb: articles: %w", err)
		}
		heads = append(heads, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	return heads, nil
}

// Publish publishes the latest versions of ids.
func (s *Store) Publish(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	return s.setStatus(ctx, ids, expect, kb.ActionPublish, by, at)
}

// Archive takes ids out of the published set.
func (s *Store) Archive(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	return s.setStatus(ctx, ids, expect, kb.ActionArchive, by, at)
}

// statusUpdates are the updates (by, at, id) of each action.
var statusUpdates = map[string]string{
	kb.ActionPublish: `UPDATE kb_articles SET published = latest, archived = 0, status_by = ?, status_at = ? WHERE id = ?`,
	kb.ActionArchive: `UPDATE kb_articles SET published = 0, archived = 1, status_by = ?, status_at = ? WHERE id = ?`,
}

// setStatus publishes or archives every id, logs it, and moves the
// revision on, or changes nothing when an id is unknown or not at the
// version expect gives it. An article already in that state (its latest
// version published, or archived) is left as it is and not logged; when
// all are, the revision stays.
func (s *Store) setStatus(ctx context.Context, ids []string, expect map[string]int, action, by string, at time.Time) (int64, error) {
	var rev int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		changed := 0
		for _, id := range ids {
			var latest, published int
			var archived bool
			err := tx.QueryRowContext(ctx, `SELECT latest, published, archived FROM kb_articles WHERE id = ?`, id).Scan(&latest, &published, &archived)
			switch want, ok := expect[id]; {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("article %s: %w", id, kb.ErrNotFound)
			case err != nil:
				return err
			case ok && latest != want:
				return fmt.Errorf("article %s: version %d, not %d: %w", id, latest, want, kb.ErrConflict)
			case action == kb.ActionPublish && published == latest, action == kb.ActionArchive && archived:
				continue
			}
			changed++
			if _, err := tx.ExecContext(ctx, statusUpdates[action], by, micro(at), id); err != nil {
				return err
			}
			version := latest
			if action == kb.ActionArchive {
				version = published
			}
			if _, err := tx.ExecContext(ctx, insertStatusEvent,
				id, action, version, by, micro(at)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM kb_status_log WHERE id = ? AND rowid <=
	(SELECT rowid FROM kb_status_log WHERE id = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?)`, id, id, kb.MaxStatusLog); err != nil {
				return err
			}
		}
		if changed == 0 {
			return tx.QueryRowContext(ctx, `SELECT value FROM kb_revision`).Scan(&rev)
		}
		return tx.QueryRowContext(ctx, `UPDATE kb_revision SET value = value + 1 RETURNING value`).Scan(&rev)
	})
	if err != nil {
		return 0, fmt.Errorf("kb: %w", err)
	}
	return rev, nil
}

// StatusLog returns the publishes and archives of id, oldest first.
func (s *Store) StatusLog(ctx context.Context, id string) ([]kb.StatusEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT what, version, author, at FROM kb_status_log WHERE id = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("kb: status log of %s: %w", id, err)
	}
	defer rows.Close()
	events := []kb.StatusEvent{}
	for rows.Next() {
		var (
			e  kb.StatusEvent
			at int64
		)
		if err := rows.Scan(&e.Action, &e.Version, &e.By, &at); err != nil {
			return nil, fmt.Errorf("kb: status log of %s: %w", id, err)
		}
		e.At = timeOf(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: status log of %s: %w", id, err)
	}
	return events, nil
}

// Published returns the published versions and the revision.
func (s *Store) Published(ctx context.Context) ([]kb.Version, int64, error) {
	var (
		vs  = []kb.Version{}
		rev int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT value FROM kb_revision`).Scan(&rev); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+versionColumns+`
FROM kb_articles a JOIN kb_versions v ON v.id = a.id AND v.version = a.published ORDER BY a.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("kb: published: %w", err)
	}
	return vs, rev, nil
}

// Revision returns the publish revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM kb_revision`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("kb: revision: %w", err)
	}
	return rev, nil
}

// RecordUnanswered counts one record of each text in one transaction,
// keeping about max texts (see kb.Store).
func (s *Store) RecordUnanswered(ctx context.Context, us []kb.Unanswered, max int) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		record := tx.StmtContext(ctx, s.recordUnanswered)
		added := false
		for _, u := range us {
			failed, handoff := 1, 0
			if u.Reason == kb.ReasonHandoff {
				failed, handoff = 0, 1
			}
			var count int
			err := record.QueryRowContext(ctx, u.Text, failed, handoff, micro(u.At), u.ArticleID, u.Score).Scan(&count)
			if err != nil {
				return err
			}
			added = added || count == 1
		}
		if !added {
			return nil // texts seen before: the number of texts is unchanged
		}
		_, err := tx.StmtContext(ctx, s.trimUnanswered).ExecContext(ctx, max, kb.UnansweredSlack(max))
		return err
	})
	if err != nil {
		return fmt.Errorf("kb: record unanswered: %w", err)
	}
	return nil
}

// UnansweredTexts returns every kept unanswered text.
func (s *Store) UnansweredTexts(ctx context.Context) ([]kb.UnansweredText, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT text, count, failed, handoff, first_seen, last_seen, article_id, score FROM kb_unanswered`)
	if err != nil {
		return nil, fmt.Errorf("kb: unanswered: %w", err)
	}
	defer rows.Close()
	var out []kb.UnansweredText
	for rows.Next() {
		var (
			t           kb.UnansweredText
			first, last int64
		)
		if err := rows.Scan(&t.Text, &t.Count, &t.Failed, &t.Handoff, &first, &last, &t.ArticleID, &t.Score); err != nil {
			return nil, fmt.Errorf("kb: unanswered: %w", err)
		}
		t.FirstSeen, t.LastSeen = timeOf(first), timeOf(last)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: unanswered: %w", err)
	}
	return out, nil
}

// DeleteUnanswered forgets texts.
func (s *Store) DeleteUnanswered(ctx context.Context, texts ...string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM kb_unanswered WHERE text = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, t := range texts {
			if _, err := stmt.ExecContext(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kb: delete unanswered: %w", err)
	}
	return nil
}

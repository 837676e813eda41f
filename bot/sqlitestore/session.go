// Package sqlitestore keeps the bot's state for the embedded mode: sessions
// in the SQLite database (internal/sqlitedb), and the deduper and the user
// locks in process memory, since the embedded mode runs one instance.
package sqlitestore

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"sync"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

var _ bot.SessionStore = (*Store)(nil)

// migrations create the sessions table; see sqlitedb.Migrate.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS bot_sessions (
	open_id    TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	data       TEXT NOT NULL,   -- JSON of bot.Session
	updated_at INTEGER NOT NULL -- Session.UpdatedAt, unix milliseconds
) STRICT`,
	// flow_active is the running flow's Flow.UpdatedAt (unix milliseconds),
	// NULL without one: the sweep finds idle flows by it.
	`ALTER TABLE bot_sessions ADD COLUMN flow_active INTEGER;
CREATE INDEX bot_sessions_flow_active ON bot_sessions (flow_active) WHERE flow_active IS NOT NULL`,
}

// DefaultCacheSize is how many sessions New keeps in memory.
const DefaultCacheSize = 10000

// Store is the embedded bot.SessionStore, on the bot_sessions table.
//
// It keeps the sessions used most recently in a write-through cache, so a
// turn reads its session without a query. The cache is right only while
// this Store is the only writer of the table: open one Store per database
// (the embedded mode is one process). Should anything else change a row,
// the next SaveSession of it fails with bot.ErrConflict and drops the
// cached copy, so the retry reads the database.
type Store struct {
	db                             *sql.DB
	get, insert, update, del, idle *sql.Stmt

	// wmu orders the statements that make or fill cache entries (writes,
	// and reads on a miss), so the cache sees the table's changes in the
	// order they were committed.
	wmu sync.Mutex
	// group batches concurrent saves into one transaction.
	group groupCommit
	// mu guards the cache.
	mu    sync.Mutex
	size  int
	cache map[string]*list.Element // of bot.Session as stored; Version 0 = no row
	lru   list.List                // most recently used first
}

// New returns a Store on db that caches DefaultCacheSize sessions, creating
// its table when missing.
func New(db *sql.DB) (*Store, error) { return NewWithCache(db, DefaultCacheSize) }

// NewWithCache returns a Store on db that caches up to size sessions; 0
// turns the cache off.
func NewWithCache(db *sql.DB, size int) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "bot.sessions", migrations...); err != nil {
		return nil, fmt.Errorf("bot: session store: %w", err)
	}
	s := &Store{db: db, size: max(size, 0), cache: make(map[string]*list.Element)}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.get, `SELECT version, data FROM bot_sessions WHERE open_id = ?`},
		{&s.insert, `INSERT INTO bot_sessions (open_id, version, data, updated_at, flow_active) VALUES (?, 1, ?, ?, ?)
ON CONFLICT (open_id) DO NOTHING`},
		{&s.update, `UPDATE bot_sessions SET version = version + 1, data = ?, updated_at = ?, flow_active = ?
WHERE open_id = ? AND version = ?`},
		{&s.del, `DELETE FROM bot_sessions WHERE open_id = ?`},
		{&s.idle, `SELECT open_id FROM bot_sessions WHERE flow_active IS NOT NULL AND flow_active < ?
ORDER BY flow_active LIMIT ?`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("bot: session store: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return s, nil
}

// Close releases the prepared statements. It does not close the database.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.get, s.insert, s.update, s.del, s.idle} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Session returns the user's session, or a new one (StateBot, Version 0)
// when none is stored.
func (s *Store) Session(ctx context.Context, openID string) (bot.Session, error) {
	if s.size == 0 {
		return s.load(ctx, openID)
	}
	if sess, ok := s.cached(openID); ok {
		return sess, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if sess, ok := s.cached(openID); ok {
		return sess, nil
	}
	sess, err := s.load(ctx, openID)
	if err != nil {
		return bot.Session{}, err
	}
	s.put(sess)
	return sess, nil
}

// SaveSession stores sess if the stored version equals sess.Version and
// increments sess.Version; bot.ErrConflict otherwise. Saves that arrive
// while another is being written wait and are then committed together, in
// one transaction (group commit): each still returns only once its own row
// is committed, and a batch costs one commit instead of one per save.
func (s *Store) SaveSession(ctx context.Context, sess *bot.Session) error {
	if sess.OpenID == "" {
		return fmt.Errorf("bot: save session: empty open_id")
	}
	next := *sess
	next.Version++
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("bot: save session %s: %w", sess.OpenID, err)
	}
	req := &saveReq{sess: *sess, data: string(data), done: make(chan struct{})}
	s.group.mu.Lock()
	s.group.pending = append(s.group.pending, req)
	if !s.group.leading {
		// Lead: write batches until no save is waiting.
		s.group.leading = true
		for len(s.group.pending) > 0 {
			batch := s.group.pending
			s.group.pending = nil
			s.group.mu.Unlock()
			s.commit(context.WithoutCancel(ctx), batch)
			s.group.mu.Lock()
		}
		s.group.leading = false
	}
	s.group.mu.Unlock()
	select {
	case <-req.done:
	case <-ctx.Done():
		// The save may still be committed; the caller must reload.
		return fmt.Errorf("bot: save session %s: %w", sess.OpenID, ctx.Err())
	}
	if req.err != nil {
		return req.err
	}
	sess.Version++
	return nil
}

// saveReq is one SaveSession in a group commit.
type saveReq struct {
	sess bot.Session // as given: Version is the stored version it expects
	data string      // the JSON to store, at Version+1
	err  error
	done chan struct{}
}

// groupCommit collects the saves waiting for the one being written.
type groupCommit struct {
	mu      sync.Mutex
	pending []*saveReq
	leading bool // a caller is writing batches
}

// commit writes a batch in one transaction and tells every save its fate.
func (s *Store) commit(ctx context.Context, batch []*saveReq) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	fail := func(r *saveReq, err error) {
		s.forget(r.sess.OpenID)
		r.err = fmt.Errorf("bot: save session %s: %w", r.sess.OpenID, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			fail(r, err)
		}
		return
	}
	insert, update := tx.StmtContext(ctx, s.insert), tx.StmtContext(ctx, s.update)
	for _, r := range batch {
		id, v := r.sess.OpenID, r.sess.Version
		if cached, ok := s.cachedVersion(id); ok && cached != v {
			r.err = fmt.Errorf("bot: save session %s at version %d: %w", id, v, bot.ErrConflict)
			continue
		}
		var res sql.Result
		active := flowActive(&r.sess)
		if v == 0 {
			res, err = insert.ExecContext(ctx, id, r.data, r.sess.UpdatedAt.UnixMilli(), active)
		} else {
			res, err = update.ExecContext(ctx, r.data, r.sess.UpdatedAt.UnixMilli(), active, id, v)
		}
		if err != nil {
			fail(r, err)
			continue
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			s.forget(id)
			r.err = fmt.Errorf("bot: save session %s at version %d: %w", id, v, bot.ErrConflict)
			if err != nil {
				r.err = fmt.Errorf("bot: save session %s: %w", id, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		for _, r := range batch {
			if r.err == nil {
				fail(r, err)
			}
		}
		return
	}
	for _, r := range batch {
		if r.err == nil {
			stored := r.sess
			stored.Version++
			s.put(stored)
		}
	}
}

// DeleteSession forgets the user's session; deleting a missing one is not
// an error.
func (s *Store) DeleteSession(ctx context.Context, openID string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.del.ExecContext(ctx, openID); err != nil {
		s.forget(openID)
		return fmt.Errorf("bot: delete session %s: %w", openID, err)
	}
	s.put(newSession(openID))
	return nil
}

func (s *Store) load(ctx context.Context, openID string) (sess bot.Session, err error) {
	var (
		version int64
		data    []byte
	)
	err = s.get.QueryRowContext(ctx, openID).Scan(&version, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return newSession(openID), nil
	}
	if err != nil {
		return bot.Session{}, fmt.Errorf("bot: load session %s: %w", openID, err)
	}
	if err := json.Unmarshal(data, &sess); err != nil {
		return bot.Session{}, fmt.Errorf("bot: load session %s: %w", openID, err)
	}
	sess.OpenID = openID
	sess.Version = version
	return sess, nil
}

func newSession(openID string) bot.Session {
	return bot.Session{OpenID: openID, State: bot.StateBot}
}

// cached returns a copy of the cached session.
func (s *Store) cached(openID string) (bot.Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.cache[openID]
	if !ok {
		return bot.Session{}, false
	}
	s.lru.MoveToFront(el)
	return copySession(el.Value.(bot.Session)), true
}

// cachedVersion returns the stored version of a cached session.
func (s *Store) cachedVersion(openID string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.cache[openID]
	if !ok {
		return 0, false
	}
	return el.Value.(bot.Session).Version, true
}

// put caches a copy of sess, evicting the least recently used beyond size.
func (s *Store) put(sess bot.Session) {
	if s.size == 0 {
		return
	}
	sess = copySession(sess)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.cache[sess.OpenID]; ok {
		el.Value = sess
		s.lru.MoveToFront(el)
		return
	}
	s.cache[sess.OpenID] = s.lru.PushFront(sess)
	for s.lru.Len() > s.size {
		old := s.lru.Remove(s.lru.Back()).(bot.Session)
		delete(s.cache, old.OpenID)
	}
}

// forget drops the cached session, after a failure that leaves its stored
// state unknown.
func (s *Store) forget(openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.cache[openID]; ok {
		s.lru.Remove(el)
		delete(s.cache, openID)
	}
}

// copySession returns s with its own History, so that a caller's changes
// do not reach the cache.
func copySession(s bot.Session) bot.Session {
	if s.History != nil {
		s.History = append([]handoff.Message(nil), s.History...)
	}
	if s.Flow != nil {
		s.Flow = s.Flow.Clone()
	}
	return s
}

// flowActive is the flow_active column of a session: its flow's last
// activity in unix milliseconds, or NULL.
func flowActive(s *bot.Session) sql.NullInt64 {
	if s.Flow == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: s.Flow.UpdatedAt.UnixMilli(), Valid: true}
}

// IdleFlows returns up to limit users whose flow was last active before
// the given time, the longest idle first.
func (s *Store) IdleFlows(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.idle.QueryContext(ctx, before.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("bot: idle flows: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("bot: idle flows: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bot: idle flows: %w", err)
	}
	return ids, nil
}

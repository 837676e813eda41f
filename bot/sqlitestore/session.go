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
	"github.com/kefuhq/kefu/internal/logid"
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

// DefaultWriteDelay is how long New lets a saved session wait in memory
// before it is written, batched with the others saved meanwhile. While
// writes succeed, a crash of the process loses at most the saves of this
// last moment (as Redis with appendfsync everysec loses the last second);
// tickets, which users are told the number of, are not written this way.
const DefaultWriteDelay = 10 * time.Millisecond

// Options tune a Store.
type Options struct {
	// CacheSize is how many sessions, besides those not yet written, are
	// kept in memory so that a turn reads its session without a query;
	// 0 keeps none.
	CacheSize int
	// WriteDelay is how long a saved session may wait in memory before a
	// background writer stores it, with every other session saved
	// meanwhile, in one transaction: SaveSession returns at once, and a
	// user who writes several times within the delay costs one row
	// write. 0 writes each save before SaveSession returns (concurrent
	// saves still share a transaction).
	WriteDelay time.Duration
	// OnError, when set, is told of each failed background write (the
	// sessions stay in memory and are tried again) and of a failed write
	// before IdleFlows. It must not call the Store.
	OnError func(error)
}

// Store is the embedded bot.SessionStore, on the bot_sessions table.
//
// The Store is the authority on the sessions it has seen: it keeps the
// sessions saved but not yet written (always) and those used most
// recently (a cache), compares versions against them, and writes the
// table behind (see Options.WriteDelay). It is right only while it is the
// only writer of the table: open one Store per database, in one process
// (rows are written without comparing versions, so a second process on
// the same file would overwrite this one's sessions, and the other way
// round).
type Store struct {
	db                        *sql.DB
	get, upsert, del, idle    *sql.Stmt
	opts                      Options
	kick, closing, writerDone chan struct{}
	closeOnce                 sync.Once

	// wmu orders the statements that write the table or fill memory from
	// it (flushes, deletes, and reads of sessions not in memory), so a row
	// read from the table is never older than one being written.
	wmu sync.Mutex

	// mu guards what follows.
	mu    sync.Mutex
	cache map[string]*list.Element // of bot.Session as stored; Version 0 = no row
	lru   list.List                // most recently used first
	// dirty holds the newest version of every session saved and not yet
	// written; next is the flush that will write them.
	dirty map[string]pending
	next  *flush
	// failed is the error of the last flush, nil once one succeeds.
	failed error
	closed bool // Close has begun: saves are refused
}

// pending is a session saved and not yet written, with its JSON.
type pending struct {
	sess bot.Session
	data string
}

// flush is one write of the dirty sessions; done closes when it is over.
type flush struct {
	done chan struct{}
	err  error
}

// maxDirty bounds the sessions held in memory while writes keep failing:
// past it, SaveSession returns the last write's error.
const maxDirty = 100_000

// New returns a Store on db with DefaultCacheSize and DefaultWriteDelay,
// creating its table when missing. Close it before the database.
func New(db *sql.DB) (*Store, error) {
	return NewWithOptions(db, Options{CacheSize: DefaultCacheSize, WriteDelay: DefaultWriteDelay})
}

// NewWithOptions returns a Store on db tuned by opts, creating its table
// when missing. Close it before the database: Close writes what is left.
func NewWithOptions(db *sql.DB, opts Options) (*Store, error) {
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, "bot.sessions", migrations...); err != nil {
		return nil, fmt.Errorf("bot: session store: %w", err)
	}
	opts.CacheSize, opts.WriteDelay = max(opts.CacheSize, 0), max(opts.WriteDelay, 0)
	s := &Store{db: db, opts: opts, cache: make(map[string]*list.Element), dirty: make(map[string]pending),
		next: &flush{done: make(chan struct{})}}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.get, `SELECT version, data FROM bot_sessions WHERE open_id = ?`},
		{&s.upsert, `INSERT INTO bot_sessions (open_id, version, data, updated_at, flow_active) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (open_id) DO UPDATE SET version = excluded.version, data = excluded.data,
	updated_at = excluded.updated_at, flow_active = excluded.flow_active`},
		{&s.del, `DELETE FROM bot_sessions WHERE open_id = ?`},
		{&s.idle, `SELECT open_id FROM bot_sessions WHERE flow_active IS NOT NULL AND flow_active < ?
ORDER BY flow_active LIMIT ?`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("bot: session store: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	if opts.WriteDelay > 0 {
		s.kick, s.closing, s.writerDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go s.writer()
	}
	return s, nil
}

// Close writes the sessions not yet written and releases the prepared
// statements; saves from then on fail. It does not close the database.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if s.closing != nil {
			close(s.closing)
			<-s.writerDone
		}
		err = errors.Join(s.Flush(context.Background()), s.closeStmts())
	})
	return err
}

func (s *Store) closeStmts() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.get, s.upsert, s.del, s.idle} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Session returns the user's session, or a new one (StateBot, Version 0)
// when none is stored.
func (s *Store) Session(ctx context.Context, openID string) (bot.Session, error) {
	if sess, ok := s.inMemory(openID); ok {
		return sess, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.fill(ctx, openID)
}

// fill returns the user's session from memory, or else from the table,
// caching it. The caller holds wmu.
func (s *Store) fill(ctx context.Context, openID string) (bot.Session, error) {
	if sess, ok := s.inMemory(openID); ok {
		return sess, nil
	}
	sess, err := s.load(ctx, openID)
	if err != nil {
		return bot.Session{}, err
	}
	s.mu.Lock()
	s.put(sess)
	s.mu.Unlock()
	return sess, nil
}

// SaveSession stores sess if the stored version equals sess.Version and
// increments sess.Version; bot.ErrConflict otherwise. With a WriteDelay it
// returns once the session is in memory, and the background writer stores
// it; without, once it is written (saves arriving meanwhile are written
// together, in one transaction). It fails when the session cannot be
// encoded, after Close, and while writes fail with maxDirty sessions
// waiting.
func (s *Store) SaveSession(ctx context.Context, sess *bot.Session) error {
	if sess.OpenID == "" {
		return fmt.Errorf("bot: save session: empty open_id")
	}
	id := sess.OpenID
	next := copySession(*sess)
	next.Version++
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("bot: save session %s: %w", id, err)
	}
	s.mu.Lock()
	v, known := s.version(id)
	if !known {
		// Read the stored version first; wmu keeps a flush from changing
		// it meanwhile.
		s.mu.Unlock()
		s.wmu.Lock()
		stored, err := s.fill(ctx, id)
		s.mu.Lock()
		s.wmu.Unlock()
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("bot: save session %s: %w", id, err)
		}
		if v, known = s.version(id); !known { // not cached: CacheSize 0
			v = stored.Version
		}
	}
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("bot: save session %s: store closed", id)
	case v != sess.Version:
		s.mu.Unlock()
		return fmt.Errorf("bot: save session %s at version %d: %w", id, sess.Version, bot.ErrConflict)
	case s.failed != nil && len(s.dirty) >= maxDirty:
		err := s.failed
		s.mu.Unlock()
		return fmt.Errorf("bot: save session %s: %d sessions wait to be written: %w", id, len(s.dirty), err)
	}
	s.dirty[id] = pending{sess: next, data: string(data)}
	s.put(next)
	f, first := s.next, len(s.dirty) == 1
	s.mu.Unlock()
	sess.Version++
	if s.opts.WriteDelay > 0 {
		if first {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
		return nil
	}
	if err := s.write(ctx, f); err != nil {
		sess.Version--
		return fmt.Errorf("bot: save session %s: %w", id, err)
	}
	return nil
}

// Flush writes every session saved so far and not yet written.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	f := s.next
	s.mu.Unlock()
	return s.write(ctx, f)
}

// write waits until flush f is over, running it unless another caller
// already has, and returns its error.
func (s *Store) write(ctx context.Context, f *flush) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-f.done:
		return f.err
	default:
	}
	// Not done, so f is still s.next: flushes are run, and s.next
	// replaced, only here, under wmu.
	s.mu.Lock()
	batch := make([]pending, 0, len(s.dirty))
	for _, p := range s.dirty {
		batch = append(batch, p)
	}
	s.next = &flush{done: make(chan struct{})}
	s.mu.Unlock()

	f.err = s.store(context.WithoutCancel(ctx), batch)
	s.mu.Lock()
	for _, p := range batch {
		sess := &p.sess
		if d, ok := s.dirty[sess.OpenID]; ok && d.sess.Version == sess.Version {
			if f.err == nil || s.opts.WriteDelay == 0 {
				delete(s.dirty, sess.OpenID)
			}
			if f.err != nil && s.opts.WriteDelay == 0 {
				// The savers are told; their sessions are as stored.
				s.forget(sess.OpenID)
			}
		}
	}
	s.failed = f.err
	s.mu.Unlock()
	close(f.done)
	return f.err
}

// store writes batch in one transaction.
func (s *Store) store(ctx context.Context, batch []pending) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %d sessions: %w", len(batch), err)
	}
	defer tx.Rollback()
	upsert := tx.StmtContext(ctx, s.upsert)
	for _, p := range batch {
		sess := &p.sess
		if _, err := upsert.ExecContext(ctx, sess.OpenID, sess.Version, p.data, sess.UpdatedAt.UnixMilli(), flowActive(sess)); err != nil {
			// The error reaches logs: the user's id is hashed.
			return fmt.Errorf("write session of user %s: %w", logid.Hash(sess.OpenID), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %d sessions: %w", len(batch), err)
	}
	return nil
}

// writer is the background writer of a Store with a WriteDelay: woken by
// a save that finds no other waiting, it waits the delay, writes what was
// saved meanwhile, and goes on while sessions wait. After a failure
// (reported to OnError) it tries again, waiting longer each time, up to a
// second. When the Store closes it stops; Close writes what is left.
func (s *Store) writer() {
	defer close(s.writerDone)
	wait := s.opts.WriteDelay
	for {
		select {
		case <-s.kick:
		case <-s.closing:
			return
		}
		for more := true; more; {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.closing:
				t.Stop()
				return
			}
			if err := s.Flush(context.Background()); err != nil {
				s.report(err)
				wait = min(2*wait, time.Second)
			} else {
				wait = s.opts.WriteDelay
			}
			s.mu.Lock()
			more = len(s.dirty) > 0
			s.mu.Unlock()
		}
	}
}

// report tells OnError of a failed write.
func (s *Store) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(fmt.Errorf("bot: session store: %w", err))
	}
}

// DeleteSession forgets the user's session; deleting a missing one is not
// an error. On an error the session in memory, which is what counts, is
// left as it was.
func (s *Store) DeleteSession(ctx context.Context, openID string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.del.ExecContext(ctx, openID); err != nil {
		return fmt.Errorf("bot: delete session %s: %w", openID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dirty, openID)
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

// inMemory returns a copy of the user's session when it waits to be
// written or is cached.
func (s *Store) inMemory(openID string) (bot.Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.dirty[openID]; ok {
		return copySession(p.sess), true
	}
	el, ok := s.cache[openID]
	if !ok {
		return bot.Session{}, false
	}
	s.lru.MoveToFront(el)
	return copySession(el.Value.(bot.Session)), true
}

// version returns the stored version of a session in memory. The caller
// holds mu.
func (s *Store) version(openID string) (int64, bool) {
	if p, ok := s.dirty[openID]; ok {
		return p.sess.Version, true
	}
	if el, ok := s.cache[openID]; ok {
		return el.Value.(bot.Session).Version, true
	}
	return 0, false
}

// put caches sess, which the caller no longer changes, evicting the least
// recently used beyond CacheSize. The caller holds mu.
func (s *Store) put(sess bot.Session) {
	if s.opts.CacheSize == 0 {
		return
	}
	if el, ok := s.cache[sess.OpenID]; ok {
		el.Value = sess
		s.lru.MoveToFront(el)
		return
	}
	s.cache[sess.OpenID] = s.lru.PushFront(sess)
	for s.lru.Len() > s.opts.CacheSize {
		old := s.lru.Remove(s.lru.Back()).(bot.Session)
		delete(s.cache, old.OpenID)
	}
}

// forget drops the cached session, after a failure that leaves its stored
// state unknown. The caller holds mu.
func (s *Store) forget(openID string) {
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
// the given time, the longest idle first. It writes the sessions waiting
// first; should that fail (reported to OnError), it answers from the
// table as it is, and the flows missed are found by a later call.
func (s *Store) IdleFlows(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if err := s.Flush(ctx); err != nil {
		s.report(err) // the table may be behind: idle flows are found later
	}
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

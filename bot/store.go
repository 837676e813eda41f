package bot

import (
	"context"
	"errors"
	"time"
)

// Errors of the bot and its stores.
var (
	ErrConflict    = errors.New("bot: session changed concurrently")
	ErrIllegalMove = errors.New("bot: illegal state move")
	ErrLockTimeout = errors.New("bot: user lock not acquired in time")
)

// SessionStore keeps one Session per user. Implementations: bot/sqlitestore
// (embedded) and bot/redisstore (shared); both pass bot/storetest.
type SessionStore interface {
	// Session returns the user's session, or a new one (State StateBot,
	// Version 0) when none is stored.
	Session(ctx context.Context, openID string) (Session, error)
	// SaveSession stores s if the stored version equals s.Version (0 = not
	// stored yet), then increments s.Version. It returns ErrConflict when
	// another writer got there first.
	SaveSession(ctx context.Context, s *Session) error
	// DeleteSession forgets the user's session; deleting a missing one is
	// not an error.
	DeleteSession(ctx context.Context, openID string) error
	// IdleFlows returns up to limit users whose session has a running flow
	// (Session.Flow) last active (Flow.UpdatedAt) before the given time,
	// the longest idle first.
	IdleFlows(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// Turn is what the Deduper remembers of a processed message.
type Turn struct {
	// Done is false while the first delivery is still being processed.
	Done bool `json:"done"`
	// Reply is the passive reply given, empty for none.
	Reply string `json:"reply,omitempty"`
	// Async is set when the reply missed the turn budget and went out
	// through the customer-service API instead: a retry must then get no
	// passive reply.
	Async bool `json:"async,omitempty"`
}

// Deduper remembers messages by their dedupe key so that a platform retry
// is processed once and gets the same reply.
type Deduper interface {
	// BeginTurn claims key for ttl. It returns first=true when the caller is
	// the first to see the key and must process the message; otherwise it
	// returns what is remembered (Done=false while the first delivery is
	// still in progress).
	BeginTurn(ctx context.Context, key string, ttl time.Duration) (t Turn, first bool, err error)
	// FinishTurn records the outcome of the message for ttl.
	FinishTurn(ctx context.Context, key string, t Turn, ttl time.Duration) error
}

// Locker serialises one user's turns, across instances in shared mode.
type Locker interface {
	// Lock waits until it holds the lock on key, or ctx ends (the error
	// then wraps ErrLockTimeout). The lock expires after ttl even if never
	// released, so a crashed instance cannot block a user forever. unlock
	// releases it only if still held by this caller.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// SessionLocker is a Locker that is also the SessionStore and can take a
// user's lock and read their session in one step, and save a session and
// release the lock in one step: two round trips a turn fewer to a shared
// store (bot/redisstore). The engine uses it when its Locks and Sessions
// are the same value, so an implementation must be comparable (a pointer).
type SessionLocker interface {
	// LockSession waits until it holds the lock on key, as Locker.Lock
	// does, and returns the user's session as read under it.
	LockSession(ctx context.Context, key string, ttl time.Duration, openID string) (LockedSession, error)
}

// LockedSession is a session read under a held lock.
type LockedSession struct {
	Session Session
	// Unlock releases the lock if this caller still holds it; it does
	// nothing after a SaveAndUnlock that released it.
	Unlock func()
	// SaveAndUnlock saves s as SessionStore.SaveSession does and, when s
	// is saved, releases the lock in the same step. On an error
	// (ErrConflict included) the lock is still held.
	SaveAndUnlock func(ctx context.Context, s *Session) error
}

package auth

import (
	"context"
	"time"
)

// Store keeps accounts, sessions and rate-limit counters. Times are kept
// to the millisecond. An implementation reads the current time from a
// clock of its own (time.Now unless a test sets one) to expire sessions
// and counters; the Service is given the same clock.
type Store interface {
	// CreateAccount stores a new account with Version 1 (set on a). It
	// returns ErrConflict when a.ID or a.Username is taken, and ErrInvalid
	// when either is empty.
	CreateAccount(ctx context.Context, a *Account) error
	// Account returns the account with this id, or ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// AccountByUsername returns the account with this username, or
	// ErrNotFound.
	AccountByUsername(ctx context.Context, username string) (Account, error)
	// Accounts lists every account, by username.
	Accounts(ctx context.Context) ([]Account, error)
	// UpdateAccount replaces the stored account a.ID if its version equals
	// a.Version, then increments a.Version. The username is never changed.
	// It returns ErrConflict when another write came first and ErrNotFound
	// when there is no such account.
	UpdateAccount(ctx context.Context, a *Account) error

	// CreateSession stores a session until s.ExpiresAt.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with this token hash, or ErrNotFound
	// when there is none or it has expired.
	Session(ctx context.Context, hash string) (Session, error)
	// Sessions lists the account's sessions that have not expired, oldest
	// first.
	Sessions(ctx context.Context, accountID string) ([]Session, error)
	// DeleteSession revokes one session; deleting a missing one is not an
	// error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteSessions revokes every session of the account.
	DeleteSessions(ctx context.Context, accountID string) error

	// Hit counts an attempt against key: it adds one to the count of the
	// window running, or starts a window of length window with a count of
	// 1 when none is (never run, or ended). It returns the counter after
	// the attempt. Hits of every caller on the same store (also from other
	// instances) are counted once each.
	Hit(ctx context.Context, key string, window time.Duration) (Hits, error)
	// UndoHit takes one attempt back from the window running, if any.
	UndoHit(ctx context.Context, key string) error
	// ResetHits ends key's window.
	ResetHits(ctx context.Context, key string) error
}

package sqlitestore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kefuhq/kefu/bot"
)

var _ bot.Locker = (*Locker)(nil)

// Locker is the in-process bot.Locker of the embedded mode: a mutex per key,
// kept only while someone holds or waits for it, so the map does not grow
// with the number of users.
//
// A lock held longer than its ttl is released as in shared mode, so a turn
// stuck on a hung call cannot block its user for good; the late unlock of
// its first holder then does nothing. The ttl runs on the process's clock
// (time.AfterFunc).
type Locker struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

// keyLock is the lock of one key. sem holds a token while the lock is
// held; refs counts the holder and the waiters.
type keyLock struct {
	sem   chan struct{}
	refs  int
	gen   uint64 // of the current hold; each acquisition adds one
	held  bool
	timer *time.Timer
}

// NewLocker returns a Locker with no locks held.
func NewLocker() *Locker {
	return &Locker{locks: make(map[string]*keyLock)}
}

// Lock waits until it holds the lock on key or ctx ends; the error then
// wraps bot.ErrLockTimeout and the context's error. A ctx already done
// gets the error even when the key is free, as in shared mode.
func (l *Locker) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("bot: lock %s: ttl %v is not positive", key, ttl)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bot: lock %s: %w: %w", key, bot.ErrLockTimeout, context.Cause(ctx))
	}
	l.mu.Lock()
	kl, ok := l.locks[key]
	if !ok {
		kl = &keyLock{sem: make(chan struct{}, 1)}
		l.locks[key] = kl
	}
	kl.refs++
	l.mu.Unlock()

	select {
	case kl.sem <- struct{}{}:
	default:
		select {
		case kl.sem <- struct{}{}:
		case <-ctx.Done():
			l.mu.Lock()
			l.drop(key, kl)
			l.mu.Unlock()
			return nil, fmt.Errorf("bot: lock %s: %w: %w", key, bot.ErrLockTimeout, context.Cause(ctx))
		}
	}

	l.mu.Lock()
	kl.gen++
	gen := kl.gen
	kl.held = true
	kl.timer = time.AfterFunc(ttl, func() { l.release(key, kl, gen) })
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.release(key, kl, gen) }) }, nil
}

// release ends the hold gen of kl, unless it ended already.
func (l *Locker) release(key string, kl *keyLock, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !kl.held || kl.gen != gen {
		return
	}
	kl.held = false
	kl.timer.Stop()
	kl.timer = nil
	<-kl.sem
	l.drop(key, kl)
}

// drop removes one reference to kl, and kl itself with the last. l.mu is
// held.
func (l *Locker) drop(key string, kl *keyLock) {
	kl.refs--
	if kl.refs == 0 {
		delete(l.locks, key)
	}
}

// Len returns how many keys are locked or waited for.
func (l *Locker) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.locks)
}

package sqlitestore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kefuhq/kefu/bot"
)

var _ bot.Deduper = (*Deduper)(nil)

// minSweep is the least number of writes between two sweeps of expired
// keys; a sweep also waits for as many writes as there are keys, so its
// cost is spread over the writes and memory stays within about twice the
// live keys.
const minSweep = 1024

// Deduper is the in-process bot.Deduper of the embedded mode. Keys live in
// memory, so they are forgotten when the process restarts; WeChat retries
// a message for 15 s only, well within a restart's reach.
type Deduper struct {
	now func() time.Time

	mu     sync.Mutex
	turns  map[string]dedupeEntry
	writes int // since the last sweep
}

type dedupeEntry struct {
	turn    bot.Turn
	expires time.Time
}

// NewDeduper returns an empty Deduper reading the time from now
// (time.Now when nil).
func NewDeduper(now func() time.Time) *Deduper {
	if now == nil {
		now = time.Now
	}
	return &Deduper{now: now, turns: make(map[string]dedupeEntry)}
}

// BeginTurn claims key for ttl: first=true when nobody holds it, otherwise
// the remembered turn.
func (d *Deduper) BeginTurn(_ context.Context, key string, ttl time.Duration) (bot.Turn, bool, error) {
	if ttl <= 0 {
		return bot.Turn{}, false, fmt.Errorf("bot: begin turn %s: ttl %v is not positive", key, ttl)
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.turns[key]; ok && now.Before(e.expires) {
		return e.turn, false, nil
	}
	d.set(key, bot.Turn{}, now.Add(ttl), now)
	return bot.Turn{}, true, nil
}

// FinishTurn records the outcome of the message for ttl.
func (d *Deduper) FinishTurn(_ context.Context, key string, t bot.Turn, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("bot: finish turn %s: ttl %v is not positive", key, ttl)
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set(key, t, now.Add(ttl), now)
	return nil
}

// Len returns how many keys are held, expired ones not yet swept included.
func (d *Deduper) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.turns)
}

// set stores a turn, sweeping expired keys now and then. d.mu is held.
func (d *Deduper) set(key string, t bot.Turn, expires, now time.Time) {
	d.turns[key] = dedupeEntry{turn: t, expires: expires}
	d.writes++
	if d.writes < max(minSweep, len(d.turns)/2) {
		return
	}
	d.writes = 0
	for k, e := range d.turns {
		if !now.Before(e.expires) {
			delete(d.turns, k)
		}
	}
}

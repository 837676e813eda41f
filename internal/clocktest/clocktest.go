// Package clocktest is a settable clock for tests of code that takes a
// time source (a func() time.Time), so no test waits for real time to pass.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// NewNear returns a clock near the real time, truncated to whole
// milliseconds (which every store keeps exactly), for stores that also
// expire data on a server's own clock.
func NewNear() *Clock { return New(time.Now().Truncate(time.Millisecond)) }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

package handoff

import (
	"context"
	"slices"
	"sync"
	"time"
)

// PresenceTTL is how long an agent counts as online after they were last
// seen. A panel's live-event stream refreshes its agent well within it
// (every 10 s).
const PresenceTTL = 30 * time.Second

// Presence tells which agents have a panel open: their live-event stream
// marks them seen while it runs, and an agent not seen for the TTL is
// gone. Auto-assign never picks an agent who is gone. Implementations:
// LocalPresence (embedded) and handoff/redisstore.Presence (shared).
type Presence interface {
	// Seen marks the agent online now.
	Seen(ctx context.Context, agentID string) error
	// Online reports whether the agent was seen within the TTL. On an
	// error the agent is to be taken as gone.
	Online(ctx context.Context, agentID string) (bool, error)
	// OnlineAgents returns the ids of the agents seen within the TTL,
	// sorted.
	OnlineAgents(ctx context.Context) ([]string, error)
}

// LocalPresence is the in-process Presence of the embedded mode. It is
// safe for concurrent use.
type LocalPresence struct {
	ttl  time.Duration
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time
}

var _ Presence = (*LocalPresence)(nil)

// NewLocalPresence returns a LocalPresence in which agents expire ttl
// after they were last seen (0 = PresenceTTL), by the clock now (nil =
// time.Now).
func NewLocalPresence(ttl time.Duration, now func() time.Time) *LocalPresence {
	if ttl <= 0 {
		ttl = PresenceTTL
	}
	if now == nil {
		now = time.Now
	}
	return &LocalPresence{ttl: ttl, now: now, seen: make(map[string]time.Time)}
}

// Seen marks the agent online now, and forgets the agents who are gone.
func (p *LocalPresence) Seen(_ context.Context, agentID string) error {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, at := range p.seen {
		if !p.fresh(at, now) {
			delete(p.seen, id)
		}
	}
	p.seen[agentID] = now
	return nil
}

// Online reports whether the agent was seen within the TTL.
func (p *LocalPresence) Online(_ context.Context, agentID string) (bool, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.seen[agentID]
	return ok && p.fresh(at, now), nil
}

// OnlineAgents returns the agents seen within the TTL, sorted by id.
func (p *LocalPresence) OnlineAgents(_ context.Context) ([]string, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id, at := range p.seen {
		if p.fresh(at, now) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (p *LocalPresence) fresh(at, now time.Time) bool { return now.Sub(at) < p.ttl }

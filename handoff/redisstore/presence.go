package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
)

var _ handoff.Presence = (*Presence)(nil)

// Presence is the handoff.Presence of the shared mode: the sorted set
// <prefix>presence of agent ids scored by when they were last seen (unix
// milliseconds), which every instance refreshes for the agents whose
// panels it streams to. The instances' clocks are to agree to well
// within the TTL (NTP).
type Presence struct {
	rdb redis.UniversalClient
	key string
	ttl time.Duration
	now func() time.Time
}

// NewPresence returns a Presence on rdb whose key starts with prefix
// (DefaultPrefix when empty), in which agents expire ttl after they were
// last seen (0 = handoff.PresenceTTL), by the clock now (nil = time.Now).
func NewPresence(rdb redis.UniversalClient, prefix string, ttl time.Duration, now func() time.Time) *Presence {
	if now == nil {
		now = time.Now
	}
	return &Presence{rdb: rdb, key: cmp.Or(prefix, DefaultPrefix) + "presence",
		ttl: cmp.Or(ttl, handoff.PresenceTTL), now: now}
}

// Seen marks the agent online now, and removes the agents who are gone.
func (p *Presence) Seen(ctx context.Context, agentID string) error {
	now := p.now()
	_, err := p.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.ZAdd(ctx, p.key, redis.Z{Score: float64(now.UnixMilli()), Member: agentID})
		tx.ZRemRangeByScore(ctx, p.key, "-inf", p.expired(now))
		return nil
	})
	if err != nil {
		return fmt.Errorf("handoff: presence of %s: %w", agentID, err)
	}
	return nil
}

// Online reports whether the agent was seen within the TTL.
func (p *Presence) Online(ctx context.Context, agentID string) (bool, error) {
	score, err := p.rdb.ZScore(ctx, p.key, agentID).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("handoff: presence of %s: %w", agentID, err)
	}
	return int64(score) > p.now().Add(-p.ttl).UnixMilli(), nil
}

// OnlineAgents returns the agents seen within the TTL, sorted by id.
func (p *Presence) OnlineAgents(ctx context.Context) ([]string, error) {
	ids, err := p.rdb.ZRangeByScore(ctx, p.key, &redis.ZRangeBy{Min: "(" + p.expired(p.now()), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("handoff: online agents: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// expired is the score at and below which an agent is gone at now.
func (p *Presence) expired(now time.Time) string {
	return strconv.FormatInt(now.Add(-p.ttl).UnixMilli(), 10)
}

package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
)

// maxMoveRetries bounds the rounds of an agent-side operation that keeps
// losing its compare-and-set: each lost round means another writer won,
// so the bound is only reached under a storm of writes to one ticket (or,
// for ClaimNext, of claims by more agents than that at once).
const maxMoveRetries = 64

// moveTicket writes an agent-side change of a ticket if its header is
// still ARGV[1]: the new header, status, lane, queue member and agent,
// the index entries moved, the note appended, the version incremented.
// KEYS: the ticket, its messages, then the old and the new of: status,
// status-lane, lane, queue, agent set (3–7 old, 8–12 new), then the old
// and the new lane's due set. ARGV: old json, new json, id, score, status,
// lane, queue member, agent (heldBy), capacity (0 = none), note, deadline
// score. It returns the new version, 0 when the
// header changed, -1 when there is no such ticket, -3 when the agent is
// at capacity.
var moveTicket = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'j', 'q')
if not cur[1] then
	return -1
end
if cur[1] ~= ARGV[1] then
	return 0
end
local cap = tonumber(ARGV[9])
if cap > 0 and ARGV[8] ~= '' and not redis.call('ZSCORE', KEYS[12], ARGV[3])
	and redis.call('ZCARD', KEYS[12]) >= cap then
	return -3
end
for _, i in ipairs({3, 4, 5, 7}) do
	redis.call('ZREM', KEYS[i], ARGV[3])
end
if cur[2] and cur[2] ~= '' then
	redis.call('ZREM', KEYS[6], cur[2])
	redis.call('ZREM', KEYS[13], ARGV[3])
end
for i = 8, 10 do
	redis.call('ZADD', KEYS[i], ARGV[4], ARGV[3])
end
if ARGV[7] ~= '' then
	redis.call('ZADD', KEYS[11], 0, ARGV[7])
	redis.call('ZADD', KEYS[14], ARGV[11], ARGV[3])
end
if ARGV[8] ~= '' then
	redis.call('ZADD', KEYS[12], ARGV[4], ARGV[3])
end
redis.call('HSET', KEYS[1], 'j', ARGV[2], 's', ARGV[5], 'l', ARGV[6], 'q', ARGV[7], 'a', ARGV[8])
redis.call('RPUSH', KEYS[2], ARGV[10])
return redis.call('HINCRBY', KEYS[1], 'v', 1)
`)

// queueHeads returns the head of each non-empty queue of KEYS with its
// header: a flat list of the queue's index in KEYS (1-based), the
// version and the json. ARGV[1] is the key prefix.
var queueHeads = redis.NewScript(`
local out = {}
for i, key in ipairs(KEYS) do
	local head = redis.call('ZRANGE', key, 0, 0)
	if head[1] then
		local id = string.sub(head[1], ` + fmt.Sprint(queueKeyLen+1) + `)
		local h = redis.call('HMGET', ARGV[1] .. 'ticket:' .. id, 'v', 'j')
		if h[1] and h[2] then
			table.insert(out, i)
			table.insert(out, h[1])
			table.insert(out, h[2])
		end
	end
end
return out
`)

// transition is an agent-side change of a ticket's header, e.g. a
// closure over handoff.Claimed.
type transition func(handoff.Ticket) (handoff.Ticket, error)

// ClaimTicket assigns the queued ticket to c.AgentID.
func (s *Store) ClaimTicket(ctx context.Context, id string, c handoff.Claim) (handoff.Ticket, error) {
	return s.moveByID(ctx, "claim", id, c.Capacity, c.Note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Claimed(t, c)
	})
}

// AssignTicket assigns the open ticket to c.AgentID.
func (s *Store) AssignTicket(ctx context.Context, id string, c handoff.Claim) (handoff.Ticket, error) {
	return s.moveByID(ctx, "assign", id, c.Capacity, c.Note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Assigned(t, c.AgentID, c.Note.At)
	})
}

// ReleaseTicket puts the assigned ticket back in its queue.
func (s *Store) ReleaseTicket(ctx context.Context, id string, note handoff.Message) (handoff.Ticket, error) {
	return s.moveByID(ctx, "release", id, 0, note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Released(t, note.At)
	})
}

// TransferTicket queues the open ticket in lane.
func (s *Store) TransferTicket(ctx context.Context, id string, lane handoff.Lane, note handoff.Message) (handoff.Ticket, error) {
	return s.moveByID(ctx, "transfer", id, 0, note, func(t handoff.Ticket) (handoff.Ticket, error) {
		return handoff.Transferred(t, lane, note.At)
	})
}

// ClaimNext reads the heads of the lanes' queues and claims the first; when
// another agent claims it first, it reads the heads again.
func (s *Store) ClaimNext(ctx context.Context, lanes []handoff.Lane, c handoff.Claim) (handoff.Ticket, error) {
	keys := make([]string, len(lanes))
	for i, l := range lanes {
		keys[i] = s.queueKey(l.Name)
	}
	claim := func(t handoff.Ticket) (handoff.Ticket, error) { return handoff.Claimed(t, c) }
	if len(keys) == 0 {
		return handoff.Ticket{}, fmt.Errorf("handoff: claim next: no lane: %w", handoff.ErrEmpty)
	}
	for range maxMoveRetries {
		res, err := queueHeads.Run(ctx, s.rdb, keys, s.prefix).Slice()
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
		}
		if len(res) == 0 {
			return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", handoff.ErrEmpty)
		}
		best, j, err := firstHead(lanes, res)
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
		}
		next, ok, err := s.move(ctx, best, j, c.Capacity, c.Note, claim)
		if errors.Is(err, handoff.ErrNotFound) || errors.Is(err, handoff.ErrNotQueued) {
			continue // claimed, or closed, since the heads were read
		}
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", err)
		}
		if ok {
			return next, nil
		}
	}
	return handoff.Ticket{}, fmt.Errorf("handoff: claim next: %w", handoff.ErrConflict)
}

// firstHead returns the ticket to serve first among the reply of
// queueHeads, and its header's json.
func firstHead(lanes []handoff.Lane, res []any) (handoff.Ticket, string, error) {
	var (
		best      handoff.Ticket
		bestJSON  string
		bestOrder int
	)
	for k := 0; k+2 < len(res); k += 3 {
		i, _ := res[k].(int64)
		j, _ := res[k+2].(string)
		if i < 1 || int(i) > len(lanes) {
			return handoff.Ticket{}, "", fmt.Errorf("head of queue %d of %d", i, len(lanes))
		}
		t, err := decode([]any{res[k+1], j}, nil, nil)
		if err != nil {
			return handoff.Ticket{}, "", fmt.Errorf("head of queue %s: %w", lanes[i-1].Name, err)
		}
		order := lanes[i-1].Order
		if bestJSON == "" || handoff.FirstInQueue(t, order, best, bestOrder) {
			best, bestJSON, bestOrder = t, j, order
		}
	}
	return best, bestJSON, nil
}

// Breached counts the lane's queued tickets due before now: ZCOUNT on
// due:<lane>, logarithmic in the length of the queue.
func (s *Store) Breached(ctx context.Context, lane string, now time.Time) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.dueKey(lane), "-inf", "("+score(now)).Result()
	if err != nil {
		return 0, fmt.Errorf("handoff: breached in %s: %w", lane, err)
	}
	return int(n), nil
}

// setHeader replaces a ticket's header json KEYS[1] j with ARGV[2] if it
// is still ARGV[1], and increments its version. It returns the new
// version, 0 when the header changed, -1 when there is no such ticket.
var setHeader = redis.NewScript(`
local j = redis.call('HGET', KEYS[1], 'j')
if not j then
	return -1
end
if j ~= ARGV[1] then
	return 0
end
redis.call('HSET', KEYS[1], 'j', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'v', 1)
`)

// MarkBreached reads the lane's queued tickets due before now
// (ZRANGEBYSCORE on due:<lane>) with their headers, and marks each one
// not marked yet with a compare-and-set on its header: of two instances
// marking one ticket, one sets it, the other finds it changed, reads it
// again and finds it marked. The read grows with the lane's breached
// tickets, marked or not.
func (s *Store) MarkBreached(ctx context.Context, lane string, now time.Time) ([]handoff.Ticket, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.dueKey(lane), &redis.ZRangeBy{Min: "-inf", Max: "(" + score(now)}).Result()
	if err != nil {
		return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
	}
	heads := make([]*redis.SliceCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			heads[i] = p.HMGet(ctx, s.ticketKey(id), "v", "j")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("handoff: mark breached in %s: %w", lane, err)
	}
	var out []handoff.Ticket
	for i, id := range ids {
		vals := heads[i].Val()
		for range maxMoveRetries {
			t, err := decode(vals, nil, nil)
			if errors.Is(err, handoff.ErrNotFound) {
				break
			}
			if err != nil {
				return out, fmt.Errorf("handoff: mark breached %s: %w", id, err)
			}
			if !t.Breached(now) || t.Lane != lane || !t.BreachedAt.IsZero() {
				break
			}
			next := t
			next.BreachedAt = now
			data, err := encodeHeader(next)
			if err != nil {
				return out, fmt.Errorf("handoff: mark breached %s: %w", id, err)
			}
			j, _ := vals[1].(string)
			v, err := setHeader.Run(ctx, s.rdb, []string{s.ticketKey(id)}, j, data).Int64()
			if err != nil {
				return out, fmt.Errorf("handoff: mark breached %s: %w", id, err)
			}
			if v > 0 {
				next.Version = v
				out = append(out, next)
				break
			}
			if vals, err = s.rdb.HMGet(ctx, s.ticketKey(id), "v", "j").Result(); err != nil {
				return out, fmt.Errorf("handoff: mark breached %s: %w", id, err)
			}
		}
	}
	return out, nil
}

// AssignedCount returns the size of the agent's set (ZCARD).
func (s *Store) AssignedCount(ctx context.Context, agentID string) (int, error) {
	n, err := s.rdb.ZCard(ctx, s.agentKey(agentID)).Result()
	if err != nil {
		return 0, fmt.Errorf("handoff: tickets of agent %s: %w", agentID, err)
	}
	return int(n), nil
}

// moveByID reads ticket id's header and writes f of it, again while
// another writer changes the header in between.
func (s *Store) moveByID(ctx context.Context, op, id string, capacity int, note handoff.Message, f transition) (handoff.Ticket, error) {
	for range maxMoveRetries {
		vals, err := s.rdb.HMGet(ctx, s.ticketKey(id), "v", "j").Result()
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
		}
		t, err := decode(vals, nil, nil)
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
		}
		j, _ := vals[1].(string)
		next, ok, err := s.move(ctx, t, j, capacity, note, f)
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, err)
		}
		if ok {
			return next, nil
		}
	}
	return handoff.Ticket{}, fmt.Errorf("handoff: %s %s: %w", op, id, handoff.ErrConflict)
}

// move writes f(t) with moveTicket if the stored header is still j (the
// json t was decoded from). It reports false when the header changed.
func (s *Store) move(ctx context.Context, t handoff.Ticket, j string, capacity int, note handoff.Message, f transition) (handoff.Ticket, bool, error) {
	next, err := f(t)
	if err != nil {
		return handoff.Ticket{}, false, err
	}
	data, err := encodeHeader(next)
	if err != nil {
		return handoff.Ticket{}, false, err
	}
	msg, err := json.Marshal(note)
	if err != nil {
		return handoff.Ticket{}, false, fmt.Errorf("note: %w", err)
	}
	keys := []string{s.ticketKey(t.ID), s.messagesKey(t.ID),
		s.statusKey(t.Status), s.statusLaneKey(t.Status, t.Lane), s.laneKey(t.Lane), s.queueKey(t.Lane), s.agentKey(heldBy(t)),
		s.statusKey(next.Status), s.statusLaneKey(next.Status, next.Lane), s.laneKey(next.Lane), s.queueKey(next.Lane),
		s.agentKey(heldBy(next)), s.dueKey(t.Lane), s.dueKey(next.Lane)}
	v, err := moveTicket.Run(ctx, s.rdb, keys, j, data, t.ID, score(t.CreatedAt), string(next.Status), next.Lane,
		queueMember(next), heldBy(next), capacity, msg, score(next.SLADueAt)).Int64()
	switch {
	case err != nil:
		return handoff.Ticket{}, false, err
	case v == -1:
		return handoff.Ticket{}, false, handoff.ErrNotFound
	case v == -3:
		return handoff.Ticket{}, false, fmt.Errorf("agent %s: %w", heldBy(next), handoff.ErrAtCapacity)
	case v == 0:
		return handoff.Ticket{}, false, nil
	}
	next.Version = v
	return next, true, nil
}

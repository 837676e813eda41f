// Package redisstore keeps tickets in Redis for the shared mode.
//
// Keys, under the Store's prefix:
//
//	ticket:<id>    hash: v = version, j = the ticket as JSON, and the
//	               indexed fields s = status, l = lane, u = open_id
//	ticket:seq     the ticket number sequence (INCR)
//
// and sorted sets of ticket ids scored by creation time (unix
// microseconds), for Tickets, OpenTicket and CountSince:
//
//	tickets:all
//	tickets:status:<status>
//	tickets:lane:<lane>
//	tickets:status-lane:<status>:<lane>
//	tickets:user:<open_id>   all the user's tickets
//	tickets:open:<open_id>   the user's queued and assigned tickets
//
// A ticket and its index entries change together, in one Lua script. The
// scripts name all their keys, so on Redis Cluster the store works when
// the prefix holds a hash tag, e.g. "{kefu}:", which puts every key in one
// slot.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
)

var _ handoff.Store = (*Store)(nil)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// Store is the shared handoff.Store.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store on rdb whose keys start with prefix (DefaultPrefix
// when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) ticketKey(id string) string { return s.prefix + "ticket:" + id }
func (s *Store) seqKey() string             { return s.prefix + "ticket:seq" }
func (s *Store) allKey() string             { return s.prefix + "tickets:all" }
func (s *Store) statusKey(st handoff.Status) string {
	return s.prefix + "tickets:status:" + string(st)
}
func (s *Store) laneKey(lane string) string { return s.prefix + "tickets:lane:" + lane }
func (s *Store) statusLaneKey(st handoff.Status, lane string) string {
	return s.prefix + "tickets:status-lane:" + string(st) + ":" + lane
}
func (s *Store) userKey(openID string) string { return s.prefix + "tickets:user:" + openID }
func (s *Store) openKey(openID string) string { return s.prefix + "tickets:open:" + openID }

// indexKeys returns the sorted sets a ticket with these fields belongs to:
// all, status, lane, status-lane, user, and last open (which holds it only
// while it is open).
func (s *Store) indexKeys(st handoff.Status, lane, openID string) []string {
	return []string{s.allKey(), s.statusKey(st), s.laneKey(lane), s.statusLaneKey(st, lane), s.userKey(openID), s.openKey(openID)}
}

// createTicket stores a new ticket and its index entries. KEYS: the ticket,
// then indexKeys. ARGV: json, score, id, open flag, status, lane, open_id.
// It returns 0 when the id is taken.
var createTicket = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'j', ARGV[1], 's', ARGV[5], 'l', ARGV[6], 'u', ARGV[7])
for i = 2, 6 do
	redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
end
if ARGV[4] == '1' then
	redis.call('ZADD', KEYS[7], ARGV[2], ARGV[3])
end
return 1
`)

// updateTicket replaces a ticket at version ARGV[1] and moves its index
// entries. KEYS: the ticket, the old indexKeys, the new indexKeys. ARGV:
// version, json, score, id, open flag, status, lane, open_id. It returns 1
// when done, 0 on a version conflict, -1 when there is no such ticket.
var updateTicket = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then
	return -1
end
if tonumber(v) ~= tonumber(ARGV[1]) then
	return 0
end
for i = 2, 7 do
	redis.call('ZREM', KEYS[i], ARGV[4])
end
for i = 8, 12 do
	redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
end
if ARGV[5] == '1' then
	redis.call('ZADD', KEYS[13], ARGV[3], ARGV[4])
end
redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'j', ARGV[2], 's', ARGV[6], 'l', ARGV[7], 'u', ARGV[8])
return 1
`)

// appendMessages appends the JSON array ARGV[1] to the ticket's messages
// and ARGV[2] to its evidence, and increments its version. It returns the
// new version, or -1 when there is no such ticket.
//
// cjson turns an empty JSON array into an empty table, which it encodes
// as {}: the store therefore never writes empty arrays (see encode), and
// only appends to arrays here.
var appendMessages = redis.NewScript(`
local j = redis.call('HGET', KEYS[1], 'j')
if not j then
	return -1
end
local t = cjson.decode(j)
if type(t.messages) ~= 'table' then
	t.messages = {}
end
for _, m in ipairs(cjson.decode(ARGV[1])) do
	t.messages[#t.messages + 1] = m
end
local ev = cjson.decode(ARGV[2])
if #ev > 0 then
	if type(t.evidence) ~= 'table' then
		t.evidence = {}
	end
	for _, m in ipairs(ev) do
		t.evidence[#t.evidence + 1] = m
	end
end
local v = tonumber(redis.call('HGET', KEYS[1], 'v')) + 1
t.version = v
redis.call('HSET', KEYS[1], 'v', v, 'j', cjson.encode(t))
return v
`)

// CreateTicket stores a new ticket, numbering it when t.ID is empty. A
// taken ID is refused with handoff.ErrConflict.
func (s *Store) CreateTicket(ctx context.Context, t *handoff.Ticket) error {
	if t.CreatedAt.IsZero() {
		return fmt.Errorf("handoff: create ticket for %s: CreatedAt is not set", t.OpenID)
	}
	id := t.ID
	if id == "" {
		n, err := s.rdb.Incr(ctx, s.seqKey()).Result()
		if err != nil {
			return fmt.Errorf("handoff: create ticket: number: %w", err)
		}
		id = fmt.Sprintf("T%s-%05d", t.CreatedAt.Format("20060102"), n)
	}
	next := *t
	next.ID, next.Version = id, 1
	data, err := encode(next)
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	keys := append([]string{s.ticketKey(id)}, s.indexKeys(next.Status, next.Lane, next.OpenID)...)
	ok, err := createTicket.Run(ctx, s.rdb, keys,
		data, score(next.CreatedAt), id, flag(next.Status.Open()), string(next.Status), next.Lane, next.OpenID).Int()
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	if ok == 0 {
		return fmt.Errorf("handoff: create ticket %s: id taken: %w", id, handoff.ErrConflict)
	}
	t.ID, t.Version = next.ID, next.Version
	return nil
}

// Ticket returns the ticket with this id, or handoff.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id string) (handoff.Ticket, error) {
	vals, err := s.rdb.HMGet(ctx, s.ticketKey(id), "v", "j").Result()
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	t, err := decode(vals)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// UpdateTicket replaces the ticket if the stored version equals t.Version,
// then increments t.Version.
func (s *Store) UpdateTicket(ctx context.Context, t *handoff.Ticket) error {
	// The index entries to move are those of the stored ticket. They are
	// read first; the script then checks that the version, and so the
	// entries, did not change in between.
	old, err := s.rdb.HMGet(ctx, s.ticketKey(t.ID), "v", "s", "l", "u").Result()
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	if old[0] == nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
	}
	if v, _ := old[0].(string); v != strconv.FormatInt(t.Version, 10) {
		return fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	}
	oldStatus, _ := old[1].(string)
	oldLane, _ := old[2].(string)
	oldOpenID, _ := old[3].(string)

	next := *t
	next.Version++
	data, err := encode(next)
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	keys := append([]string{s.ticketKey(t.ID)}, s.indexKeys(handoff.Status(oldStatus), oldLane, oldOpenID)...)
	keys = append(keys, s.indexKeys(next.Status, next.Lane, next.OpenID)...)
	res, err := updateTicket.Run(ctx, s.rdb, keys, t.Version, data, score(next.CreatedAt), t.ID,
		flag(next.Status.Open()), string(next.Status), next.Lane, next.OpenID).Int()
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	switch res {
	case -1:
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
	case 0:
		return fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	}
	t.Version = next.Version
	return nil
}

// AppendMessages adds messages to the transcript, and the attachments
// among them (handoff.IsEvidence) to Evidence, in one script, and
// increments the version.
func (s *Store) AppendMessages(ctx context.Context, id string, msgs ...handoff.Message) error {
	if len(msgs) == 0 {
		n, err := s.rdb.Exists(ctx, s.ticketKey(id)).Result()
		if err != nil {
			return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
		}
		return nil
	}
	evidence := []handoff.Message{}
	for _, m := range msgs {
		if handoff.IsEvidence(m) {
			evidence = append(evidence, m)
		}
	}
	mj, err := json.Marshal(msgs)
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	ej, err := json.Marshal(evidence)
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	v, err := appendMessages.Run(ctx, s.rdb, []string{s.ticketKey(id)}, mj, ej).Int64()
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	if v < 0 {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
	}
	return nil
}

// OpenTicket returns the user's open ticket (the newest, should there be
// more than one), or handoff.ErrNotFound.
func (s *Store) OpenTicket(ctx context.Context, openID string) (handoff.Ticket, error) {
	// The ticket may be closed between the two reads: then look again.
	for range 3 {
		ids, err := s.rdb.ZRevRange(ctx, s.openKey(openID), 0, 0).Result()
		if err != nil {
			return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, err)
		}
		if len(ids) == 0 {
			break
		}
		t, err := s.Ticket(ctx, ids[0])
		if err != nil && !errors.Is(err, handoff.ErrNotFound) {
			return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, err)
		}
		if err == nil && t.Status.Open() && t.OpenID == openID {
			return t, nil
		}
	}
	return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, handoff.ErrNotFound)
}

// Tickets lists the tickets matching f, oldest first (by CreatedAt, then
// ID). A ticket that changes while the list is read is left out if it no
// longer matches, so the list may then be shorter than f.Limit.
func (s *Store) Tickets(ctx context.Context, f handoff.Filter) ([]handoff.Ticket, error) {
	// Read the smallest index that answers f: the user's tickets when f
	// names a user (then filter here), else one set per status.
	var (
		sources []string
		limit   int64 // per source; 0 = all
	)
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	switch {
	case f.OpenID != "":
		sources = []string{s.userKey(f.OpenID)}
		if len(f.Statuses) > 0 || f.Lane != "" {
			limit = 0
		}
	case len(f.Statuses) > 0 && f.Lane != "":
		for _, st := range f.Statuses {
			sources = append(sources, s.statusLaneKey(st, f.Lane))
		}
	case len(f.Statuses) > 0:
		for _, st := range f.Statuses {
			sources = append(sources, s.statusKey(st))
		}
	case f.Lane != "":
		sources = []string{s.laneKey(f.Lane)}
	default:
		sources = []string{s.allKey()}
	}
	slices.Sort(sources)
	sources = slices.Compact(sources)

	cmds := make([]*redis.ZSliceCmd, len(sources))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range sources {
			cmds[i] = p.ZRangeWithScores(ctx, k, 0, limit-1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	var entries []redis.Z
	for _, c := range cmds {
		entries = append(entries, c.Val()...)
	}
	slices.SortFunc(entries, func(a, b redis.Z) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		return cmpString(a.Member.(string), b.Member.(string))
	})

	vals := make([]*redis.SliceCmd, len(entries))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			vals[i] = p.HMGet(ctx, s.ticketKey(e.Member.(string)), "v", "j")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	var out []handoff.Ticket
	for _, v := range vals {
		t, err := decode(v.Val())
		if errors.Is(err, handoff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("handoff: list tickets: %w", err)
		}
		if !matches(t, f) {
			continue
		}
		out = append(out, t)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func matches(t handoff.Ticket, f handoff.Filter) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, t.Status)) &&
		(f.Lane == "" || t.Lane == f.Lane) &&
		(f.OpenID == "" || t.OpenID == f.OpenID)
}

// CountSince counts the tickets the user opened at or after since (to the
// microsecond).
func (s *Store) CountSince(ctx context.Context, openID string, since time.Time) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.userKey(openID), score(since), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("handoff: count tickets of %s: %w", openID, err)
	}
	return int(n), nil
}

// score is a time as a sorted-set score: unix microseconds, exact in a
// float64 until the year 2255.
func score(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// encode returns the ticket as stored: JSON with no empty arrays (see
// appendMessages).
func encode(t handoff.Ticket) ([]byte, error) {
	if len(t.Reasons) == 0 {
		t.Reasons = nil
	}
	if len(t.Messages) == 0 {
		t.Messages = nil
	}
	if len(t.Evidence) == 0 {
		t.Evidence = nil
	}
	return json.Marshal(t)
}

// decode reads the reply of HMGET v j; handoff.ErrNotFound when the ticket
// is missing.
func decode(vals []any) (handoff.Ticket, error) {
	v, _ := vals[0].(string)
	j, _ := vals[1].(string)
	if v == "" || j == "" {
		return handoff.Ticket{}, handoff.ErrNotFound
	}
	var t handoff.Ticket
	if err := json.Unmarshal([]byte(j), &t); err != nil {
		return handoff.Ticket{}, err
	}
	var err error
	if t.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
		return handoff.Ticket{}, fmt.Errorf("version %q: %w", v, err)
	}
	return t, nil
}

// Package redisstore keeps tickets in Redis for the shared mode.
//
// Keys, under the Store's prefix:
//
//	ticket:<id>           hash: v = version, j = the ticket's header (the
//	                      ticket without Messages and Evidence) as JSON,
//	                      and the indexed fields s = status, l = lane,
//	                      u = open_id, q = its member of queue:<lane>
//	                      ("" when not queued), a = its AgentID while
//	                      assigned (else "")
//	ticket:<id>:msgs      list: Messages, one JSON message per element
//	ticket:<id>:evidence  list: Evidence, likewise
//	ticket:seq            the ticket number sequence (INCR)
//
// sorted sets of ticket ids scored by creation time (unix microseconds),
// for Tickets, OpenTicket and CountSince:
//
//	tickets:all
//	tickets:status:<status>
//	tickets:lane:<lane>
//	tickets:status-lane:<status>:<lane>
//	tickets:user:<open_id>   all the user's tickets
//	tickets:open:<open_id>   the user's queued and assigned ticket (one at
//	                         most; split tickets are left out)
//	tickets:agent:<agent_id> the tickets assigned to the agent (ZCARD is
//	                         AssignedCount)
//
// and, per lane, the queue:
//
//	queue:<lane>   the queued tickets of the lane, all scored 0, so that
//	               Redis orders them by member: the fixed-width key of
//	               queueMember, then the id. ZRANK gives a ticket's place,
//	               ZCARD the length of the queue, and ZRANGE queue:<lane>
//	               0 0 the next ticket to serve (its id is the member from
//	               byte queueKeyLen on).
//	due:<lane>     the same tickets scored by their deadline (unix
//	               microseconds): ZCOUNT to now counts the breached ones.
//
// A ticket, its transcript and its index entries change together, in one
// Lua script; appending to the transcript is an RPUSH and a version bump,
// whatever its length. The scripts name all their keys, so on Redis
// Cluster the store works when the prefix holds a hash tag, e.g. "{kefu}:",
// which puts every key in one slot.
//
// The agent-side operations (claim, assign, release, transfer) read the
// header, compute the new one in Go and write it with one script that
// checks that j did not change meanwhile (compare-and-set on the header;
// appending to the transcript does not change j, so a chatty user does
// not make a claim retry). ClaimNext reads the heads of its lanes' queues
// with their headers in one script and claims the first of them with
// that compare-and-set; an agent who loses the race for a head reads the
// heads again. These scripts find the tickets' keys from the queue
// members, so on Redis Cluster the prefix must hold a hash tag.
//
// MarkBreached reads the breached tickets of a lane from due:<lane> and
// sets BreachedAt with a compare-and-set on each header (setHeader), so
// one instance marks each ticket.
//
// Tickets stored by the first version of this package (the transcript
// inside j, no queue entries) are not converted: empty a shared store
// written by it before upgrading. Tickets assigned or queued before the
// agent sets and due:<lane> existed are not in them: AssignedCount and
// Breached leave them out until they next change.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

func (s *Store) ticketKey(id string) string   { return s.prefix + "ticket:" + id }
func (s *Store) messagesKey(id string) string { return s.prefix + "ticket:" + id + ":msgs" }
func (s *Store) evidenceKey(id string) string { return s.prefix + "ticket:" + id + ":evidence" }
func (s *Store) seqKey() string               { return s.prefix + "ticket:seq" }
func (s *Store) allKey() string               { return s.prefix + "tickets:all" }
func (s *Store) statusKey(st handoff.Status) string {
	return s.prefix + "tickets:status:" + string(st)
}
func (s *Store) laneKey(lane string) string { return s.prefix + "tickets:lane:" + lane }
func (s *Store) statusLaneKey(st handoff.Status, lane string) string {
	return s.prefix + "tickets:status-lane:" + string(st) + ":" + lane
}
func (s *Store) userKey(openID string) string { return s.prefix + "tickets:user:" + openID }
func (s *Store) openKey(openID string) string { return s.prefix + "tickets:open:" + openID }
func (s *Store) queueKey(lane string) string  { return s.prefix + "queue:" + lane }
func (s *Store) dueKey(lane string) string    { return s.prefix + "due:" + lane }
func (s *Store) agentKey(agentID string) string {
	return s.prefix + "tickets:agent:" + agentID
}

// ticketKeys returns the keys of a ticket and its transcript.
func (s *Store) ticketKeys(id string) []string {
	return []string{s.ticketKey(id), s.messagesKey(id), s.evidenceKey(id)}
}

// indexKeys returns the sorted sets a ticket with these fields belongs to:
// all, status, lane, status-lane, user, and open (which holds it only while
// it is open).
func (s *Store) indexKeys(st handoff.Status, lane, openID string) []string {
	return []string{s.allKey(), s.statusKey(st), s.laneKey(lane), s.statusLaneKey(st, lane), s.userKey(openID), s.openKey(openID)}
}

// queueKeyLen is the length of the key that starts a queue member.
const queueKeyLen = 48

// queueMember returns the ticket's member of its lane's queue: three
// fixed-width hexadecimal numbers whose byte order is handoff.QueueOrder —
// the priority inverted, the deadline and the creation time in unix
// microseconds, each as an int64 with its sign bit flipped so that
// negative values sort first — then the id. It is "" for a ticket that is
// not queued.
func queueMember(t handoff.Ticket) string {
	if t.Status != handoff.StatusQueued {
		return ""
	}
	const flip = 1 << 63
	return fmt.Sprintf("%016x%016x%016x%s", ^(uint64(int64(t.Priority)) ^ flip),
		uint64(t.SLADueAt.UnixMicro())^flip, uint64(t.CreatedAt.UnixMicro())^flip, t.ID)
}

// pushLua defines push(key, from, to), which appends ARGV[from..to] to the
// list at key, in batches small enough for unpack.
const pushLua = `
local function push(key, from, to)
	for i = from, to, 1000 do
		redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 999, to)))
	end
end
`

// heldBy returns the agent whose set holds the ticket: its AgentID while
// it is assigned, else "".
func heldBy(t handoff.Ticket) string {
	if t.Status != handoff.StatusAssigned {
		return ""
	}
	return t.AgentID
}

// createTicket stores a new ticket, its transcript and its index entries.
// KEYS: ticketKeys, indexKeys, the lane's queue, the agent's set, the
// lane's due set. ARGV: json, score, id, open flag, status, lane, open_id,
// queue member, agent (heldBy), deadline score, the number n of messages,
// the n messages, then the evidence. It returns 1 when done, 0
// when the id is taken, -2 when the ticket is open and its user has an
// open ticket.
var createTicket = redis.NewScript(pushLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
if ARGV[4] == '1' and redis.call('ZCARD', KEYS[9]) > 0 then
	return -2
end
redis.call('HSET', KEYS[1], 'v', 1, 'j', ARGV[1], 's', ARGV[5], 'l', ARGV[6], 'u', ARGV[7], 'q', ARGV[8], 'a', ARGV[9])
for i = 4, 8 do
	redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
end
if ARGV[4] == '1' then
	redis.call('ZADD', KEYS[9], ARGV[2], ARGV[3])
end
if ARGV[8] ~= '' then
	redis.call('ZADD', KEYS[10], 0, ARGV[8])
	redis.call('ZADD', KEYS[12], ARGV[10], ARGV[3])
end
if ARGV[9] ~= '' then
	redis.call('ZADD', KEYS[11], ARGV[2], ARGV[3])
end
local n = tonumber(ARGV[11])
push(KEYS[2], 12, 11 + n)
push(KEYS[3], 12 + n, #ARGV)
return 1
`)

// updateTicket replaces a ticket's header at version ARGV[1], appends to
// its transcript and moves its index entries. KEYS: ticketKeys, the old
// indexKeys, the new indexKeys, the old lane's queue, the new lane's queue,
// the old agent's set, the new agent's, the old lane's due set, the new
// lane's. ARGV: version, json, score, id, open flag, status, lane,
// open_id, queue member, agent (heldBy), deadline score, the number n of
// new messages, the n messages, then the new evidence. It returns 1 when done, 0 on a version conflict, -1 when there
// is no such ticket, -2 when the ticket is open and its user has another
// open ticket.
//
// The caller read the old index fields and the transcript's length at
// version ARGV[1]; every change moves the version on, so they still hold
// when it matches.
var updateTicket = redis.NewScript(pushLua + `
local cur = redis.call('HMGET', KEYS[1], 'v', 'q', 'a')
if not cur[1] then
	return -1
end
if tonumber(cur[1]) ~= tonumber(ARGV[1]) then
	return 0
end
if ARGV[5] == '1' then
	local others = redis.call('ZCARD', KEYS[15])
	if redis.call('ZSCORE', KEYS[15], ARGV[4]) then
		others = others - 1
	end
	if others > 0 then
		return -2
	end
end
for i = 4, 9 do
	redis.call('ZREM', KEYS[i], ARGV[4])
end
for i = 10, 14 do
	redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
end
if ARGV[5] == '1' then
	redis.call('ZADD', KEYS[15], ARGV[3], ARGV[4])
end
if cur[2] and cur[2] ~= '' then
	redis.call('ZREM', KEYS[16], cur[2])
	redis.call('ZREM', KEYS[20], ARGV[4])
end
if ARGV[9] ~= '' then
	redis.call('ZADD', KEYS[17], 0, ARGV[9])
	redis.call('ZADD', KEYS[21], ARGV[11], ARGV[4])
end
if cur[3] and cur[3] ~= '' then
	redis.call('ZREM', KEYS[18], ARGV[4])
end
if ARGV[10] ~= '' then
	redis.call('ZADD', KEYS[19], ARGV[3], ARGV[4])
end
redis.call('HSET', KEYS[1], 'v', tonumber(cur[1]) + 1, 'j', ARGV[2], 's', ARGV[6], 'l', ARGV[7], 'u', ARGV[8], 'q', ARGV[9], 'a', ARGV[10])
local n = tonumber(ARGV[12])
push(KEYS[2], 13, 12 + n)
push(KEYS[3], 13 + n, #ARGV)
return 1
`)

// appendMessages appends to a ticket's transcript and increments its
// version. KEYS: ticketKeys. ARGV: the number n of messages, the n
// messages, then the evidence. It returns the new version, or -1 when
// there is no such ticket.
var appendMessages = redis.NewScript(pushLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return -1
end
local n = tonumber(ARGV[1])
push(KEYS[2], 2, 1 + n)
push(KEYS[3], 2 + n, #ARGV)
return redis.call('HINCRBY', KEYS[1], 'v', 1)
`)

// queuePosition returns the 1-based place of a ticket in the queue of lane
// ARGV[1]: 0 when it is not queued, -1 when there is no such ticket, and
// the ticket's lane (a string) when it is not ARGV[1]. KEYS: the ticket,
// the queue.
var queuePosition = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 's', 'l', 'q')
if not h[1] then
	return -1
end
if h[1] ~= 'queued' then
	return 0
end
if h[2] ~= ARGV[1] then
	return h[2]
end
if not h[3] or h[3] == '' then
	return redis.error_reply('queued ticket has no queue entry (stored by an older version?)')
end
local r = redis.call('ZRANK', KEYS[2], h[3])
if not r then
	return redis.error_reply('queued ticket missing from its queue')
end
return r + 1
`)

// transcriptArgs returns the script arguments of a transcript addition: the
// number of messages, the messages, then the evidence, as JSON.
func transcriptArgs(msgs, evidence []handoff.Message) ([]any, error) {
	args := make([]any, 0, 1+len(msgs)+len(evidence))
	args = append(args, len(msgs))
	for _, list := range [][]handoff.Message{msgs, evidence} {
		for _, m := range list {
			b, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			args = append(args, b)
		}
	}
	return args, nil
}

// CreateTicket stores a new ticket, numbering it when t.ID is empty. A
// taken ID, or a second open ticket of the user, is refused with
// handoff.ErrConflict.
func (s *Store) CreateTicket(ctx context.Context, t *handoff.Ticket) error {
	if t.CreatedAt.IsZero() {
		return fmt.Errorf("handoff: create ticket for %s: CreatedAt is not set: %w", t.OpenID, handoff.ErrInvalid)
	}
	id := t.ID
	if id == "" {
		// A create refused by the script leaves a gap in the numbers. It
		// is rare: callers look for the user's open ticket first.
		n, err := s.rdb.Incr(ctx, s.seqKey()).Result()
		if err != nil {
			return fmt.Errorf("handoff: create ticket: number: %w", err)
		}
		id = fmt.Sprintf("T%s-%05d", t.CreatedAt.Format("20060102"), n)
	}
	next := *t
	next.ID, next.Version = id, 1
	keys, args, err := s.createArgs(next)
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	res, err := createTicket.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("handoff: create ticket %s: %w", id, err)
	}
	switch res {
	case 0:
		return fmt.Errorf("handoff: create ticket %s: id taken: %w", id, handoff.ErrConflict)
	case -2:
		return fmt.Errorf("handoff: create ticket %s for %s: user has an open ticket: %w", id, t.OpenID, handoff.ErrConflict)
	}
	t.ID, t.Version = next.ID, next.Version
	return nil
}

// createArgs returns the keys and arguments of createTicket for t.
func (s *Store) createArgs(t handoff.Ticket) ([]string, []any, error) {
	data, err := encodeHeader(t)
	if err != nil {
		return nil, nil, err
	}
	transcript, err := transcriptArgs(t.Messages, t.Evidence)
	if err != nil {
		return nil, nil, err
	}
	keys := append(s.ticketKeys(t.ID), s.indexKeys(t.Status, t.Lane, t.OpenID)...)
	keys = append(keys, s.queueKey(t.Lane), s.agentKey(heldBy(t)), s.dueKey(t.Lane))
	args := append([]any{data, score(t.CreatedAt), t.ID, flag(usersOpen(t)), string(t.Status), t.Lane, t.OpenID,
		queueMember(t), heldBy(t), score(t.SLADueAt)}, transcript...)
	return keys, args, nil
}

// Ticket returns the ticket with this id, transcript included, or
// handoff.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id string) (handoff.Ticket, error) {
	var header *redis.SliceCmd
	var msgs, evidence *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		header, msgs, evidence = s.readTicket(ctx, p, id, true)
		return nil
	})
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	t, err := decode(header.Val(), msgs.Val(), evidence.Val())
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// readTicket queues the reads of a ticket's header and, with transcript,
// of its transcript.
func (s *Store) readTicket(ctx context.Context, p redis.Pipeliner, id string, transcript bool) (
	header *redis.SliceCmd, msgs, evidence *redis.StringSliceCmd) {
	header = p.HMGet(ctx, s.ticketKey(id), "v", "j")
	if transcript {
		msgs = p.LRange(ctx, s.messagesKey(id), 0, -1)
		evidence = p.LRange(ctx, s.evidenceKey(id), 0, -1)
	}
	return header, msgs, evidence
}

// TicketHeader returns the ticket with this id without its transcript, or
// handoff.ErrNotFound.
func (s *Store) TicketHeader(ctx context.Context, id string) (handoff.Ticket, error) {
	vals, err := s.rdb.HMGet(ctx, s.ticketKey(id), "v", "j").Result()
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	t, err := decode(vals, nil, nil)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("handoff: ticket %s: %w", id, err)
	}
	return t, nil
}

// UpdateTicket replaces the header if the stored version equals t.Version,
// appends the messages of t beyond the stored transcript, then increments
// t.Version.
func (s *Store) UpdateTicket(ctx context.Context, t *handoff.Ticket) error {
	// The index entries to move are those of the stored ticket, and the
	// messages to append those beyond its transcript. They are read
	// first; the script then checks that the version, and so all of
	// them, did not change in between.
	var (
		old                  *redis.SliceCmd
		nMessages, nEvidence *redis.IntCmd
	)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		old = p.HMGet(ctx, s.ticketKey(t.ID), "v", "s", "l", "u", "a")
		nMessages = p.LLen(ctx, s.messagesKey(t.ID))
		nEvidence = p.LLen(ctx, s.evidenceKey(t.ID))
		return nil
	})
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	vals := old.Val()
	if vals[0] == nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
	}
	if v, _ := vals[0].(string); v != strconv.FormatInt(t.Version, 10) {
		return fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	}
	nm, ne := int(nMessages.Val()), int(nEvidence.Val())
	if len(t.Messages) < nm || len(t.Evidence) < ne {
		return fmt.Errorf("handoff: update ticket %s: %d messages and %d evidence given, %d and %d stored: %w",
			t.ID, len(t.Messages), len(t.Evidence), nm, ne, handoff.ErrInvalid)
	}
	oldStatus, _ := vals[1].(string)
	oldLane, _ := vals[2].(string)
	oldOpenID, _ := vals[3].(string)
	oldAgent, _ := vals[4].(string)

	next := *t
	next.Version++
	data, err := encodeHeader(next)
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	transcript, err := transcriptArgs(t.Messages[nm:], t.Evidence[ne:])
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	keys := append(s.ticketKeys(t.ID), s.indexKeys(handoff.Status(oldStatus), oldLane, oldOpenID)...)
	keys = append(keys, s.indexKeys(next.Status, next.Lane, next.OpenID)...)
	keys = append(keys, s.queueKey(oldLane), s.queueKey(next.Lane), s.agentKey(oldAgent), s.agentKey(heldBy(next)),
		s.dueKey(oldLane), s.dueKey(next.Lane))
	args := append([]any{t.Version, data, score(next.CreatedAt), t.ID, flag(usersOpen(next)), string(next.Status),
		next.Lane, next.OpenID, queueMember(next), heldBy(next), score(next.SLADueAt)}, transcript...)
	res, err := updateTicket.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, err)
	}
	switch res {
	case -1:
		return fmt.Errorf("handoff: update ticket %s: %w", t.ID, handoff.ErrNotFound)
	case 0:
		return fmt.Errorf("handoff: update ticket %s at version %d: %w", t.ID, t.Version, handoff.ErrConflict)
	case -2:
		return fmt.Errorf("handoff: update ticket %s: user %s has another open ticket: %w", t.ID, t.OpenID, handoff.ErrConflict)
	}
	t.Version = next.Version
	return nil
}

// AppendMessages adds messages to the transcript, and the attachments
// among them (handoff.IsEvidence) to Evidence, in one script, and
// increments the version. It reads no message.
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
	var evidence []handoff.Message
	for _, m := range msgs {
		if handoff.IsEvidence(m) {
			evidence = append(evidence, m)
		}
	}
	args, err := transcriptArgs(msgs, evidence)
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	v, err := appendMessages.Run(ctx, s.rdb, s.ticketKeys(id), args...).Int64()
	if err != nil {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, err)
	}
	if v < 0 {
		return fmt.Errorf("handoff: append to ticket %s: %w", id, handoff.ErrNotFound)
	}
	return nil
}

// OpenTicket returns the user's open ticket, transcript included, or
// handoff.ErrNotFound.
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
		if err == nil && usersOpen(t) && t.OpenID == openID {
			return t, nil
		}
	}
	return handoff.Ticket{}, fmt.Errorf("handoff: open ticket of %s: %w", openID, handoff.ErrNotFound)
}

// QueuePosition returns the place of the stored ticket t.ID in the queue of
// its lane (ZRANK: logarithmic in the length of the queue), or 0 when it
// is not queued.
func (s *Store) QueuePosition(ctx context.Context, t handoff.Ticket) (int, error) {
	lane := t.Lane
	// The script needs the lane to name the queue's key: a ticket moved to
	// another lane since t was read takes a second round.
	for range 3 {
		res, err := queuePosition.Run(ctx, s.rdb, []string{s.ticketKey(t.ID), s.queueKey(lane)}, lane).Result()
		if err != nil {
			return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, err)
		}
		switch res := res.(type) {
		case int64:
			if res < 0 {
				return 0, fmt.Errorf("handoff: queue position of %s: %w", t.ID, handoff.ErrNotFound)
			}
			return int(res), nil
		case string:
			lane = res
		default:
			return 0, fmt.Errorf("handoff: queue position of %s: unexpected reply %T", t.ID, res)
		}
	}
	return 0, fmt.Errorf("handoff: queue position of %s: lane keeps changing: %w", t.ID, handoff.ErrConflict)
}

// QueueLength returns the number of queued tickets in the lane: the
// cardinality of its queue (ZCARD, constant time).
func (s *Store) QueueLength(ctx context.Context, lane string) (int, error) {
	n, err := s.rdb.ZCard(ctx, s.queueKey(lane)).Result()
	if err != nil {
		return 0, fmt.Errorf("handoff: queue length of %s: %w", lane, err)
	}
	return int(n), nil
}

// Tickets lists the tickets matching f, oldest first (by CreatedAt, then
// ID) or newest first. A ticket that changes while the list is read is
// left out if it no longer matches, so the list may then be shorter than
// f.Limit.
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
			switch {
			case !f.CreatedBefore.IsZero():
				by := &redis.ZRangeBy{Min: "-inf", Max: "(" + score(f.CreatedBefore), Count: limit}
				if f.Newest {
					cmds[i] = p.ZRevRangeByScoreWithScores(ctx, k, by)
				} else {
					cmds[i] = p.ZRangeByScoreWithScores(ctx, k, by)
				}
			case f.Newest:
				cmds[i] = p.ZRevRangeWithScores(ctx, k, 0, limit-1)
			default:
				cmds[i] = p.ZRangeWithScores(ctx, k, 0, limit-1)
			}
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
		c := compareEntries(a, b)
		if f.Newest {
			return -c
		}
		return c
	})
	if limit > 0 && len(entries) > int(limit) {
		entries = entries[:limit]
	}

	type read struct {
		header         *redis.SliceCmd
		msgs, evidence *redis.StringSliceCmd
	}
	reads := make([]read, len(entries))
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			r := &reads[i]
			r.header, r.msgs, r.evidence = s.readTicket(ctx, p, e.Member.(string), !f.Summary)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("handoff: list tickets: %w", err)
	}
	var out []handoff.Ticket
	for _, r := range reads {
		var msgs, evidence []string
		if !f.Summary {
			msgs, evidence = r.msgs.Val(), r.evidence.Val()
		}
		t, err := decode(r.header.Val(), msgs, evidence)
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

// compareEntries orders index entries by score (creation time), then id.
func compareEntries(a, b redis.Z) int {
	switch {
	case a.Score < b.Score:
		return -1
	case a.Score > b.Score:
		return 1
	}
	return strings.Compare(a.Member.(string), b.Member.(string))
}

func matches(t handoff.Ticket, f handoff.Filter) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, t.Status)) &&
		(f.Lane == "" || t.Lane == f.Lane) &&
		(f.OpenID == "" || t.OpenID == f.OpenID) &&
		(f.CreatedBefore.IsZero() || t.CreatedAt.UnixMicro() < f.CreatedBefore.UnixMicro())
}

// usersOpen reports whether t is its user's open ticket: open, and not a
// split ticket.
func usersOpen(t handoff.Ticket) bool { return t.Status.Open() && t.SplitFrom == "" }

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

// encodeHeader returns the JSON of the ticket's header: the ticket without
// its transcript.
func encodeHeader(t handoff.Ticket) ([]byte, error) {
	t.Messages, t.Evidence = nil, nil
	return json.Marshal(t)
}

// decode reads the reply of HMGET v j and the transcript's lists;
// handoff.ErrNotFound when the ticket is missing.
func decode(header []any, msgs, evidence []string) (handoff.Ticket, error) {
	v, _ := header[0].(string)
	j, _ := header[1].(string)
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
	if t.Messages, err = decodeMessages(msgs); err != nil {
		return handoff.Ticket{}, fmt.Errorf("messages: %w", err)
	}
	if t.Evidence, err = decodeMessages(evidence); err != nil {
		return handoff.Ticket{}, fmt.Errorf("evidence: %w", err)
	}
	return t, nil
}

func decodeMessages(list []string) ([]handoff.Message, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]handoff.Message, len(list))
	for i, s := range list {
		if err := json.Unmarshal([]byte(s), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

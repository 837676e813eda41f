// Package redisstore keeps the knowledge base's versioned articles and
// unanswered questions in Redis for the shared mode, and tells the
// instances about publishes over Redis pub/sub (Notifier).
//
// Keys, under the Store's prefix:
//
//	kb:ids                  sorted set of every article ID, all scored 0
//	kb:article:<id>         hash: latest = number of the latest version,
//	                        published = of the published one (0 = none),
//	                        archived = 0|1, by/at = author and time of the
//	                        latest version, sby/sat = who last published or
//	                        archived it and when (times in unix µs)
//	kb:article:<id>:versions  hash: version number → the version as JSON
//	kb:published            hash: id → the published version as JSON
//	kb:revision             the publish revision (INCR)
//
// and the unanswered queue, one entry per distinct text:
//
//	kb:unanswered:last      sorted set: text scored by its last record
//	                        (unix µs), which orders eviction
//	kb:unanswered:first     hash: text → first record (unix µs)
//	kb:unanswered:count, kb:unanswered:failed, kb:unanswered:handoff
//	                        hashes: text → number of records
//	kb:unanswered:best      hash: text → "<score> <article id>"
//
// Every write that touches more than one key is one Lua script, so it is
// atomic; a version's number is taken with HINCRBY inside the script that
// stores it, so concurrent saves get consecutive numbers. The scripts name
// all their keys: on Redis Cluster the store works when the prefix holds a
// hash tag, e.g. "{kefu}:".
package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/kb"
)

var _ kb.Store = (*Store)(nil)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// Store is the shared kb.Store.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store on rdb whose keys start with prefix (DefaultPrefix
// when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: cmp.Or(prefix, DefaultPrefix)}
}

func (s *Store) idsKey() string                { return s.prefix + "kb:ids" }
func (s *Store) headKey(id string) string      { return s.prefix + "kb:article:" + id }
func (s *Store) versionsKey(id string) string  { return s.prefix + "kb:article:" + id + ":versions" }
func (s *Store) statusLogKey(id string) string { return s.prefix + "kb:article:" + id + ":status" }
func (s *Store) publishedKey() string          { return s.prefix + "kb:published" }
func (s *Store) revisionKey() string           { return s.prefix + "kb:revision" }

// unansweredKeys are, in this order: last, first, count, failed, handoff,
// best.
func (s *Store) unansweredKeys() []string {
	keys := []string{"last", "first", "count", "failed", "handoff", "best"}
	for i, k := range keys {
		keys[i] = s.prefix + "kb:unanswered:" + k
	}
	return keys
}

// record is a version as stored. The scripts put the version number in
// front, so a stored record reads {"version":n,"article":…}.
type record struct {
	Version int        `json:"version,omitempty"`
	Article kb.Article `json:"article"`
	Author  string     `json:"author"`
	At      int64      `json:"at"` // unix microseconds
	Note    string     `json:"note,omitempty"`
}

// encode returns the record of a version without its number.
func encode(a kb.Article, author, note string, at time.Time) (string, error) {
	b, err := json.Marshal(record{Article: a, Author: author, At: at.UnixMicro(), Note: note})
	if err != nil {
		return "", fmt.Errorf("kb: encode %s: %w", a.ID, err)
	}
	return string(b), nil
}

func decode(data string) (kb.Version, error) {
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return kb.Version{}, fmt.Errorf("kb: decode version: %w", err)
	}
	return kb.Version{ID: r.Article.ID, Version: r.Version, Article: r.Article, Author: r.Author,
		At: timeOf(r.At), Note: r.Note}, nil
}

// timeOf reads unix microseconds; 0 is the zero time.
func timeOf(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// numbered is the Lua function that puts version number n in front of a
// record made by encode.
const numbered = `
local function numbered(n, rec)
	return '{"version":' .. n .. ',' .. string.sub(rec, 2)
end
`

// seed stores and publishes the articles when there is none, and logs
// the publish. KEYS: ids, revision, published, then head, versions and
// status log of each article. ARGV: author, at, the log's event, then id
// and record of each article. It returns 1 when it seeded, 0 when there
// were articles.
var seed = redis.NewScript(numbered + `
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
for i = 1, (#ARGV - 3) / 2 do
	local id, rec = ARGV[2 + 2 * i], numbered(1, ARGV[3 + 2 * i])
	redis.call('HSET', KEYS[1 + 3 * i], 'latest', 1, 'published', 1, 'archived', 0,
		'by', ARGV[1], 'at', ARGV[2], 'sby', ARGV[1], 'sat', ARGV[2])
	redis.call('HSET', KEYS[2 + 3 * i], 1, rec)
	redis.call('RPUSH', KEYS[3 + 3 * i], ARGV[3])
	redis.call('HSET', KEYS[3], id, rec)
	redis.call('ZADD', KEYS[1], 0, id)
end
redis.call('INCR', KEYS[2])
return 1
`)

// Seed stores and publishes articles when the store has none.
func (s *Store) Seed(ctx context.Context, articles []kb.Article, author string, at time.Time) (bool, error) {
	event, err := json.Marshal(statusEvent{Action: kb.ActionPublish, Version: 1, By: author, At: at.UnixMicro()})
	if err != nil {
		return false, err
	}
	keys := []string{s.idsKey(), s.revisionKey(), s.publishedKey()}
	args := []any{author, at.UnixMicro(), event}
	for _, a := range articles {
		rec, err := encode(a, author, "", at)
		if err != nil {
			return false, err
		}
		keys = append(keys, s.headKey(a.ID), s.versionsKey(a.ID), s.statusLogKey(a.ID))
		args = append(args, a.ID, rec)
	}
	n, err := seed.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("kb: seed: %w", err)
	}
	return n == 1, nil
}

// save stores the next version of an article. KEYS: head, versions, ids.
// ARGV: id, record, author, at, base version (-1: any), whether the base
// was archived (1 or 0). It returns the version's number, or -1 when the
// article is not at its base.
var save = redis.NewScript(numbered + `
local base = tonumber(ARGV[5])
if base >= 0 then
  local latest, archived = unpack(redis.call('HMGET', KEYS[1], 'latest', 'archived'))
  if tonumber(latest or '0') ~= base or archived == '1' and ARGV[6] ~= '1' then
    return -1
  end
end
local n = redis.call('HINCRBY', KEYS[1], 'latest', 1)
redis.call('HSET', KEYS[1], 'archived', 0, 'by', ARGV[3], 'at', ARGV[4])
redis.call('HSETNX', KEYS[1], 'published', 0)
redis.call('HSET', KEYS[2], n, numbered(n, ARGV[2]))
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return n
`)

// Save stores the next version of a.ID.
func (s *Store) Save(ctx context.Context, a kb.Article, author, note string, at time.Time, base kb.Base) (kb.Version, error) {
	rec, err := encode(a, author, note, at)
	if err != nil {
		return kb.Version{}, err
	}
	n, err := save.Run(ctx, s.rdb, []string{s.headKey(a.ID), s.versionsKey(a.ID), s.idsKey()},
		a.ID, rec, author, at.UnixMicro(), base.Version, base.Archived).Int()
	if err != nil {
		return kb.Version{}, fmt.Errorf("kb: save %s: %w", a.ID, err)
	}
	if n < 0 {
		return kb.Version{}, fmt.Errorf("kb: save %s: not at version %d or archived since: %w", a.ID, base.Version, kb.ErrConflict)
	}
	return kb.Version{ID: a.ID, Version: n, Article: a, Author: author, At: at, Note: note}, nil
}

// Version returns version n of article id.
func (s *Store) Version(ctx context.Context, id string, n int) (kb.Version, error) {
	data, err := s.rdb.HGet(ctx, s.versionsKey(id), strconv.Itoa(n)).Result()
	if errors.Is(err, redis.Nil) {
		return kb.Version{}, fmt.Errorf("kb: version %d of %s: %w", n, id, kb.ErrNotFound)
	}
	if err != nil {
		return kb.Version{}, fmt.Errorf("kb: version %d of %s: %w", n, id, err)
	}
	return decode(data)
}

// History returns every version of article id, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]kb.Version, error) {
	all, err := s.rdb.HVals(ctx, s.versionsKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("kb: history of %s: %w", id, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("kb: history of %s: %w", id, kb.ErrNotFound)
	}
	vs, err := decodeAll(all)
	if err != nil {
		return nil, fmt.Errorf("kb: history of %s: %w", id, err)
	}
	slices.SortFunc(vs, func(a, b kb.Version) int { return a.Version - b.Version })
	return vs, nil
}

func decodeAll(records []string) ([]kb.Version, error) {
	vs := make([]kb.Version, len(records))
	for i, data := range records {
		v, err := decode(data)
		if err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}

// Head returns the editorial state of article id.
func (s *Store) Head(ctx context.Context, id string) (kb.Head, error) {
	heads, err := s.heads(ctx, []string{id})
	if err != nil {
		return kb.Head{}, fmt.Errorf("kb: article %s: %w", id, err)
	}
	if len(heads) == 0 {
		return kb.Head{}, fmt.Errorf("kb: article %s: %w", id, kb.ErrNotFound)
	}
	return heads[0], nil
}

// Heads returns the editorial state of every article, by ID.
func (s *Store) Heads(ctx context.Context) ([]kb.Head, error) {
	ids, err := s.rdb.ZRange(ctx, s.idsKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	heads, err := s.heads(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	return heads, nil
}

// heads reads the heads of ids, leaving out unknown ones: the hashes in one
// pipeline, then the latest versions in another (versions never change, so
// a save in between does no harm).
func (s *Store) heads(ctx context.Context, ids []string) ([]kb.Head, error) {
	hcmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hcmds[i] = p.HGetAll(ctx, s.headKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	heads := make([]kb.Head, 0, len(ids))
	var archived []bool
	for i, c := range hcmds {
		m := c.Val()
		if len(m) == 0 {
			continue
		}
		h := kb.Head{Article: kb.Article{ID: ids[i]}, UpdatedBy: m["by"], StatusBy: m["sby"]}
		h.Latest, _ = strconv.Atoi(m["latest"])
		h.Published, _ = strconv.Atoi(m["published"])
		h.UpdatedAt, h.StatusAt = timeOf(parseInt(m["at"])), timeOf(parseInt(m["sat"]))
		heads = append(heads, h)
		archived = append(archived, m["archived"] == "1")
	}
	vcmds := make([]*redis.StringCmd, len(heads))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range heads {
			vcmds[i] = p.HGet(ctx, s.versionsKey(h.Article.ID), strconv.Itoa(h.Latest))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, c := range vcmds {
		v, err := decode(c.Val())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", heads[i].Article.ID, err)
		}
		heads[i].Article = v.Article
		heads[i].Article.Status = kb.HeadStatus(heads[i].Published, archived[i])
	}
	return heads, nil
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// setStatus publishes or archives articles and logs it. KEYS: revision,
// published, then head, versions and status log of each article. ARGV:
// "publish" or "archive", by, at, then the ids, then for each the version
// that must be its latest (0: any). An article already in that state is
// skipped, and when all are the revision stays. It returns the revision,
// or, changing nothing, -i when the i-th article does not exist and
// -(n+i) when it is not at its version.
var setStatus = redis.NewScript(`
local n = (#ARGV - 3) / 2
for i = 1, n do
	if redis.call('EXISTS', KEYS[3 * i]) == 0 then
		return -i
	end
	local want = tonumber(ARGV[3 + n + i])
	if want > 0 and tonumber(redis.call('HGET', KEYS[3 * i], 'latest')) ~= want then
		return -(n + i)
	end
end
local changed = 0
for i = 1, n do
	local head, versions, log, id = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2], ARGV[3 + i]
	local latest, published, archived = unpack(redis.call('HMGET', head, 'latest', 'published', 'archived'))
	-- An article already so is left as it is, and not logged.
	if not (ARGV[1] == 'publish' and published == latest or ARGV[1] == 'archive' and archived == '1') then
		changed = changed + 1
		local version = latest
		if ARGV[1] == 'publish' then
			redis.call('HSET', head, 'published', latest, 'archived', 0, 'sby', ARGV[2], 'sat', ARGV[3])
			redis.call('HSET', KEYS[2], id, redis.call('HGET', versions, latest))
		else
			version = published or '0'
			redis.call('HSET', head, 'published', 0, 'archived', 1, 'sby', ARGV[2], 'sat', ARGV[3])
			redis.call('HDEL', KEYS[2], id)
		end
		redis.call('RPUSH', log, '{"action":' .. cjson.encode(ARGV[1]) .. ',"version":' .. version ..
			',"by":' .. cjson.encode(ARGV[2]) .. ',"at":' .. ARGV[3] .. '}')
		redis.call('LTRIM', log, -` + strconv.Itoa(kb.MaxStatusLog) + `, -1)
	end
end
if changed == 0 then
	return tonumber(redis.call('GET', KEYS[1]) or '0')
end
return redis.call('INCR', KEYS[1])
`)

// Publish publishes the latest versions of ids.
func (s *Store) Publish(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	return s.setStatus(ctx, kb.ActionPublish, ids, expect, by, at)
}

// Archive takes ids out of the published set.
func (s *Store) Archive(ctx context.Context, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	return s.setStatus(ctx, kb.ActionArchive, ids, expect, by, at)
}

func (s *Store) setStatus(ctx context.Context, op string, ids []string, expect map[string]int, by string, at time.Time) (int64, error) {
	keys := []string{s.revisionKey(), s.publishedKey()}
	args := []any{op, by, at.UnixMicro()}
	for _, id := range ids {
		keys = append(keys, s.headKey(id), s.versionsKey(id), s.statusLogKey(id))
		args = append(args, id)
	}
	for _, id := range ids {
		args = append(args, expect[id]) // 0: any version
	}
	rev, err := setStatus.Run(ctx, s.rdb, keys, args...).Int64()
	switch n := int64(len(ids)); {
	case err != nil:
		return 0, fmt.Errorf("kb: %s: %w", op, err)
	case rev < -n:
		id := ids[-rev-n-1]
		return 0, fmt.Errorf("kb: %s: article %s: not at version %d: %w", op, id, expect[id], kb.ErrConflict)
	case rev < 0:
		return 0, fmt.Errorf("kb: %s: article %s: %w", op, ids[-rev-1], kb.ErrNotFound)
	}
	return rev, nil
}

// statusEvent is a StatusEvent as the status log keeps it.
type statusEvent struct {
	Action  string `json:"action"`
	Version int    `json:"version"`
	By      string `json:"by"`
	At      int64  `json:"at"` // unix microseconds
}

// StatusLog returns the publishes and archives of id, oldest first.
func (s *Store) StatusLog(ctx context.Context, id string) ([]kb.StatusEvent, error) {
	all, err := s.rdb.LRange(ctx, s.statusLogKey(id), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("kb: status log of %s: %w", id, err)
	}
	events := make([]kb.StatusEvent, len(all))
	for i, data := range all {
		var e statusEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("kb: status log of %s: %w", id, err)
		}
		events[i] = kb.StatusEvent{Action: e.Action, Version: e.Version, By: e.By, At: timeOf(e.At)}
	}
	return events, nil
}

// Published returns the published versions and the revision, read in one
// transaction.
func (s *Store) Published(ctx context.Context) ([]kb.Version, int64, error) {
	var (
		rev  *redis.StringCmd
		vals *redis.StringSliceCmd
	)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rev = p.Get(ctx, s.revisionKey())
		vals = p.HVals(ctx, s.publishedKey())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("kb: published: %w", err)
	}
	if err := vals.Err(); err != nil {
		return nil, 0, fmt.Errorf("kb: published: %w", err)
	}
	vs, err := decodeAll(vals.Val())
	if err != nil {
		return nil, 0, fmt.Errorf("kb: published: %w", err)
	}
	slices.SortFunc(vs, func(a, b kb.Version) int { return strings.Compare(a.ID, b.ID) })
	return vs, parseInt(rev.Val()), nil
}

// Revision returns the publish revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	rev, err := s.rdb.Get(ctx, s.revisionKey()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("kb: revision: %w", err)
	}
	return rev, nil
}

// recordUnanswered counts records of texts and forgets the least recently
// seen texts beyond the limit once past it by the slack. KEYS:
// unansweredKeys. ARGV: limit, slack, then five per record: text, at,
// "failed" or "handoff", score, article id ("" = none).
var recordUnanswered = redis.NewScript(`
for r = 3, #ARGV, 5 do
	local t, at = ARGV[r], tonumber(ARGV[r + 1])
	redis.call('ZADD', KEYS[1], 'GT', at, t)
	local first = redis.call('HGET', KEYS[2], t)
	if not first or at < tonumber(first) then
		redis.call('HSET', KEYS[2], t, ARGV[r + 1])
	end
	redis.call('HINCRBY', KEYS[3], t, 1)
	if ARGV[r + 2] == 'handoff' then
		redis.call('HINCRBY', KEYS[5], t, 1)
	else
		redis.call('HINCRBY', KEYS[4], t, 1)
	end
	if ARGV[r + 4] ~= '' then
		local best = redis.call('HGET', KEYS[6], t)
		if not best or tonumber(ARGV[r + 3]) > tonumber(string.match(best, '^(%S+)')) then
			redis.call('HSET', KEYS[6], t, ARGV[r + 3] .. ' ' .. ARGV[r + 4])
		end
	end
end
local n, limit = redis.call('ZCARD', KEYS[1]), tonumber(ARGV[1])
if n > limit + tonumber(ARGV[2]) then
	local old = redis.call('ZRANGE', KEYS[1], 0, n - limit - 1)
	for from = 1, #old, 1000 do
		local batch = {unpack(old, from, math.min(from + 999, #old))}
		for i = 1, 6 do
			redis.call(i == 1 and 'ZREM' or 'HDEL', KEYS[i], unpack(batch))
		end
	end
end
return 1
`)

// unansweredPerScript bounds the records one script run takes, so a long
// batch does not hold Redis (which runs a script alone) for long.
const unansweredPerScript = 100

// RecordUnanswered counts one record of each text, keeping about max
// texts (see kb.Store).
func (s *Store) RecordUnanswered(ctx context.Context, us []kb.Unanswered, max int) error {
	for len(us) > 0 {
		n := min(len(us), unansweredPerScript)
		args := make([]any, 0, 2+5*n)
		args = append(args, max, kb.UnansweredSlack(max))
		for _, u := range us[:n] {
			args = append(args, u.Text, u.At.UnixMicro(), string(u.Reason), strconv.FormatFloat(u.Score, 'g', -1, 64), u.ArticleID)
		}
		if err := recordUnanswered.Run(ctx, s.rdb, s.unansweredKeys(), args...).Err(); err != nil {
			return fmt.Errorf("kb: record unanswered: %w", err)
		}
		us = us[n:]
	}
	return nil
}

// UnansweredTexts returns every kept unanswered text.
func (s *Store) UnansweredTexts(ctx context.Context) ([]kb.UnansweredText, error) {
	keys := s.unansweredKeys()
	var (
		last *redis.ZSliceCmd
		maps [5]*redis.MapStringStringCmd
	)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		last = p.ZRangeWithScores(ctx, keys[0], 0, -1)
		for i := range maps {
			maps[i] = p.HGetAll(ctx, keys[i+1])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kb: unanswered: %w", err)
	}
	first, count, failed, handoff, best := maps[0].Val(), maps[1].Val(), maps[2].Val(), maps[3].Val(), maps[4].Val()
	var out []kb.UnansweredText
	for _, z := range last.Val() {
		text, _ := z.Member.(string)
		t := kb.UnansweredText{Text: text}
		t.LastSeen, t.FirstSeen = timeOf(int64(z.Score)), timeOf(parseInt(first[text]))
		t.Count, t.Failed, t.Handoff = int(parseInt(count[text])), int(parseInt(failed[text])), int(parseInt(handoff[text]))
		if score, id, ok := strings.Cut(best[text], " "); ok {
			t.Score, _ = strconv.ParseFloat(score, 64)
			t.ArticleID = id
		}
		out = append(out, t)
	}
	return out, nil
}

// DeleteUnanswered forgets texts.
func (s *Store) DeleteUnanswered(ctx context.Context, texts ...string) error {
	if len(texts) == 0 {
		return nil
	}
	keys := s.unansweredKeys()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, keys[0], anys(texts)...)
		for _, k := range keys[1:] {
			p.HDel(ctx, k, texts...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kb: delete unanswered: %w", err)
	}
	return nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Package redisstore keeps cases in Redis for the shared mode.
//
// Keys, under the Store's prefix:
//
//	case:<id>              hash: v = version, j = the case as JSON, s = status
//
// and sorted sets of case IDs scored by creation time (unix microseconds),
// which Cases reads newest first:
//
//	cases:all
//	cases:user:<open_id>
//	cases:flow:<flow>
//	cases:status:<status>
//
// Creating a case (if its ID is free) and updating it (if its version is
// still the one read, moving it between the status sets) are each one Lua
// script, so atomic. The scripts name all their keys: on Redis Cluster the
// store works when the prefix holds a hash tag, e.g. "{kefu}:".
package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/cases"
)

var _ cases.Store = (*Store)(nil)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// batch is how many IDs Cases reads from an index at a time.
const batch = 100

// Store is the shared cases.Store.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store on rdb whose keys start with prefix (DefaultPrefix
// when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: cmp.Or(prefix, DefaultPrefix)}
}

func (s *Store) caseKey(id string) string         { return s.prefix + "case:" + id }
func (s *Store) allKey() string                   { return s.prefix + "cases:all" }
func (s *Store) userKey(openID string) string     { return s.prefix + "cases:user:" + openID }
func (s *Store) flowKey(flow string) string       { return s.prefix + "cases:flow:" + flow }
func (s *Store) statusKey(st cases.Status) string { return s.prefix + "cases:status:" + string(st) }

// statusKeys are the keys of every status set.
func (s *Store) statusKeys() []string {
	keys := make([]string, len(cases.Statuses))
	for i, st := range cases.Statuses {
		keys[i] = s.statusKey(st)
	}
	return keys
}

// createCase stores a new case and its index entries. KEYS: case, all,
// user, flow, status. ARGV: json, score, id, status. It returns 1 when
// done, 0 when the ID is taken.
var createCase = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'j', ARGV[1], 's', ARGV[4])
for i = 2, 5 do
	redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
end
return 1
`)

// Create stores c unless a case with its ID exists.
func (s *Store) Create(ctx context.Context, c cases.Case) error {
	c.Version = 1
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("cases: create %s: %w", c.ID, err)
	}
	keys := []string{s.caseKey(c.ID), s.allKey(), s.userKey(c.OpenID), s.flowKey(c.Flow), s.statusKey(c.Status)}
	n, err := createCase.Run(ctx, s.rdb, keys, data, c.CreatedAt.UnixMicro(), c.ID, string(c.Status)).Int()
	if err != nil {
		return fmt.Errorf("cases: create %s: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("cases: create %s: %w", c.ID, cases.ErrExists)
	}
	return nil
}

// Case returns the case id.
func (s *Store) Case(ctx context.Context, id string) (cases.Case, error) {
	v, err := s.rdb.HMGet(ctx, s.caseKey(id), "v", "j").Result()
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: %s: %w", id, err)
	}
	c, ok, err := decode(v)
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: %s: %w", id, err)
	}
	if !ok {
		return cases.Case{}, fmt.Errorf("cases: %s: %w", id, cases.ErrNotFound)
	}
	return c, nil
}

// decode reads the values of HMGET v j; ok is false when the case does
// not exist.
func decode(v []any) (c cases.Case, ok bool, err error) {
	version, _ := v[0].(string)
	data, _ := v[1].(string)
	if version == "" || data == "" {
		return cases.Case{}, false, nil
	}
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return cases.Case{}, false, err
	}
	if c.Version, err = strconv.ParseInt(version, 10, 64); err != nil {
		return cases.Case{}, false, err
	}
	return c, true, nil
}

// updateCase replaces a case at version ARGV[1] and moves it to its new
// status set. KEYS: case, the new status set, then every status set.
// ARGV: version, json, id, status, score. It returns 1 when done, 0 on a
// version conflict, -1 when there is no such case.
var updateCase = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then
	return -1
end
if tonumber(v) ~= tonumber(ARGV[1]) then
	return 0
end
for i = 3, #KEYS do
	redis.call('ZREM', KEYS[i], ARGV[3])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'j', ARGV[2], 's', ARGV[4])
return 1
`)

// Update replaces case c.ID if its version is still c.Version.
func (s *Store) Update(ctx context.Context, c cases.Case) (cases.Case, error) {
	base := c.Version
	c.Version++
	data, err := json.Marshal(c)
	if err != nil {
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, err)
	}
	keys := append([]string{s.caseKey(c.ID), s.statusKey(c.Status)}, s.statusKeys()...)
	n, err := updateCase.Run(ctx, s.rdb, keys, base, data, c.ID, string(c.Status), c.CreatedAt.UnixMicro()).Int()
	switch {
	case err != nil:
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, err)
	case n == -1:
		return cases.Case{}, fmt.Errorf("cases: update %s: %w", c.ID, cases.ErrNotFound)
	case n == 0:
		return cases.Case{}, fmt.Errorf("cases: update %s: version %d is not the latest: %w", c.ID, base, cases.ErrConflict)
	}
	return c, nil
}

// Cases returns the cases f selects, newest first. It reads the most
// selective index the filter names (user, then flow, then status, then
// all) a batch at a time and keeps the cases that match the rest of the
// filter.
func (s *Store) Cases(ctx context.Context, f cases.Filter) ([]cases.Case, error) {
	index := s.allKey()
	switch {
	case f.OpenID != "":
		index = s.userKey(f.OpenID)
	case f.Flow != "":
		index = s.flowKey(f.Flow)
	case f.Status != "":
		index = s.statusKey(f.Status)
	}
	list := []cases.Case{}
	for start := int64(0); ; start += batch {
		ids, err := s.rdb.ZRevRange(ctx, index, start, start+batch-1).Result()
		if err != nil {
			return nil, fmt.Errorf("cases: list: %w", err)
		}
		if len(ids) == 0 {
			return list, nil
		}
		cmds := make([]*redis.SliceCmd, len(ids))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HMGet(ctx, s.caseKey(id), "v", "j")
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("cases: list: %w", err)
		}
		for _, cmd := range cmds {
			c, ok, err := decode(cmd.Val())
			if err != nil {
				return nil, fmt.Errorf("cases: list: %w", err)
			}
			if !ok || !matches(c, f) {
				continue
			}
			list = append(list, c)
			if f.Limit > 0 && len(list) == f.Limit {
				return list, nil
			}
		}
		if len(ids) < batch {
			return list, nil
		}
	}
}

// matches reports whether c is one of the cases f selects.
func matches(c cases.Case, f cases.Filter) bool {
	return (f.OpenID == "" || c.OpenID == f.OpenID) && (f.Flow == "" || c.Flow == f.Flow) &&
		(f.Status == "" || c.Status == f.Status)
}

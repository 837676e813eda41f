// Package redisstore keeps accounts, sessions and sign-in counters in
// Redis for the shared mode, so every instance signs in the same people
// and counts failed sign-ins together.
//
// Keys, under the Store's prefix:
//
//	auth:account:<id>           hash: id, username, name, role, lanes (JSON
//	                            array), capacity, disabled (0/1), pw
//	                            (bcrypt), v (version), created, updated
//	                            (unix ms)
//	auth:account-name:<user>    the id of the account with that username
//	auth:accounts               set of every account id
//	auth:session:<hash>         hash: a (account id), ip, c (created), e
//	                            (expires, unix ms); Redis expires it at e
//	auth:sessions:<account id>  sorted set of the account's session
//	                            hashes, scored by creation time, expiring
//	                            with the last of them
//	auth:hits:<key>             hash: n (attempts), r (end of the window,
//	                            unix ms); Redis expires it at r
//
// Writes that must not be split are Lua scripts naming all their keys;
// with Redis Cluster put a hash tag in the prefix (e.g. "{kefu}:").
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

	"github.com/kefuhq/kefu/auth"
)

var _ auth.Store = (*Store)(nil)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// Store is the shared auth.Store.
type Store struct {
	// Now returns the current time; time.Now unless a test sets it. Redis
	// also expires sessions and counters on its own clock.
	Now func() time.Time

	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store on rdb whose keys start with prefix (DefaultPrefix
// when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{Now: time.Now, rdb: rdb, prefix: prefix}
}

func (s *Store) accountKey(id string) string         { return s.prefix + "auth:account:" + id }
func (s *Store) nameKey(username string) string      { return s.prefix + "auth:account-name:" + username }
func (s *Store) accountsKey() string                 { return s.prefix + "auth:accounts" }
func (s *Store) sessionKey(hash string) string       { return s.prefix + "auth:session:" + hash }
func (s *Store) sessionsKey(accountID string) string { return s.prefix + "auth:sessions:" + accountID }
func (s *Store) hitsKey(key string) string           { return s.prefix + "auth:hits:" + key }

func (s *Store) nowMS() int64 { return s.Now().UnixMilli() }

// createAccount stores a new account unless its id or username is taken.
// KEYS: account, name, accounts. ARGV: id, then the field-value pairs. It
// returns 1 when done, 0 when taken.
var createAccount = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`)

// updateAccount replaces the fields if the version is ARGV[1]. KEYS:
// account. ARGV: version, then the field-value pairs. It returns 1 when
// done, 0 on a version mismatch, -1 when there is no such account.
var updateAccount = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 1
`)

// fields returns the account's mutable fields as hash field-value pairs.
func fields(a *auth.Account) ([]any, error) {
	lanes := a.Lanes
	if lanes == nil {
		lanes = []string{}
	}
	lj, err := json.Marshal(lanes)
	if err != nil {
		return nil, fmt.Errorf("auth: lanes: %w", err)
	}
	disabled := 0
	if a.Disabled {
		disabled = 1
	}
	return []any{"name", a.Name, "role", string(a.Role), "lanes", lj, "capacity", a.Capacity,
		"disabled", disabled, "pw", a.PasswordHash, "updated", a.UpdatedAt.UnixMilli()}, nil
}

// CreateAccount stores a new account; see auth.Store.
func (s *Store) CreateAccount(ctx context.Context, a *auth.Account) error {
	if a.ID == "" || a.Username == "" {
		return fmt.Errorf("auth: create account: id and username are required: %w", auth.ErrInvalid)
	}
	f, err := fields(a)
	if err != nil {
		return err
	}
	args := append([]any{a.ID, "id", a.ID, "username", a.Username, "v", 1, "created", a.CreatedAt.UnixMilli()}, f...)
	n, err := createAccount.Run(ctx, s.rdb, []string{s.accountKey(a.ID), s.nameKey(a.Username), s.accountsKey()}, args...).Int()
	if err != nil {
		return fmt.Errorf("auth: create account %s: %w", a.Username, err)
	}
	if n == 0 {
		return fmt.Errorf("auth: create account %s: %w", a.Username, auth.ErrConflict)
	}
	a.Version = 1
	return nil
}

// Account returns the account with this id; see auth.Store.
func (s *Store) Account(ctx context.Context, id string) (auth.Account, error) {
	m, err := s.rdb.HGetAll(ctx, s.accountKey(id)).Result()
	if err != nil {
		return auth.Account{}, fmt.Errorf("auth: account %s: %w", id, err)
	}
	return parseAccount(id, m)
}

// AccountByUsername returns the account with this username; see
// auth.Store.
func (s *Store) AccountByUsername(ctx context.Context, username string) (auth.Account, error) {
	id, err := s.rdb.Get(ctx, s.nameKey(username)).Result()
	if errors.Is(err, redis.Nil) {
		return auth.Account{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Account{}, fmt.Errorf("auth: account %s: %w", username, err)
	}
	return s.Account(ctx, id)
}

// Accounts lists every account by username; see auth.Store.
func (s *Store) Accounts(ctx context.Context) ([]auth.Account, error) {
	ids, err := s.rdb.SMembers(ctx, s.accountsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: accounts: %w", err)
	}
	hashes, err := s.hashes(ctx, ids, s.accountKey)
	if err != nil {
		return nil, fmt.Errorf("auth: accounts: %w", err)
	}
	out := make([]auth.Account, 0, len(ids))
	for i, h := range hashes {
		a, err := parseAccount(ids[i], h)
		if errors.Is(err, auth.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b auth.Account) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// hashes reads the hashes at key(id) for each id, in one round trip; a
// missing one is an empty map.
func (s *Store) hashes(ctx context.Context, ids []string, key func(string) string) ([]map[string]string, error) {
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, key(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// parseAccount reads the hash of an account; an empty one is
// auth.ErrNotFound.
func parseAccount(id string, m map[string]string) (auth.Account, error) {
	if len(m) == 0 {
		return auth.Account{}, auth.ErrNotFound
	}
	a := auth.Account{ID: m["id"], Username: m["username"], Name: m["name"], Role: auth.Role(m["role"]),
		Disabled: m["disabled"] == "1", PasswordHash: []byte(m["pw"])}
	var capacity, created, updated int64
	for _, f := range []struct {
		field string
		dst   *int64
	}{{"v", &a.Version}, {"capacity", &capacity}, {"created", &created}, {"updated", &updated}} {
		n, err := strconv.ParseInt(m[f.field], 10, 64)
		if err != nil {
			return auth.Account{}, fmt.Errorf("auth: account %s: field %s: %w", id, f.field, err)
		}
		*f.dst = n
	}
	if err := json.Unmarshal([]byte(m["lanes"]), &a.Lanes); err != nil {
		return auth.Account{}, fmt.Errorf("auth: account %s: lanes: %w", id, err)
	}
	a.Capacity = int(capacity)
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return a, nil
}

// UpdateAccount replaces the account if its version is a.Version; see
// auth.Store.
func (s *Store) UpdateAccount(ctx context.Context, a *auth.Account) error {
	f, err := fields(a)
	if err != nil {
		return err
	}
	n, err := updateAccount.Run(ctx, s.rdb, []string{s.accountKey(a.ID)}, append([]any{a.Version}, f...)...).Int()
	if err != nil {
		return fmt.Errorf("auth: update account %s: %w", a.ID, err)
	}
	switch n {
	case -1:
		return auth.ErrNotFound
	case 0:
		return fmt.Errorf("auth: update account %s at version %d: %w", a.ID, a.Version, auth.ErrConflict)
	}
	a.Version++
	return nil
}

// createSession stores a session and indexes it. KEYS: session, the
// account's sessions. ARGV: hash, account id, client ip, created, expires.
// The index expires with the last session.
var createSession = redis.NewScript(`
redis.call('HSET', KEYS[1], 'a', ARGV[2], 'ip', ARGV[3], 'c', ARGV[4], 'e', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local t = redis.call('PEXPIRETIME', KEYS[2])
if t == -1 or t < tonumber(ARGV[5]) then redis.call('PEXPIREAT', KEYS[2], ARGV[5]) end
return 1
`)

// CreateSession stores a session; see auth.Store.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	err := createSession.Run(ctx, s.rdb, []string{s.sessionKey(sess.Hash), s.sessionsKey(sess.AccountID)},
		sess.Hash, sess.AccountID, sess.ClientIP, sess.CreatedAt.UnixMilli(), sess.ExpiresAt.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	return nil
}

// Session returns an unexpired session; see auth.Store.
func (s *Store) Session(ctx context.Context, hash string) (auth.Session, error) {
	m, err := s.rdb.HGetAll(ctx, s.sessionKey(hash)).Result()
	if err != nil {
		return auth.Session{}, fmt.Errorf("auth: session: %w", err)
	}
	return s.parseSession(hash, m)
}

// parseSession reads the hash of a session; an empty or expired one is
// auth.ErrNotFound.
func (s *Store) parseSession(hash string, m map[string]string) (auth.Session, error) {
	if len(m) == 0 {
		return auth.Session{}, auth.ErrNotFound
	}
	created, err1 := strconv.ParseInt(m["c"], 10, 64)
	expires, err2 := strconv.ParseInt(m["e"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return auth.Session{}, fmt.Errorf("auth: session: %w", err)
	}
	if expires <= s.nowMS() {
		return auth.Session{}, auth.ErrNotFound
	}
	return auth.Session{Hash: hash, AccountID: m["a"], ClientIP: m["ip"],
		CreatedAt: time.UnixMilli(created), ExpiresAt: time.UnixMilli(expires)}, nil
}

// Sessions lists the account's unexpired sessions; see auth.Store. It
// drops the index entries of sessions that are gone.
func (s *Store) Sessions(ctx context.Context, accountID string) ([]auth.Session, error) {
	key := s.sessionsKey(accountID)
	hashes, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
	}
	fields, err := s.hashes(ctx, hashes, s.sessionKey)
	if err != nil {
		return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
	}
	var (
		out  []auth.Session
		gone []any
	)
	for i, f := range fields {
		if len(f) == 0 {
			gone = append(gone, hashes[i])
			continue
		}
		sess, err := s.parseSession(hashes[i], f)
		if errors.Is(err, auth.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	if len(gone) > 0 {
		if err := s.rdb.ZRem(ctx, key, gone...).Err(); err != nil {
			return nil, fmt.Errorf("auth: sessions of %s: %w", accountID, err)
		}
	}
	return out, nil
}

// DeleteSession revokes one session; see auth.Store.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	key := s.sessionKey(hash)
	accountID, err := s.rdb.HGet(ctx, key, "a").Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.ZRem(ctx, s.sessionsKey(accountID), hash)
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// maxWatchRetries bounds the optimistic transactions of DeleteSessions.
const maxWatchRetries = 16

// DeleteSessions revokes the account's sessions; see auth.Store. It
// watches the index, so a session created meanwhile is revoked too.
func (s *Store) DeleteSessions(ctx context.Context, accountID string) error {
	key := s.sessionsKey(accountID)
	for range maxWatchRetries {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			hashes, err := tx.ZRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, h := range hashes {
					p.Del(ctx, s.sessionKey(h))
				}
				p.Del(ctx, key)
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("auth: delete sessions of %s: %w", accountID, err)
		}
		return nil
	}
	return fmt.Errorf("auth: delete sessions of %s: too many concurrent sign-ins", accountID)
}

// hit counts an attempt. KEYS: hits. ARGV: now, window (ms). It returns
// the count and the end of the window.
var hit = redis.NewScript(`
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local r = tonumber(redis.call('HGET', KEYS[1], 'r'))
if not r or r <= now then
	r = now + window
	redis.call('HSET', KEYS[1], 'n', 1, 'r', r)
	redis.call('PEXPIREAT', KEYS[1], r)
	return {1, r}
end
return {redis.call('HINCRBY', KEYS[1], 'n', 1), r}
`)

// undoHit takes one attempt back from a running window. KEYS: hits.
// ARGV: now.
var undoHit = redis.NewScript(`
local r = tonumber(redis.call('HGET', KEYS[1], 'r'))
if r and r > tonumber(ARGV[1]) and tonumber(redis.call('HGET', KEYS[1], 'n')) > 0 then
	redis.call('HINCRBY', KEYS[1], 'n', -1)
end
return 1
`)

// Hit counts an attempt against key; see auth.Store.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (auth.Hits, error) {
	v, err := hit.Run(ctx, s.rdb, []string{s.hitsKey(key)}, s.nowMS(), window.Milliseconds()).Int64Slice()
	if err != nil {
		return auth.Hits{}, fmt.Errorf("auth: hit %s: %w", key, err)
	}
	if len(v) != 2 {
		return auth.Hits{}, fmt.Errorf("auth: hit %s: unexpected reply %v", key, v)
	}
	return auth.Hits{Count: int(v[0]), ResetAt: time.UnixMilli(v[1])}, nil
}

// UndoHit takes one attempt back; see auth.Store.
func (s *Store) UndoHit(ctx context.Context, key string) error {
	if err := undoHit.Run(ctx, s.rdb, []string{s.hitsKey(key)}, s.nowMS()).Err(); err != nil {
		return fmt.Errorf("auth: undo hit %s: %w", key, err)
	}
	return nil
}

// ResetHits ends key's window; see auth.Store.
func (s *Store) ResetHits(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.hitsKey(key)).Err(); err != nil {
		return fmt.Errorf("auth: reset hits %s: %w", key, err)
	}
	return nil
}

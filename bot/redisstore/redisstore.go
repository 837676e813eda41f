// Package redisstore keeps the bot's state in Redis for the shared mode, in
// which several instances serve one official account: sessions, the
// deduper and the user locks.
//
// Keys, under the Store's prefix:
//
//	session:<open_id>  hash: v = version, d = the bot.Session as JSON
//	flows:active       sorted set: open_ids with a running flow, scored by
//	                   the flow's last activity (unix milliseconds)
//	turn:<dedupe key>  string: the bot.Turn as JSON, expiring after its ttl
//	lock:<key>         string: the holder's random token, expiring after its ttl
package redisstore

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/bot"
)

var (
	_ bot.SessionStore  = (*Store)(nil)
	_ bot.Deduper       = (*Store)(nil)
	_ bot.Locker        = (*Store)(nil)
	_ bot.SessionLocker = (*Store)(nil)
)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// Store is the shared bot.SessionStore, bot.Deduper and bot.Locker.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store on rdb whose keys start with prefix (DefaultPrefix
// when empty). Instances that serve one official account share a prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) sessionKey(openID string) string { return s.prefix + "session:" + openID }
func (s *Store) turnKey(key string) string       { return s.prefix + "turn:" + key }
func (s *Store) lockKey(key string) string       { return s.prefix + "lock:" + key }
func (s *Store) flowsKey() string                { return s.prefix + "flows:active" }

// saveSession stores ARGV[2] at version ARGV[1]+1 if the stored version is
// ARGV[1] (0 = none stored), and keeps the user (ARGV[4]) in the running
// flows (KEYS[2]) scored ARGV[3], or out of them when ARGV[3] is empty; it
// returns 1 when stored, 0 on a conflict. With a third key, a lock, it
// also releases that lock once the session is stored, if the lock still
// holds the token ARGV[5].
var saveSession = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
	return 0
end
redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
if ARGV[3] == '' then
	redis.call('ZREM', KEYS[2], ARGV[4])
else
	redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
end
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[5] then
	redis.call('DEL', KEYS[3])
end
return 1
`)

// Session returns the user's session, or a new one (StateBot, Version 0)
// when none is stored.
func (s *Store) Session(ctx context.Context, openID string) (bot.Session, error) {
	vals, err := s.rdb.HMGet(ctx, s.sessionKey(openID), "v", "d").Result()
	if err != nil {
		return bot.Session{}, fmt.Errorf("bot: load session %s: %w", openID, err)
	}
	return sessionOf(openID, vals)
}

// sessionOf decodes the fields v and d of a session hash, as HMGET returns
// them.
func sessionOf(openID string, vals []any) (bot.Session, error) {
	v, _ := vals[0].(string)
	d, _ := vals[1].(string)
	if v == "" || d == "" {
		return bot.Session{OpenID: openID, State: bot.StateBot}, nil
	}
	var (
		sess bot.Session
		err  error
	)
	if err = json.Unmarshal([]byte(d), &sess); err != nil {
		return bot.Session{}, fmt.Errorf("bot: load session %s: %w", openID, err)
	}
	if sess.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
		return bot.Session{}, fmt.Errorf("bot: load session %s: version %q: %w", openID, v, err)
	}
	sess.OpenID = openID
	return sess, nil
}

// SaveSession stores sess if the stored version equals sess.Version (0 =
// not stored yet), then increments sess.Version. It returns bot.ErrConflict
// when another writer got there first.
func (s *Store) SaveSession(ctx context.Context, sess *bot.Session) error {
	return s.saveSession(ctx, sess, "", "")
}

// saveSession is SaveSession, releasing the lock lockKey held with token
// once the session is stored when lockKey is set.
func (s *Store) saveSession(ctx context.Context, sess *bot.Session, lockKey, token string) error {
	if sess.OpenID == "" {
		return fmt.Errorf("bot: save session: empty open_id")
	}
	next := *sess
	next.Version++
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("bot: save session %s: %w", sess.OpenID, err)
	}
	active := ""
	if sess.Flow != nil {
		active = strconv.FormatInt(sess.Flow.UpdatedAt.UnixMilli(), 10)
	}
	keys, args := []string{s.sessionKey(sess.OpenID), s.flowsKey()}, []any{sess.Version, data, active, sess.OpenID}
	if lockKey != "" {
		keys, args = append(keys, lockKey), append(args, token)
	}
	ok, err := saveSession.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("bot: save session %s: %w", sess.OpenID, err)
	}
	if ok == 0 {
		return fmt.Errorf("bot: save session %s at version %d: %w", sess.OpenID, sess.Version, bot.ErrConflict)
	}
	sess.Version++
	return nil
}

// DeleteSession forgets the user's session.
func (s *Store) DeleteSession(ctx context.Context, openID string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.sessionKey(openID))
		p.ZRem(ctx, s.flowsKey(), openID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("bot: delete session %s: %w", openID, err)
	}
	return nil
}

// IdleFlows returns up to limit users whose flow was last active before
// the given time, the longest idle first.
func (s *Store) IdleFlows(ctx context.Context, before time.Time, limit int) ([]string, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.flowsKey(), ByScore: true, Start: "-inf",
		Stop: "(" + strconv.FormatInt(before.UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("bot: idle flows: %w", err)
	}
	return ids, nil
}

// inProgress is the Turn stored by BeginTurn.
var inProgress = []byte(`{"done":false}`)

// BeginTurn claims key for ttl with SET NX GET: first=true when nobody
// held it, otherwise the remembered turn.
func (s *Store) BeginTurn(ctx context.Context, key string, ttl time.Duration) (bot.Turn, bool, error) {
	if ttl <= 0 {
		return bot.Turn{}, false, fmt.Errorf("bot: begin turn %s: ttl %v is not positive", key, ttl)
	}
	old, err := s.rdb.SetArgs(ctx, s.turnKey(key), inProgress, redis.SetArgs{Mode: "NX", TTL: ttl, Get: true}).Result()
	if errors.Is(err, redis.Nil) {
		return bot.Turn{}, true, nil
	}
	if err != nil {
		return bot.Turn{}, false, fmt.Errorf("bot: begin turn %s: %w", key, err)
	}
	var t bot.Turn
	if err := json.Unmarshal([]byte(old), &t); err != nil {
		return bot.Turn{}, false, fmt.Errorf("bot: begin turn %s: %w", key, err)
	}
	return t, false, nil
}

// FinishTurn records the outcome of the message for ttl.
func (s *Store) FinishTurn(ctx context.Context, key string, t bot.Turn, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("bot: finish turn %s: ttl %v is not positive", key, ttl)
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("bot: finish turn %s: %w", key, err)
	}
	if err := s.rdb.Set(ctx, s.turnKey(key), data, ttl).Err(); err != nil {
		return fmt.Errorf("bot: finish turn %s: %w", key, err)
	}
	return nil
}

// releaseLock deletes KEYS[1] if it still holds the token ARGV[1].
var releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lock tries again after a pause that starts at lockRetryMin and doubles up
// to lockRetryMax.
const (
	lockRetryMin = 2 * time.Millisecond
	lockRetryMax = 50 * time.Millisecond
	// unlockTimeout bounds the unlock call, which has no context of its
	// own; a lock left behind expires after its ttl.
	unlockTimeout = 5 * time.Second
)

// Lock waits until it holds the lock on key (SET NX PX with a random token)
// or ctx ends; the error then wraps bot.ErrLockTimeout and the context's
// error. unlock deletes the key only if it still holds this caller's token,
// and drops any error: the lock then expires after ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	k, token, err := s.lock(ctx, key, ttl, func(k, token string) (bool, error) {
		return s.rdb.SetNX(ctx, k, token, ttl).Result()
	})
	if err != nil {
		return nil, err
	}
	h := &heldLock{s: s, ctx: ctx, k: k, token: token}
	return h.unlock, nil
}

// heldLock is a lock this caller took: unlock releases it at most once,
// and not at all once released is set (a save script released it).
type heldLock struct {
	s        *Store
	ctx      context.Context
	k, token string
	released atomic.Bool
}

func (h *heldLock) unlock() {
	if h.released.CompareAndSwap(false, true) {
		h.s.release(h.ctx, h.k, h.token)
	}
}

// LockSession is Lock that reads the user's session in the same round trip
// as each try for the lock (SET NX PX and HMGET in one pipeline); the
// session read with the try that won the lock is the one returned.
// SaveAndUnlock stores the session and releases the lock in one script.
func (s *Store) LockSession(ctx context.Context, key string, ttl time.Duration, openID string) (bot.LockedSession, error) {
	var vals []any
	k, token, err := s.lock(ctx, key, ttl, func(k, token string) (bool, error) {
		var (
			set *redis.BoolCmd
			get *redis.SliceCmd
		)
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			set = p.SetNX(ctx, k, token, ttl)
			get = p.HMGet(ctx, s.sessionKey(openID), "v", "d")
			return nil
		})
		if err != nil {
			return false, err
		}
		vals = get.Val()
		return set.Val(), nil
	})
	if err != nil {
		return bot.LockedSession{}, err
	}
	h := &heldLock{s: s, ctx: ctx, k: k, token: token}
	sess, err := sessionOf(openID, vals)
	if err != nil {
		h.unlock()
		return bot.LockedSession{}, err
	}
	return bot.LockedSession{Session: sess, Unlock: h.unlock,
		SaveAndUnlock: func(ctx context.Context, sess *bot.Session) error {
			if h.released.Load() {
				return s.SaveSession(ctx, sess)
			}
			if err := s.saveSession(ctx, sess, k, token); err != nil {
				return err
			}
			h.released.Store(true)
			return nil
		}}, nil
}

// lock takes the lock on key with try, which sets it (NX) with a random
// token and reports whether it did, again after growing pauses until it
// does or ctx ends. It returns the lock's Redis key and the token.
func (s *Store) lock(ctx context.Context, key string, ttl time.Duration, try func(k, token string) (bool, error)) (k, token string, err error) {
	if ttl <= 0 {
		return "", "", fmt.Errorf("bot: lock %s: ttl %v is not positive", key, ttl)
	}
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("bot: lock %s: %w: %w", key, bot.ErrLockTimeout, context.Cause(ctx))
	}
	token = crand.Text()
	k = s.lockKey(key)
	pause := lockRetryMin
	for {
		ok, err := try(k, token)
		if ctx.Err() != nil {
			if ok {
				s.release(ctx, k, token)
			}
			return "", "", fmt.Errorf("bot: lock %s: %w: %w", key, bot.ErrLockTimeout, context.Cause(ctx))
		}
		if err != nil {
			return "", "", fmt.Errorf("bot: lock %s: %w", key, err)
		}
		if ok {
			return k, token, nil
		}
		// Sleep between pause/2 and pause, so that waiters spread out.
		wait := pause/2 + rand.N(pause/2+1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", "", fmt.Errorf("bot: lock %s: %w: %w", key, bot.ErrLockTimeout, context.Cause(ctx))
		}
		pause = min(2*pause, lockRetryMax)
	}
}

func (s *Store) release(ctx context.Context, k, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	_ = releaseLock.Run(ctx, s.rdb, []string{k}, token).Err()
}

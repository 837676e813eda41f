// Package redisstore keeps the access_token and the users' send windows
// (wxapi.QuotaStates) in Redis for the shared mode, so every instance uses
// the one token (WeChat invalidates the previous token each time a new one
// is fetched) and the one count of sends.
//
// Keys, under the Store's prefix:
//
//	token:<app_id>   a JSON string {"token","expires_at"} that Redis
//	                 expires at expires_at
//	quota:<open_id>  the JSON of a wxapi.QuotaState that Redis expires when
//	                 its last grant closes; updated in WATCH/MULTI
//	                 transactions, retried when another instance changed it
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/wxapi"
)

var (
	_ wxapi.TokenCache  = (*Store)(nil)
	_ wxapi.QuotaStates = (*Store)(nil)
)

// DefaultPrefix starts every key when New is given no prefix.
const DefaultPrefix = "kefu:"

// Store is the shared wxapi.TokenCache and wxapi.QuotaStates.
type Store struct {
	// Now returns the current time; time.Now unless a test sets it. Redis
	// also expires the keys on its own clock.
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

func (s *Store) key(appID string) string { return s.prefix + "token:" + appID }

// cachedToken is the stored value.
type cachedToken struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expires_at"` // unix milliseconds
}

// Token returns the cached token for the app if it expires after now, or
// wxapi.ErrNoToken. The expiry is kept to the millisecond.
func (s *Store) Token(ctx context.Context, appID string) (string, time.Time, error) {
	data, err := s.rdb.Get(ctx, s.key(appID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return "", time.Time{}, wxapi.ErrNoToken
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("wxapi: token of %s: %w", appID, err)
	}
	var c cachedToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", time.Time{}, fmt.Errorf("wxapi: token of %s: %w", appID, err)
	}
	exp := time.UnixMilli(c.ExpiresAt)
	if !exp.After(s.Now()) {
		return "", time.Time{}, wxapi.ErrNoToken
	}
	return c.Token, exp, nil
}

// SetToken caches the token until expiresAt (PXAT); a token already
// expired is dropped instead.
func (s *Store) SetToken(ctx context.Context, appID, token string, expiresAt time.Time) error {
	expiresAt = expiresAt.Truncate(time.Millisecond)
	if !expiresAt.After(s.Now()) {
		return s.DeleteToken(ctx, appID)
	}
	data, err := json.Marshal(cachedToken{Token: token, ExpiresAt: expiresAt.UnixMilli()})
	if err != nil {
		return fmt.Errorf("wxapi: set token of %s: %w", appID, err)
	}
	if err := s.rdb.Do(ctx, "SET", s.key(appID), data, "PXAT", expiresAt.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("wxapi: set token of %s: %w", appID, err)
	}
	return nil
}

// DeleteToken drops the cached token.
func (s *Store) DeleteToken(ctx context.Context, appID string) error {
	if err := s.rdb.Del(ctx, s.key(appID)).Err(); err != nil {
		return fmt.Errorf("wxapi: delete token of %s: %w", appID, err)
	}
	return nil
}

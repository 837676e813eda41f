// Package wxapi is a thin client of the WeChat Official Account server API:
// the access_token and the customer-service message API.
package wxapi

import (
	"context"
	"errors"
	"time"
)

// ErrNoToken is returned by a TokenCache that holds no live token.
var ErrNoToken = errors.New("wxapi: no cached access_token")

// TokenCache keeps the access_token where every instance can read it.
// Implementations: wxapi/sqlitestore (embedded) and wxapi/redisstore
// (shared); both pass wxapi/tokentest.
type TokenCache interface {
	// Token returns the cached token for the app if it expires after now,
	// or ErrNoToken.
	Token(ctx context.Context, appID string) (token string, expiresAt time.Time, err error)
	// SetToken caches the token until expiresAt.
	SetToken(ctx context.Context, appID, token string, expiresAt time.Time) error
	// DeleteToken drops the cached token (after a 40001/42001 answer).
	DeleteToken(ctx context.Context, appID string) error
}

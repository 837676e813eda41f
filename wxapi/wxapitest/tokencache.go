package wxapitest

import (
	"context"
	"sync"
	"time"

	"github.com/kefuhq/kefu/wxapi"
)

// TokenCache is an in-memory wxapi.TokenCache for tests. The zero value is
// ready to use; set Now before first use to follow an injected clock.
type TokenCache struct {
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedToken
	deletes int
}

type cachedToken struct {
	token     string
	expiresAt time.Time
}

var _ wxapi.TokenCache = (*TokenCache)(nil)

// Token returns the app's token if it expires after now, or wxapi.ErrNoToken.
func (c *TokenCache) Token(_ context.Context, appID string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[appID]
	if !ok || !e.expiresAt.After(c.now()) {
		return "", time.Time{}, wxapi.ErrNoToken
	}
	return e.token, e.expiresAt, nil
}

// SetToken caches token until expiresAt.
func (c *TokenCache) SetToken(_ context.Context, appID, token string, expiresAt time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]cachedToken)
	}
	c.entries[appID] = cachedToken{token, expiresAt}
	return nil
}

// DeleteToken drops the app's token.
func (c *TokenCache) DeleteToken(_ context.Context, appID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, appID)
	c.deletes++
	return nil
}

// Deletes counts DeleteToken calls.
func (c *TokenCache) Deletes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deletes
}

// ExpiresAt reports when the app's cached token expires (zero when none).
func (c *TokenCache) ExpiresAt(appID string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[appID].expiresAt
}

func (c *TokenCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

package wxapi

import (
	"context"
	"sync"
	"time"
)

// localTokens is the TokenCache a Client uses when Options.Tokens is nil:
// the token lives in this process only.
type localTokens struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]localToken
}

type localToken struct {
	token     string
	expiresAt time.Time
}

var _ TokenCache = (*localTokens)(nil)

func (l *localTokens) Token(_ context.Context, appID string) (string, time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[appID]
	if !ok || !e.expiresAt.After(l.now()) {
		return "", time.Time{}, ErrNoToken
	}
	return e.token, e.expiresAt, nil
}

func (l *localTokens) SetToken(_ context.Context, appID, token string, expiresAt time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = make(map[string]localToken)
	}
	l.entries[appID] = localToken{token, expiresAt}
	return nil
}

func (l *localTokens) DeleteToken(_ context.Context, appID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, appID)
	return nil
}

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

// maxQuotaAttempts bounds the optimistic retries of one update. Only the
// updates of one user compete, a handful at a time (agents replying to the
// same user), so this is never reached in practice.
const maxQuotaAttempts = 100

func (s *Store) quotaKey(openID string) string { return s.prefix + "quota:" + openID }

func loadQuota(ctx context.Context, c redis.Cmdable, key string) (wxapi.QuotaState, error) {
	var st wxapi.QuotaState
	data, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	return st, err
}

// QuotaState returns the user's stored state, the zero state when none.
func (s *Store) QuotaState(ctx context.Context, openID string) (wxapi.QuotaState, error) {
	st, err := loadQuota(ctx, s.rdb, s.quotaKey(openID))
	if err != nil {
		return st, fmt.Errorf("load quota: %w", err)
	}
	return st, nil
}

// UpdateQuotaState applies fn to the user's state in a WATCH/MULTI
// transaction, calling fn again when another client changed the key first.
func (s *Store) UpdateQuotaState(ctx context.Context, openID string, fn func(*wxapi.QuotaState) bool) error {
	key := s.quotaKey(openID)
	txf := func(tx *redis.Tx) error {
		st, err := loadQuota(ctx, tx, key)
		if err != nil || !fn(&st) {
			return err
		}
		exp := st.Expiry().Truncate(time.Millisecond)
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if !exp.After(s.Now()) {
				return p.Del(ctx, key).Err()
			}
			return p.Do(ctx, "SET", key, data, "PXAT", exp.UnixMilli()).Err()
		})
		return err
	}
	for range maxQuotaAttempts {
		err := s.rdb.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update quota: %w", err)
		}
		return nil
	}
	return fmt.Errorf("update quota: key changed by others %d times in a row", maxQuotaAttempts)
}

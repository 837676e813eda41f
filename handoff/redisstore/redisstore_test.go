package redisstore_test

import (
	"testing"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestStore(t *testing.T) {
	handofftest.TestStore(t, func(t *testing.T) handoff.Store {
		rdb, prefix := redistest.Client(t)
		return redisstore.New(rdb, prefix)
	})
}

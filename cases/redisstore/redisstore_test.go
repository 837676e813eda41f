package redisstore_test

import (
	"testing"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/cases/casestest"
	"github.com/kefuhq/kefu/cases/redisstore"
	"github.com/kefuhq/kefu/internal/redistest"
)

func TestStore(t *testing.T) {
	casestest.TestStore(t, func(t *testing.T) cases.Store {
		rdb, prefix := redistest.Client(t)
		return redisstore.New(rdb, prefix)
	})
}

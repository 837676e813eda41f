package redisstore_test

import (
	"testing"

	"github.com/kefuhq/kefu/bot/storetest"
)

// BenchmarkSessionRoundTrip measures one turn's storage work: read the
// user's session, add a question and an answer to its history, save it.
// The turns go to 1,000 users.
func BenchmarkSessionRoundTrip(b *testing.B) {
	s := mustStore(b)
	storetest.BenchmarkSessionRoundTrip(b, s, 8) // Redis calls wait on the network, not the CPU
}

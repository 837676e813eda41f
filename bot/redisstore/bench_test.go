package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/handoff"
)

// BenchmarkSessionRoundTrip measures one turn's storage work: read the
// user's session, add a question and an answer to its history, save it.
// The turns go to 1,000 users.
func BenchmarkSessionRoundTrip(b *testing.B) {
	s := mustStore(b)
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			roundTrip(b, s, "user"+strconv.Itoa(i%1000))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(8) // Redis calls wait on the network, not the CPU
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				roundTrip(b, s, "user"+strconv.Itoa(int(n.Add(1)%1000)))
			}
		})
	})
}

func roundTrip(b *testing.B, s bot.SessionStore, openID string) {
	ctx := context.Background()
	for {
		sess, err := s.Session(ctx, openID)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		sess.FailedTurns++
		sess.UpdatedAt = now
		sess.Remember(
			handoff.Message{From: handoff.FromUser, Kind: "text", Text: "我的账号被盗了，怎么办？", At: now},
			handoff.Message{From: handoff.FromBot, Text: "请先点击“紧急冻结”，我们会尽快为你处理。", At: now},
		)
		if n := len(sess.History) - 10; n > 0 {
			sess.History = sess.History[n:]
		}
		err = s.SaveSession(ctx, &sess)
		if err == nil {
			return
		}
		if !errors.Is(err, bot.ErrConflict) {
			b.Fatal(err)
		}
	}
}

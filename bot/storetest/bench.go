package storetest

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

// BenchmarkSessionRoundTrip measures one turn's storage work on s: read the
// user's session, add a question and an answer to its history, save it,
// for 1,000 users, serially and in parallel (parallelism goroutines per
// CPU; 1 for a store that works on the CPU, more for one that waits on the
// network).
func BenchmarkSessionRoundTrip(b *testing.B, s bot.SessionStore, parallelism int) {
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			SessionRoundTrip(b, s, "user"+strconv.Itoa(i%1000))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				SessionRoundTrip(b, s, "user"+strconv.Itoa(int(n.Add(1)%1000)))
			}
		})
	})
}

// SessionRoundTrip is one turn's storage work for openID: read the
// session, add a question and an answer, save it (again on a conflict).
func SessionRoundTrip(b *testing.B, s bot.SessionStore, openID string) {
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

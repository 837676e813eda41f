package bot_test

import (
	"sync"
	"testing"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/bottest"
)

// TestUnansweredReported checks that failed turns reach the editors' queue
// once each (a WeChat retry is not a second question), the last one as a
// handoff, and that answers, small talk and a bare request for a person
// do not.
func TestUnansweredReported(t *testing.T) {
	var (
		mu  sync.Mutex
		got []bot.Unanswered
	)
	b := bottest.New(t, bottest.Options{Unanswered: func(u bot.Unanswered) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, u)
	}})
	b.Say("怎么导出微信账单")
	b.Say("你好")
	b.Say("今天午饭吃什么")
	b.Retry()
	b.Say("推荐一部电影")
	b.Say("讲个笑话听听")
	b.As("o_other").Say("转人工")

	mu.Lock()
	defer mu.Unlock()
	want := []struct{ text, reason string }{
		{"今天午饭吃什么", "failed"},
		{"推荐一部电影", "failed"},
		{"讲个笑话听听", "handoff"},
	}
	if len(got) != len(want) {
		t.Fatalf("reported %+v, want %d questions", got, len(want))
	}
	for i, w := range want {
		if got[i].Text != w.text || got[i].Reason != w.reason {
			t.Errorf("report %d = %+v, want %q (%s)", i, got[i], w.text, w.reason)
		}
	}
}

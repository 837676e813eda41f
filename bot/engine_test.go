package bot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/bottest"
	botredis "github.com/kefuhq/kefu/bot/redisstore"
	casesredis "github.com/kefuhq/kefu/cases/redisstore"
	"github.com/kefuhq/kefu/handoff"
	handoffredis "github.com/kefuhq/kefu/handoff/redisstore"
	"github.com/kefuhq/kefu/kb"
)

// storeKinds lists the store sets every conversation test runs on: the
// embedded stores always, Redis when KEFU_TEST_REDIS_URL names a server.
func storeKinds(t testing.TB) map[string]func(t testing.TB) *bottest.Stores {
	kinds := map[string]func(t testing.TB) *bottest.Stores{
		"embedded": func(t testing.TB) *bottest.Stores { return nil },
	}
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Log("KEFU_TEST_REDIS_URL unset: conversations run on the embedded store only")
		return kinds
	}
	kinds["redis"] = func(t testing.TB) *bottest.Stores {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		prefix := "kefutest:" + randomHex(6) + ":"
		t.Cleanup(func() {
			ctx := context.Background()
			iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
			rdb.Close()
		})
		s := botredis.New(rdb, prefix)
		return &bottest.Stores{Sessions: s, Dedupe: s, Locks: s, Tickets: handoffredis.New(rdb, prefix),
			Cases: casesredis.New(rdb, prefix)}
	}
	return kinds
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for kind, stores := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
					b := bottest.New(t, bottest.Options{Stores: stores(t)})
					bottest.RunTranscript(t, b, f)
				})
			}
		})
	}
}

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to bot.State
		want     bool
	}{
		{bot.StateBot, bot.StateQueued, true},
		{bot.StateQueued, bot.StateAgent, true},
		{bot.StateAgent, bot.StateClosed, true},
		{bot.StateClosed, bot.StateBot, true},
		{bot.StateBot, bot.StateAgent, false},
		{bot.StateAgent, bot.StateBot, false},
		{bot.StateQueued, bot.StateFlow, false},
	}
	for _, tt := range tests {
		if got := bot.CanMove(tt.from, tt.to); got != tt.want {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	s := bot.Session{State: bot.StateBot}
	if err := s.Move(bot.StateAgent); err == nil {
		t.Error("Move(bot → agent) succeeded, want an error")
	}
}

// slowSessions delays loading a session until released, to push a turn
// past its budget.
type slowSessions struct {
	bot.SessionStore
	release chan struct{}
}

func (s slowSessions) Session(ctx context.Context, openID string) (bot.Session, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return bot.Session{}, ctx.Err()
	}
	return s.SessionStore.Session(ctx, openID)
}

type recordingSender struct {
	mu   sync.Mutex
	sent chan string
}

func (r *recordingSender) SendText(_ context.Context, openID, text string) error {
	r.sent <- openID + ":" + text
	return nil
}

func TestRespondLateGoesThroughSender(t *testing.T) {
	release := make(chan struct{})
	sender := &recordingSender{sent: make(chan string, 4)}
	b := bottest.New(t, bottest.Options{
		Sender: sender,
		Budget: 50 * time.Millisecond,
		Wrap:   func(s bot.SessionStore) bot.SessionStore { return slowSessions{s, release} },
	})
	in := bot.Inbound{OpenID: "o_late", Kind: bot.KindText, Text: "海外用户怎么联系客服", MsgID: "1001", CreateTime: b.Clock.Now()}
	if r := b.Engine.Respond(context.Background(), in); !r.Empty() {
		t.Fatalf("Respond past the budget = %q, want no passive reply", r.Text)
	}
	close(release)
	select {
	case got := <-sender.sent:
		if !strings.HasPrefix(got, "o_late:") || !strings.Contains(got, "wechat.com") {
			t.Errorf("late delivery = %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the late reply was never sent")
	}
	// WeChat's retry of the same message must not get the answer twice.
	if r := b.Engine.Respond(context.Background(), in); !r.Empty() {
		t.Errorf("retry after a late reply = %q, want none", r.Text)
	}
}

// TestRespondPastTheBudgetIsLate checks that a reply ready after the
// budget is never passive, even when the turn beats Respond to the
// deadline (a 1 ns budget: every turn is late).
func TestRespondPastTheBudgetIsLate(t *testing.T) {
	const n = 100
	sender := &recordingSender{sent: make(chan string, n)}
	b := bottest.New(t, bottest.Options{Sender: sender, Budget: time.Nanosecond})
	for i := range n {
		in := bot.Inbound{OpenID: fmt.Sprintf("o_late%d", i), Kind: bot.KindText, Text: "海外用户怎么联系客服",
			MsgID: fmt.Sprint(5000 + i), CreateTime: b.Clock.Now()}
		if r := b.Engine.Respond(context.Background(), in); !r.Empty() {
			t.Fatalf("message %d: Respond with a 1 ns budget = %q, want no passive reply", i, r.Text)
		}
	}
	for i := range n {
		select {
		case <-sender.sent:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d late replies sent", i, n)
		}
	}
}

func TestRespondDuplicatesProcessedOnce(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	in := bot.Inbound{OpenID: "o_dup", Kind: bot.KindText, Text: "转人工", MsgID: "2002", CreateTime: b.Clock.Now()}
	var wg sync.WaitGroup
	replies := make([]string, 8)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = b.Engine.Respond(context.Background(), in).Text
		}()
	}
	wg.Wait()
	for i, r := range replies {
		if r != replies[0] || !strings.Contains(r, "工单号") {
			t.Errorf("reply %d = %q, want the same handoff reply as the first (%q)", i, r, replies[0])
		}
	}
	tk := b.As("o_dup").OpenTicket()
	if tk.Merged != 0 {
		t.Errorf("ticket merged %d times, want one handoff", tk.Merged)
	}
}

func TestOneUserInOrder(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := bot.Inbound{OpenID: "o_order", Kind: bot.KindText, Text: "今天中午吃什么好", MsgID: "30" + string(rune('a'+i)), CreateTime: b.Clock.Now()}
			if _, err := b.Engine.Handle(context.Background(), in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 20 failed turns with a limit of 3: handoffs at 3, then queued (silent).
	s := b.As("o_order").Session()
	if s.State != bot.StateQueued {
		t.Errorf("state = %s, want queued", s.State)
	}
	tk := b.OpenTicket()
	if len(tk.Reasons) != 1 {
		t.Errorf("reasons = %v, want one handoff", tk.Reasons)
	}
	if got := len(tk.Messages); got < 20 {
		t.Errorf("ticket has %d messages, want every one of the 20 user messages kept", got)
	}
}

// TestTwoInstancesOneRedis runs two engines on one Redis, as two kefu
// instances behind a load balancer: WeChat's retry of a message landing on
// the other instance gets the same single answer, and one user's handoff
// happens once.
func TestTwoInstancesOneRedis(t *testing.T) {
	newStores, ok := storeKinds(t)["redis"]
	if !ok {
		t.Skip("KEFU_TEST_REDIS_URL unset")
	}
	stores := newStores(t)
	a := bottest.New(t, bottest.Options{Stores: stores})
	b := bottest.New(t, bottest.Options{Stores: stores})

	in := bot.Inbound{OpenID: "o_two", Kind: bot.KindText, Text: "我要人工客服", MsgID: "4004", CreateTime: a.Clock.Now()}
	var wg sync.WaitGroup
	var ra, rb string
	wg.Add(2)
	go func() { defer wg.Done(); ra = a.Engine.Respond(context.Background(), in).Text }()
	go func() { defer wg.Done(); rb = b.Engine.Respond(context.Background(), in).Text }()
	wg.Wait()
	if ra != rb || !strings.Contains(ra, "工单号") {
		t.Fatalf("instances answered differently:\nA: %s\nB: %s", ra, rb)
	}
	tk := a.As("o_two").OpenTicket()
	if tk.Merged != 0 || len(tk.Reasons) != 1 {
		t.Errorf("ticket %s: merged=%d reasons=%v, want one handoff", tk.ID, tk.Merged, tk.Reasons)
	}
	// The next messages, spread over both instances, go to the ticket in order.
	for i, text := range []string{"第一条补充", "第二条补充", "第三条补充", "第四条补充"} {
		e := a.Engine
		if i%2 == 1 {
			e = b.Engine
		}
		msg := bot.Inbound{OpenID: "o_two", Kind: bot.KindText, Text: text, MsgID: "41" + string(rune('0'+i)), CreateTime: a.Clock.Now()}
		if r := e.Respond(context.Background(), msg); !r.Empty() {
			t.Errorf("reply while queued = %q, want none", r.Text)
		}
	}
	tk = a.OpenTicket()
	var got []string
	for _, m := range tk.Messages {
		if strings.HasSuffix(m.Text, "补充") {
			got = append(got, m.Text)
		}
	}
	if strings.Join(got, ",") != "第一条补充,第二条补充,第三条补充,第四条补充" {
		t.Errorf("transcript order = %v", got)
	}
	// Both instances answer questions the same way.
	q := func(e *bot.Engine, id string) string {
		return e.Respond(context.Background(), bot.Inbound{OpenID: "o_two_q", Kind: bot.KindText, Text: "老人打什么电话", MsgID: id}).Text
	}
	if x, y := q(a.Engine, "5001"), q(b.Engine, "5002"); x != y || !strings.Contains(x, "95017") {
		t.Errorf("answers differ: %q vs %q", x, y)
	}
}

// TestTranscriptNamesArticles checks that a ticket's transcript shows what
// the bot answered: the article and the opening of the answer.
func TestTranscriptNamesArticles(t *testing.T) {
	b := bottest.New(t, bottest.Options{}).As("o_ref")
	full := b.Say("海外用户怎么联系客服")
	b.Say("转人工")
	tk := b.OpenTicket()
	var found bool
	for _, m := range tk.Messages {
		if m.Ref == "kb:overseas-contact" {
			found = true
			if !strings.HasPrefix(full, strings.TrimSuffix(m.Text, "…")) || m.Kind != "answer" {
				t.Errorf("answer line = %+v, want the opening of %q", m, full)
			}
		}
	}
	if !found {
		t.Errorf("transcript has no answer from kb:overseas-contact: %+v", tk.Messages)
	}
}

// TestUnknownLaneStillHandsOff: an article naming a lane that is not
// configured (removed from kefu.yaml after it was saved) still hands the
// user to a person, in the default lane, instead of failing the turn.
func TestUnknownLaneStillHandsOff(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	articles, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	articles = append(articles, kb.Article{ID: "lost-lane", Question: "会员积分怎么兑换礼品", Answer: "积分商城里兑换。",
		Kind: kb.KindFAQ, Status: kb.StatusPublished, Handoff: "no-such-lane"})
	b.Router.SetIndex(kb.NewIndex(articles))
	reply := b.Say("会员积分怎么兑换礼品")
	if !b.HasOpenTicket() {
		t.Fatalf("reply %q, want a handoff", reply)
	}
	if tk := b.OpenTicket(); tk.Lane != handoff.LaneNormal {
		t.Errorf("ticket in lane %q, want the default %q", tk.Lane, handoff.LaneNormal)
	}
	if !strings.Contains(reply, "普通队列") {
		t.Errorf("reply %q does not name the lane", reply)
	}
}

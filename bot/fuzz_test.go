package bot_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/bottest"
)

// FuzzHandle sends arbitrary messages through the engine: none may fail or
// panic, and the session must stay in a known state with a ticket exactly
// when it is waiting for a person (or running a flow beside an urgent
// ticket), and a running flow exactly in StateFlow.
func FuzzHandle(f *testing.F) {
	b := bottest.New(f, bottest.Options{})
	kinds := []bot.MsgKind{bot.KindText, bot.KindVoice, bot.KindImage, bot.KindLocation, bot.KindLink, bot.KindEvent, "unknown"}
	events := []string{bot.EventSubscribe, bot.EventUnsubscribe, bot.EventClick, bot.EventScan, "VIEW", ""}
	for i, s := range []string{"转人工", "孩子偷偷充值游戏", "取消", "排队进度", "没用", "海外用户怎么联系客服", "", "\x00\xff"} {
		f.Add(uint8(i%2), uint8(i), "o_fuzz", s)
	}
	var seq int64
	f.Fuzz(func(t *testing.T, kind, event uint8, user, text string) {
		if user == "" {
			user = "o_fuzz_empty"
		}
		seq++
		in := bot.Inbound{OpenID: user, Kind: kinds[int(kind)%len(kinds)], Text: text, MsgID: strconv.FormatInt(seq, 10)}
		if in.Kind == bot.KindEvent {
			in.MsgID, in.Event, in.EventKey = "", events[int(event)%len(events)], text
		}
		if _, err := b.Engine.Handle(context.Background(), in); err != nil {
			t.Fatalf("Handle(%+v): %v", in, err)
		}
		s, err := b.Stores.Sessions.Session(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		if s.Flow != nil && s.State != bot.StateFlow {
			t.Fatalf("session in %s keeps the flow %s running", s.State, s.Flow.Flow)
		}
		switch s.State {
		case bot.StateBot, bot.StateClosed:
			if s.TicketID != "" {
				t.Fatalf("session in %s keeps ticket %s", s.State, s.TicketID)
			}
		case bot.StateQueued, bot.StateAgent:
			if _, err := b.Stores.Tickets.Ticket(context.Background(), s.TicketID); err != nil {
				t.Fatalf("session waits on ticket %q: %v", s.TicketID, err)
			}
		case bot.StateFlow:
			if s.Flow == nil {
				t.Fatal("session in flow without a running flow")
			}
			// A flow offered beside an urgent ticket runs while it waits.
			if s.TicketID != "" {
				if _, err := b.Stores.Tickets.Ticket(context.Background(), s.TicketID); err != nil {
					t.Fatalf("session in flow keeps ticket %q: %v", s.TicketID, err)
				}
			}
		default:
			t.Fatalf("session in unknown state %q", s.State)
		}
	})
}

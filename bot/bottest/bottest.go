// Package bottest drives the conversation engine in tests: a Bot with
// in-memory stores (or the stores a test supplies), Say("…") returning the
// reply, and transcript files of whole conversations.
package bottest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/sqlitestore"
	"github.com/kefuhq/kefu/cases"
	casesqlite "github.com/kefuhq/kefu/cases/sqlitestore"
	"github.com/kefuhq/kefu/handoff"
	handoffsqlite "github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/intents/flows"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
)

// Stores are the engine's stores; New uses in-memory SQLite ones unless a
// test supplies its own (Redis, say).
type Stores struct {
	Sessions bot.SessionStore
	Dedupe   bot.Deduper
	Locks    bot.Locker
	Tickets  handoff.Store
	Cases    cases.Store
}

// Options change what New builds. The zero value is the default install:
// default KB and rules, fail limit 3, in-memory stores.
type Options struct {
	Stores    *Stores
	FailLimit int
	Sender    bot.Sender
	Budget    time.Duration
	// Wrap, if set, wraps the session store (to slow it down, say).
	Wrap func(bot.SessionStore) bot.SessionStore
	// Unanswered is passed to the engine.
	Unanswered func(bot.Unanswered)
	// Backend runs the flows' actions; nil records them (a fresh install).
	Backend flows.Backend
	// NoFlows switches the self-service flows off.
	NoFlows bool
}

// Bot is an engine under test, talking as one user at a time.
type Bot struct {
	tb      testing.TB
	Engine  *bot.Engine
	Stores  Stores
	Handoff *handoff.Service
	Router  *intents.Router
	Flows   *flows.Runner // nil with NoFlows
	Cases   *cases.Service
	Clock   *clocktest.Clock
	user    string
	seq     int64
	last    bot.Inbound
}

// New builds an engine with the default knowledge base and rules.
func New(tb testing.TB, opts Options) *Bot {
	tb.Helper()
	clock := clocktest.New(time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	var st Stores
	if opts.Stores != nil {
		st = *opts.Stores
	} else {
		st = memStores(tb, clock.Now)
	}
	if opts.Wrap != nil {
		st.Sessions = opts.Wrap(st.Sessions)
	}
	articles, err := kb.Default()
	if err != nil {
		tb.Fatal(err)
	}
	router, err := intents.NewRouter(intents.Options{Rules: intents.DefaultRules()}, kb.NewIndex(articles))
	if err != nil {
		tb.Fatal(err)
	}
	lanes, err := handoff.NewLanes(handoff.DefaultLanes())
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := handoff.NewService(handoff.Options{Store: st.Tickets, Lanes: lanes, Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	caseService := cases.NewService(st.Cases, clock.Now)
	var runner *flows.Runner
	if !opts.NoFlows {
		reg, err := flows.Load("", lanes.Names())
		if err != nil {
			tb.Fatal(err)
		}
		runner, err = flows.NewRunner(reg, flows.Options{Backend: opts.Backend, Cases: caseService, Now: clock.Now})
		if err != nil {
			tb.Fatal(err)
		}
		router.SetFlows(reg)
	}
	e, err := bot.New(bot.Options{
		Sessions: st.Sessions, Dedupe: st.Dedupe, Locks: st.Locks, Router: router, Handoff: svc,
		Sender: opts.Sender, FailLimit: opts.FailLimit, Budget: opts.Budget, Now: clock.Now,
		Unanswered: opts.Unanswered, Flows: runner, Cases: caseService,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &Bot{tb: tb, Engine: e, Stores: st, Handoff: svc, Router: router, Flows: runner, Cases: caseService,
		Clock: clock, user: "o_test_user"}
}

func memStores(tb testing.TB, now func() time.Time) Stores {
	tb.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	sessions, err := sqlitestore.New(db)
	if err != nil {
		tb.Fatal(err)
	}
	tickets, err := handoffsqlite.New(db)
	if err != nil {
		tb.Fatal(err)
	}
	caseStore, err := casesqlite.New(db)
	if err != nil {
		tb.Fatal(err)
	}
	return Stores{Sessions: sessions, Dedupe: sqlitestore.NewDeduper(now), Locks: sqlitestore.NewLocker(), Tickets: tickets,
		Cases: caseStore}
}

// As switches the user the next messages come from.
func (b *Bot) As(openID string) *Bot {
	b.user = openID
	return b
}

// User is the current user's openid.
func (b *Bot) User() string { return b.user }

// Say sends a text message and returns the reply ("" for none).
func (b *Bot) Say(text string) string {
	b.tb.Helper()
	return b.Send(bot.Inbound{Kind: bot.KindText, Text: text})
}

// Send sends any message from the current user, filling in the openid, a
// fresh MsgId (messages) and the time, and returns the reply.
func (b *Bot) Send(in bot.Inbound) string {
	b.tb.Helper()
	if in.OpenID == "" {
		in.OpenID = b.user
	}
	if in.CreateTime.IsZero() {
		in.CreateTime = b.Clock.Now()
	}
	if in.Kind != bot.KindEvent && in.MsgID == "" {
		b.seq++
		in.MsgID = strconv.FormatInt(int64(6054768590064713728)+b.seq, 10)
	}
	b.last = in
	r, err := b.Engine.Handle(context.Background(), in)
	if err != nil {
		b.tb.Fatalf("Handle(%q): %v", in.Text, err)
	}
	return r.Text
}

// Retry sends the last message again, as WeChat does when it did not get
// an answer in time.
func (b *Bot) Retry() string {
	b.tb.Helper()
	r, err := b.Engine.Handle(context.Background(), b.last)
	if err != nil {
		b.tb.Fatalf("Handle(retry): %v", err)
	}
	return r.Text
}

// Session returns the current user's session.
func (b *Bot) Session() bot.Session {
	b.tb.Helper()
	s, err := b.Stores.Sessions.Session(context.Background(), b.user)
	if err != nil {
		b.tb.Fatal(err)
	}
	return s
}

// OpenTicket returns the current user's open ticket, failing the test when
// there is none.
func (b *Bot) OpenTicket() handoff.Ticket {
	b.tb.Helper()
	t, err := b.Stores.Tickets.OpenTicket(context.Background(), b.user)
	if err != nil {
		b.tb.Fatalf("open ticket of %s: %v", b.user, err)
	}
	return t
}

// HasOpenTicket reports whether the current user has an open ticket.
func (b *Bot) HasOpenTicket() bool {
	b.tb.Helper()
	_, err := b.Stores.Tickets.OpenTicket(context.Background(), b.user)
	if err != nil && !errors.Is(err, handoff.ErrNotFound) {
		b.tb.Fatal(err)
	}
	return err == nil
}

// LatestCase returns the current user's newest case; it fails the test
// when the user has none.
func (b *Bot) LatestCase() cases.Case {
	b.tb.Helper()
	list, err := b.Cases.ForUser(context.Background(), b.user, 1)
	if err != nil {
		b.tb.Fatal(err)
	}
	if len(list) == 0 {
		b.tb.Fatalf("user %s has no case", b.user)
	}
	return list[0]
}

package main

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
)

// ticketNumber matches a ticket number in a reply.
var ticketNumber = regexp.MustCompile(`T\d{8}-\d{5,}`)

// TestSessionsSurviveRestart stops kefu between a user's failed turns: the
// sessions written behind (here held back a whole minute) are written on
// Close, so the third failure after the restart still hands off.
func TestSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	n := 0
	ask := func(a *app, text string) bot.Reply {
		t.Helper()
		n++
		return a.engine.Respond(ctx, bot.Inbound{OpenID: "o_restart", Kind: bot.KindText, MsgID: strconv.Itoa(n),
			CreateTime: time.Now(), Text: text})
	}
	a, err := newTestApp(t, dir, "", "KEFU_SESSION_WRITE_DELAY=1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"啊哦呃咿呜吧", "呜啦啦噜噜"} {
		if r := ask(a, q); ticketNumber.MatchString(r.Text) {
			t.Fatalf("%s: handed off already: %s", q, r.Text)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := newTestApp(t, dir, "", "KEFU_SESSION_WRITE_DELAY=1s")
	if err != nil {
		t.Fatal(err)
	}
	if r := ask(b, "咕噜咕噜哒哒"); !ticketNumber.MatchString(r.Text) {
		t.Errorf("third failed turn after a restart: %q, want a handoff with a ticket number", r.Text)
	}
}

package bottest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
)

// RunTranscript plays a conversation file against the bot, checking every
// expectation. The format (Chinese keywords, one line each):
//
//	# a comment
//	user: o_user1              the sender of the next messages
//	> 人工客服怎么联系           a text message
//	> [voice] 文字 | [voice]    voice with / without Recognition
//	> [image] | [location] | [link] | [video]
//	> [event subscribe] | [event unsubscribe] | [event CLICK key]
//	! retry                    resend the last message (same MsgId)
//	! advance 31m              move the clock
//	< 包含: 文字                the reply contains the text
//	< 不含: 文字                the reply does not contain it
//	< 无回复                    no reply
//	= 状态: queued              the session state
//	= 失败: 2                   consecutive failed turns
//	= 工单: lane=minor reason=urgent:minor status=queued merged=0
//	= 无工单                    no open ticket
//	= 工单内容: 文字             the open ticket's transcript contains the text
//	= 流程: bill_export         the running flow ("无" for none)
//	= 案件: flow=bill_export status=submitted fields=4 ticket=yes   the user's latest case
func RunTranscript(t *testing.T, b *Bot, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var reply, said string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		op, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case strings.HasPrefix(line, "user:"):
			b.As(strings.TrimSpace(strings.TrimPrefix(line, "user:")))
		case op == ">":
			said = rest
			reply = b.Send(parseInbound(t, where, rest))
		case line == "! retry":
			reply = b.Retry()
		case op == "!" && strings.HasPrefix(rest, "advance "):
			d, err := time.ParseDuration(strings.TrimPrefix(rest, "advance "))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			b.Clock.Advance(d)
		case op == "<":
			checkReply(t, where, said, reply, rest)
		case op == "=":
			checkState(t, where, b, rest)
		default:
			t.Fatalf("%s: cannot read %q", where, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func parseInbound(t *testing.T, where, s string) bot.Inbound {
	t.Helper()
	if !strings.HasPrefix(s, "[") {
		return bot.Inbound{Kind: bot.KindText, Text: s}
	}
	tag, text, ok := strings.Cut(s[1:], "]")
	if !ok {
		t.Fatalf("%s: unclosed [ in %q", where, s)
	}
	text = strings.TrimSpace(text)
	fields := strings.Fields(tag)
	switch fields[0] {
	case "voice":
		return bot.Inbound{Kind: bot.KindVoice, Text: text, MediaID: "media_voice"}
	case "image":
		return bot.Inbound{Kind: bot.KindImage, URL: "https://example.invalid/p.jpg", MediaID: "media_img"}
	case "video":
		return bot.Inbound{Kind: bot.KindVideo, MediaID: "media_video"}
	case "location":
		return bot.Inbound{Kind: bot.KindLocation, Latitude: "22.54", Longitude: "113.93", Label: "深圳市南山区"}
	case "link":
		return bot.Inbound{Kind: bot.KindLink, URL: "https://example.invalid/a", Title: "聊天截图"}
	case "event":
		if len(fields) < 2 {
			t.Fatalf("%s: [event NAME] needs a name", where)
		}
		in := bot.Inbound{Kind: bot.KindEvent, Event: fields[1]}
		if len(fields) > 2 {
			in.EventKey = fields[2]
		}
		return in
	}
	t.Fatalf("%s: unknown message kind %q", where, fields[0])
	return bot.Inbound{}
}

func checkReply(t *testing.T, where, said, reply, want string) {
	t.Helper()
	key, val, _ := strings.Cut(want, ":")
	val = strings.TrimSpace(val)
	switch strings.TrimSpace(key) {
	case "包含":
		if !strings.Contains(reply, val) {
			t.Errorf("%s: reply to %q does not contain %q:\n%s", where, said, val, reply)
		}
	case "不含":
		if strings.Contains(reply, val) {
			t.Errorf("%s: reply to %q contains %q:\n%s", where, said, val, reply)
		}
	case "无回复":
		if reply != "" {
			t.Errorf("%s: want no reply to %q, got:\n%s", where, said, reply)
		}
	default:
		t.Fatalf("%s: unknown reply check %q", where, want)
	}
}

func checkState(t *testing.T, where string, b *Bot, want string) {
	t.Helper()
	key, val, _ := strings.Cut(want, ":")
	val = strings.TrimSpace(val)
	switch strings.TrimSpace(key) {
	case "状态":
		if got := b.Session().State; string(got) != val {
			t.Errorf("%s: state = %s, want %s", where, got, val)
		}
	case "失败":
		n, _ := strconv.Atoi(val)
		if got := b.Session().FailedTurns; got != n {
			t.Errorf("%s: failed turns = %d, want %d", where, got, n)
		}
	case "无工单":
		if b.HasOpenTicket() {
			t.Errorf("%s: want no open ticket, have %s", where, b.OpenTicket().ID)
		}
	case "工单":
		tk := b.OpenTicket()
		got := map[string]string{
			"lane": tk.Lane, "reason": strings.Join(tk.Reasons, ","), "status": string(tk.Status),
			"merged": strconv.Itoa(tk.Merged), "evidence": strconv.Itoa(len(tk.Evidence)),
		}
		for _, kv := range strings.Fields(val) {
			k, v, _ := strings.Cut(kv, "=")
			if got[k] != v {
				t.Errorf("%s: ticket %s: %s = %q, want %q", where, tk.ID, k, got[k], v)
			}
		}
	case "工单内容":
		tk := b.OpenTicket()
		var all strings.Builder
		for _, m := range tk.Messages {
			all.WriteString(m.Text + "\n")
		}
		if !strings.Contains(all.String(), val) {
			t.Errorf("%s: ticket %s's transcript does not contain %q:\n%s", where, tk.ID, val, all.String())
		}
	case "流程":
		got := "无"
		if f := b.Session().Flow; f != nil {
			got = f.Flow
		}
		if got != val {
			t.Errorf("%s: flow = %s, want %s", where, got, val)
		}
	case "案件":
		c := b.LatestCase()
		ticket := "no"
		if c.TicketID != "" {
			ticket = "yes"
		}
		got := map[string]string{"flow": c.Flow, "status": string(c.Status), "fields": strconv.Itoa(len(c.Fields)),
			"ticket": ticket}
		for _, kv := range strings.Fields(val) {
			k, v, _ := strings.Cut(kv, "=")
			if got[k] != v {
				t.Errorf("%s: case %s: %s = %q, want %q (fields %v)", where, c.ID, k, got[k], v, c.Fields)
			}
		}
	default:
		t.Fatalf("%s: unknown state check %q", where, want)
	}
}

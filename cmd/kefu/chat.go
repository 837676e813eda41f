package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/config"
)

const chatHelp = `输入问题与机器人对话（Type a message to talk to the bot）。
命令 (commands):  /image  /voice  /voice 文字  /location  /subscribe  /unsubscribe
                  /click 菜单KEY  /user ID（切换用户）  /help  /quit
`

// chat talks to the engine in the terminal: each line is a message from
// one user, and after each reply it prints what the bot decided.
func chat(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "chat-user", "the user's openid")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	logw := io.Discard // the conversation is the output; logs only when asked for
	if cfg.LogLevel == "debug" {
		logw = stderr
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, logw))
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprint(stdout, chatHelp)
	openID := *user
	seq := time.Now().UnixNano()
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for fmt.Fprint(stdout, "> "); in.Scan(); fmt.Fprint(stdout, "> ") {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		seq++
		msg := bot.Inbound{OpenID: openID, Kind: bot.KindText, Text: line, MsgID: strconv.FormatInt(seq, 10),
			CreateTime: time.Now()}
		if strings.HasPrefix(line, "/") {
			cmd, arg, _ := strings.Cut(line[1:], " ")
			switch cmd {
			case "quit", "exit":
				return nil
			case "help":
				fmt.Fprint(stdout, chatHelp)
				continue
			case "user":
				if arg != "" {
					openID = arg
				}
				fmt.Fprintf(stdout, "（当前用户 user: %s）\n", openID)
				continue
			case "image":
				msg.Kind, msg.Text, msg.URL = bot.KindImage, "", "https://example.invalid/chat.jpg"
			case "voice":
				msg.Kind, msg.Text = bot.KindVoice, arg
			case "location":
				msg.Kind, msg.Text, msg.Label, msg.Latitude, msg.Longitude = bot.KindLocation, "", "深圳市南山区", "22.54", "113.93"
			case "subscribe", "unsubscribe":
				msg.Kind, msg.Text, msg.MsgID, msg.Event = bot.KindEvent, "", "", cmd
			case "click":
				msg.Kind, msg.Text, msg.MsgID, msg.Event, msg.EventKey = bot.KindEvent, "", "", bot.EventClick, arg
			default:
				fmt.Fprintf(stdout, "未知命令 unknown command /%s\n", cmd)
				continue
			}
		}
		reply, err := a.engine.Handle(ctx, msg)
		if err != nil {
			fmt.Fprintln(stdout, "（出错 error）", err)
			continue
		}
		if reply.Empty() {
			fmt.Fprintln(stdout, "（机器人不回复 no reply）")
		} else {
			fmt.Fprintln(stdout, "客服:", reply.Text)
		}
		fmt.Fprintln(stdout, a.describe(ctx, openID))
	}
	return in.Err()
}

// describe tells where the user's session is: the state, the failed-turn
// count, and for a handoff the ticket, lane, reasons and SLA.
func (a *app) describe(ctx context.Context, openID string) string {
	s, err := a.sessions.Session(ctx, openID)
	if err != nil {
		return "  [session: " + err.Error() + "]"
	}
	desc := fmt.Sprintf("  [状态 state=%s  连续失败 failed_turns=%d/%d", s.State, s.FailedTurns, a.cfg.FailLimit)
	if s.LastArticleID != "" {
		desc += "  文章 article=" + s.LastArticleID
	}
	if s.TicketID != "" {
		t, err := a.tickets.Ticket(ctx, s.TicketID)
		if err == nil {
			desc += fmt.Sprintf("  工单 ticket=%s  通道 lane=%s  原因 reason=%s  SLA=%s",
				t.ID, t.Lane, strings.Join(t.Reasons, ","), t.SLADueAt.Local().Format("01-02 15:04"))
		}
	}
	return desc + "]"
}

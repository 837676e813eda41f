package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
)

// step is one message applied to one session.
type step struct {
	e   *Engine
	s   *Session
	in  Inbound
	now time.Time
	// effects is set once the step changed something outside the session
	// (a ticket), so it must not be replayed.
	effects bool
	// forget is set when the session is to be deleted, not saved.
	forget bool
	// remembered is set when the history changed.
	remembered bool
	outcome    string
	// carry is what a flow the user just left collected, for the ticket
	// of the handoff that follows.
	carry *handoff.Message
	// unanswered is the question the bot could not answer, if so.
	unanswered *Unanswered
}

func (st *step) run(ctx context.Context) (Reply, error) {
	if st.in.Kind == KindEvent {
		st.outcome = "event"
		return st.event(ctx)
	}
	msg := st.userMessage()
	if english, known := language(st.in.Text); known && st.s.State != StateFlow {
		// Inside a flow the answers (an e-mail, a number) say nothing of
		// the user's language: the flow keeps the one it started in.
		st.s.English = english
	}
	if st.in.Kind == KindVoice {
		st.s.Voice = true
	}
	switch st.s.State {
	case StateQueued, StateAgent:
		st.outcome = "waiting"
		return st.waiting(ctx, msg, func() (Reply, error) {
			if st.in.Text == "" {
				return st.say(msg, msgAttachment.In(st.s.English)), nil
			}
			return st.route(ctx, msg, st.e.router.RouteContext(ctx, st.in.Text))
		})
	case StateFlow:
		if st.s.Flow != nil && st.e.flows != nil {
			return st.inFlow(ctx, msg)
		}
		// No flow to continue (flows were switched off): back to the bot.
		if err := st.leaveFlow(ctx, nil); err != nil {
			return Reply{}, err
		}
	case StateClosed:
		if err := st.s.Move(StateBot); err != nil {
			return Reply{}, err
		}
	}
	if id, ok := st.offeredFlow(); ok {
		return st.startFlow(ctx, msg, id, "article", "")
	}
	if st.in.Text == "" {
		st.outcome = "attachment"
		reply := msgAttachment
		if st.in.Kind == KindVoice {
			reply = msgAskToType
		}
		return st.say(msg, reply.In(st.s.English)), nil
	}
	return st.route(ctx, msg, st.e.router.RouteContext(ctx, st.in.Text))
}

func (st *step) remember(msgs ...handoff.Message) {
	st.s.Remember(msgs...)
	st.remembered = true
}

// userMessage is the inbound message as a transcript line.
func (st *step) userMessage() handoff.Message {
	in := st.in
	m := handoff.Message{From: handoff.FromUser, Kind: string(in.Kind), Text: in.Text, At: st.now}
	switch in.Kind {
	case KindImage:
		m.Media = firstNonEmpty(in.URL, in.MediaID)
		if m.Text == "" {
			m.Text = "[图片]"
		}
	case KindVoice:
		m.Media = in.MediaID
		if m.Text == "" {
			m.Text = "[语音]"
		}
	case KindVideo, KindShortVideo:
		m.Media = in.MediaID
		m.Text = "[视频]"
	case KindLocation:
		m.Media = in.Latitude + "," + in.Longitude
		m.Text = "[位置] " + in.Label
	case KindLink:
		m.Media = in.URL
		m.Text = "[链接] " + in.Title
	case KindText:
	default:
		m.Text = "[" + string(in.Kind) + "]"
	}
	return m
}

// briefRunes is how much of a knowledge-base answer the history keeps.
const briefRunes = 60

// brief shortens text to briefRunes runes, marking the cut with "…".
func brief(text string) string {
	n := 0
	for i := range text {
		if n == briefRunes {
			return text[:i] + "…"
		}
		n++
	}
	return text
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// say remembers the exchange and returns the bot's text as the reply.
func (st *step) say(user handoff.Message, text string) Reply {
	st.remember(user, handoff.Message{From: handoff.FromBot, Kind: "text", Text: text, At: st.now})
	return Reply{Text: text}
}

// route acts on a decision in the bot state.
func (st *step) route(ctx context.Context, msg handoff.Message, d intents.Decision) (Reply, error) {
	st.outcome = string(d.Kind)
	en := st.s.English
	switch d.Kind {
	case intents.Urgent:
		prefix, flow := "", st.canStartFlow(d.Offer)
		switch {
		case d.Article != nil: // an urgent article: its answer is the first guidance
			prefix = articleAnswer(d.Article, en) + "\n\n"
		case flow:
			// the flow says what to do first
		case d.Offer == "emergency_freeze":
			prefix = msgFreezeFirst.In(en)
		case d.Rule == "fraud":
			prefix = msgFraudFirst.In(en)
		}
		if flow {
			return st.urgentFlow(ctx, msg, d, prefix)
		}
		return st.handOff(ctx, msg, d.Lane, "urgent:"+d.Lane, prefix, nil)
	case intents.UserRequest:
		return st.handOff(ctx, msg, st.defaultLane(), "user_request", "", nil)
	case intents.StartFlow:
		if st.canStartFlow(d.Flow) {
			return st.startFlow(ctx, msg, d.Flow, "trigger", "")
		}
		return st.route(ctx, msg, st.e.router.MatchContext(ctx, st.in.Text))
	case intents.NotHelpful:
		return st.fail(ctx, msg, msgNotHelpful.In(en))
	case intents.Greeting:
		return st.say(msg, msgWelcome.In(en)), nil
	case intents.Thanks:
		st.s.FailedTurns = 0
		if d.Rule == intents.RuleAck {
			return st.say(msg, msgAck.In(en)), nil
		}
		return st.say(msg, msgThanks.In(en)), nil
	case intents.Answer, intents.Boundary:
		st.s.FailedTurns = 0
		st.s.LastArticleID = d.Article.ID
		answer := articleAnswer(d.Article, en)
		// The history keeps which article answered and how it began: the
		// agent can open the article, and every saved session stays small.
		if d.Article.Flow != "" && st.canStartFlow(d.Article.Flow) {
			answer += st.flowOffer(d.Article.Flow)
		}
		st.remember(msg, handoff.Message{From: handoff.FromBot, Kind: "answer", Text: brief(answer),
			Ref: "kb:" + d.Article.ID, At: st.now})
		return Reply{Text: answer}, nil
	default:
		st.unanswered = &Unanswered{Text: st.in.Text, Reason: "failed", Score: d.Score}
		if d.Article != nil {
			st.unanswered.ArticleID = d.Article.ID
		}
		fallback := msgFallback
		if st.s.FailedTurns+1 == st.e.failLimit-1 {
			fallback = msgFallbackLast
		}
		return st.fail(ctx, msg, fallback.In(en))
	}
}

// articleAnswer is the answer of a in the user's language.
func articleAnswer(a *kb.Article, en bool) string {
	if en && a.AnswerEN != "" {
		return a.AnswerEN
	}
	return a.Answer
}

// defaultLane is the lane of a non-urgent handoff: overseas for English
// speakers, care for voice users, normal for everyone else.
func (st *step) defaultLane() string {
	switch {
	case st.s.English:
		return handoff.LaneOverseas
	case st.s.Voice:
		return handoff.LaneCare
	}
	return handoff.LaneNormal
}

// fail counts a failed turn and hands off on the last one.
func (st *step) fail(ctx context.Context, msg handoff.Message, reply string) (Reply, error) {
	st.s.FailedTurns++
	st.s.LastArticleID = ""
	if st.s.FailedTurns >= st.e.failLimit {
		st.outcome = "failed_turns"
		if st.unanswered != nil {
			st.unanswered.Reason = "handoff"
		}
		return st.handOff(ctx, msg, st.defaultLane(), "failed_turns", "", nil)
	}
	return st.say(msg, reply), nil
}

// handOff queues the session for a person and tells the user the lane, the
// expected wait and the ticket number.
// data, if not nil, is added to the ticket after the conversation (what a
// flow collected).
func (st *step) handOff(ctx context.Context, msg handoff.Message, lane, reason, prefix string, data *handoff.Message) (Reply, error) {
	st.remember(msg)
	st.effects = true
	transcript := st.s.History
	if data == nil {
		data = st.carry
	}
	if data != nil {
		transcript = append(transcript[:len(transcript):len(transcript)], *data)
	}
	req := handoff.Request{OpenID: st.s.OpenID, Lane: lane, Reason: reason, Transcript: transcript}
	out, err := st.e.handoff.Handoff(ctx, req)
	if errors.Is(err, handoff.ErrUnknownLane) && lane != st.defaultLane() {
		// An article may name a lane that is no longer configured: the
		// user still reaches a person, in the default lane.
		st.e.log.Warn("handoff lane not configured, using the default lane", "lane", lane, "reason", reason)
		req.Lane = st.defaultLane()
		out, err = st.e.handoff.Handoff(ctx, req)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("bot: hand off: %w", err)
	}
	en := st.s.English
	st.s.FailedTurns = 0
	if out.Limited {
		if err := st.leaveFlow(ctx, nil); err != nil {
			return Reply{}, err
		}
		text := prefix + fmt.Sprintf(msgLimited.In(en), out.Ticket.ID, st.statusText(out.Ticket.Status))
		st.remember(handoff.Message{From: handoff.FromBot, Kind: "text", Text: text, At: st.now})
		return Reply{Text: text}, nil
	}
	st.s.Flow = nil
	if err := st.s.Move(StateQueued); err != nil {
		return Reply{}, err
	}
	st.s.TicketID = out.Ticket.ID
	st.s.History = nil // it is in the ticket now
	laneTitle, wait := st.laneTitle(out.Ticket.Lane), st.waitText(out.Wait)
	var text string
	if out.Merged {
		text = prefix + fmt.Sprintf(msgMerged.In(en), out.Ticket.ID, laneTitle, out.Position, wait)
	} else {
		text = prefix + fmt.Sprintf(msgHandoff.In(en), laneTitle, out.Ticket.ID, out.Position, wait)
	}
	// The ticket's transcript already says, in a system line, where it
	// went: the reply is not written to it again (one transaction less per
	// handoff).
	return Reply{Text: text}, nil
}

// waiting handles a message while the session is queued or with an agent:
// the bot stays silent, the message goes to the ticket. Urgent content still
// escalates; a queued user may cancel or ask for their position. When the
// ticket was closed meanwhile, the session returns to the bot and resume
// handles the message.
func (st *step) waiting(ctx context.Context, msg handoff.Message, resume func() (Reply, error)) (Reply, error) {
	t, err := st.e.handoff.Store().TicketHeader(ctx, st.s.TicketID)
	if errors.Is(err, handoff.ErrNotFound) || err == nil && !t.Status.Open() {
		st.s.State, st.s.TicketID = StateBot, ""
		return resume()
	}
	if err != nil {
		return Reply{}, fmt.Errorf("bot: ticket %s: %w", st.s.TicketID, err)
	}
	// Follow the ticket: an agent took it, or it went back to the queue.
	if t.Status == handoff.StatusAssigned {
		st.s.State = StateAgent
	} else {
		st.s.State = StateQueued
	}
	en, text := st.s.English, st.in.Text
	if text != "" {
		if d, ok := st.e.router.CheckUrgent(text); ok && st.e.handoff.Lanes().Before(d.Lane, t.Lane) {
			st.effects = true
			out, err := st.e.handoff.Handoff(ctx, handoff.Request{OpenID: st.s.OpenID, Lane: d.Lane,
				Reason: "urgent:" + d.Lane, Transcript: []handoff.Message{msg}})
			if err != nil {
				return Reply{}, fmt.Errorf("bot: escalate: %w", err)
			}
			// Usually the same ticket, merged; a new one if this one closed
			// in between.
			st.s.TicketID = out.Ticket.ID
			if out.Ticket.Status == handoff.StatusAssigned {
				st.s.State = StateAgent
			} else {
				st.s.State = StateQueued
			}
			st.outcome = "escalated"
			prefix := ""
			if d.Offer == "emergency_freeze" {
				prefix = msgFreezeFirst.In(en)
			}
			return Reply{Text: prefix + fmt.Sprintf(msgEscalated.In(en), out.Ticket.ID,
				st.laneTitle(out.Ticket.Lane), st.waitText(out.Wait))}, nil
		}
		if st.s.State == StateQueued && st.e.router.IsCancel(text) {
			st.effects = true
			if err := st.e.handoff.Append(ctx, t.ID, msg); err != nil {
				return Reply{}, err
			}
			if _, err := st.e.handoff.Close(ctx, t.ID, "user_cancelled"); err != nil {
				return Reply{}, err
			}
			st.s.State, st.s.TicketID = StateBot, ""
			st.outcome = "cancelled"
			return Reply{Text: fmt.Sprintf(msgCancelled.In(en), t.ID)}, nil
		}
		if st.e.router.IsQueueStatus(text) {
			st.effects = true
			if err := st.e.handoff.Append(ctx, t.ID, msg); err != nil {
				return Reply{}, err
			}
			if st.s.State == StateAgent {
				return Reply{Text: fmt.Sprintf(msgWithAgent.In(en), t.ID)}, nil
			}
			pos, err := st.e.handoff.Position(ctx, t)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf(msgPosition.In(en), t.ID, st.laneTitle(t.Lane), pos,
				st.waitText(t.SLADueAt.Sub(st.now)))}, nil
		}
	}
	st.effects = true
	if err := st.e.handoff.Append(ctx, t.ID, msg); err != nil {
		return Reply{}, err
	}
	if handoff.IsEvidence(msg) {
		return Reply{Text: fmt.Sprintf(msgEvidenceKept.In(en), t.ID)}, nil
	}
	return Reply{}, nil
}

// event handles subscribe, unsubscribe and menu clicks; other events get
// no reply.
func (st *step) event(ctx context.Context) (Reply, error) {
	switch st.in.Event {
	case EventSubscribe:
		if st.s.State == StateClosed {
			st.s.State = StateBot
		}
		return Reply{Text: msgWelcome.ZH}, nil
	case EventUnsubscribe:
		// The user is gone: nobody can answer them any more (45015), so
		// the open ticket is closed, and the session forgotten.
		st.forget = true
		if st.s.TicketID != "" {
			st.effects = true
			note := handoff.Message{From: handoff.FromSystem, Kind: "unsubscribe", Text: "用户已取消关注公众号", At: st.now}
			err := st.e.handoff.Append(ctx, st.s.TicketID, note)
			if err == nil {
				_, err = st.e.handoff.Close(ctx, st.s.TicketID, "unsubscribed")
			}
			if err != nil && !errors.Is(err, handoff.ErrNotFound) {
				return Reply{}, err
			}
		}
		return Reply{}, nil
	case EventClick:
		key := strings.TrimSpace(st.in.EventKey)
		msg := handoff.Message{From: handoff.FromUser, Kind: "click", Text: "[菜单] " + key, At: st.now}
		resume := func() (Reply, error) {
			if key == "" {
				return Reply{}, nil
			}
			return st.route(ctx, msg, st.e.router.RouteKey(key))
		}
		if st.s.State == StateFlow {
			// A menu click leaves the flow (it may start another).
			if err := st.leaveFlow(ctx, nil); err != nil {
				return Reply{}, err
			}
		}
		switch st.s.State {
		case StateQueued, StateAgent:
			return st.waiting(ctx, msg, resume)
		}
		st.s.State = StateBot
		return resume()
	}
	return Reply{}, nil
}

func (st *step) laneTitle(name string) string {
	l, err := st.e.handoff.Lanes().Lane(name)
	if err != nil {
		return name
	}
	if st.s.English {
		return l.TitleEN
	}
	return l.Title
}

func (st *step) statusText(s handoff.Status) string {
	if st.s.English {
		return string(s)
	}
	switch s {
	case handoff.StatusQueued:
		return "排队中"
	case handoff.StatusAssigned:
		return "处理中"
	case handoff.StatusClosed:
		return "已处理"
	}
	return string(s)
}

// waitText renders an expected wait in the user's language: minutes below
// two hours, hours below three days, days above.
func (st *step) waitText(d time.Duration) string {
	en := st.s.English
	switch {
	case d < time.Minute:
		return pick(en, "1 分钟", "1 minute")
	case d < 2*time.Hour:
		m := int((d + time.Minute - 1) / time.Minute)
		return pick(en, fmt.Sprintf("%d 分钟", m), fmt.Sprintf("%d minutes", m))
	case d <= 72*time.Hour:
		h := int((d + time.Hour - 1) / time.Hour)
		return pick(en, fmt.Sprintf("%d 小时", h), fmt.Sprintf("%d hours", h))
	}
	days := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	return pick(en, fmt.Sprintf("%d 天", days), fmt.Sprintf("%d days", days))
}

func pick(en bool, zh, english string) string {
	if en {
		return english
	}
	return zh
}

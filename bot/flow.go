package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/intents/flows"
	"github.com/kefuhq/kefu/internal/logid"
)

// CaseTickets ties a case to the ticket of the handoff that followed it.
type CaseTickets interface {
	AttachTicket(ctx context.Context, id, ticketID string) error
}

// startFlow begins a self-service flow. msg is the message that started it
// (its text may already answer the first question).
func (st *step) startFlow(ctx context.Context, msg handoff.Message, id, origin, prefix string) (Reply, error) {
	st.outcome = "flow_start"
	t, err := st.e.flows.Start(ctx, id, st.flowUser(), origin, flows.Answer{Text: st.in.Text})
	if err != nil {
		return Reply{}, err
	}
	if st.s.State != StateFlow {
		if err := st.s.Move(StateFlow); err != nil {
			return Reply{}, err
		}
	}
	st.s.FailedTurns = 0
	st.s.LastArticleID = ""
	return st.applyFlow(ctx, msg, t, prefix)
}

// inFlow handles a message while a flow runs: urgent content and a request
// for a person leave the flow (what it collected goes with the user);
// anything else is the flow's.
func (st *step) inFlow(ctx context.Context, msg handoff.Message) (Reply, error) {
	st.outcome = "flow"
	fs := st.s.Flow
	if st.s.TicketID != "" {
		// An urgent flow runs beside a ticket already queued: when an
		// agent has taken it, the bot stops talking.
		t, err := st.e.handoff.Store().TicketHeader(ctx, st.s.TicketID)
		switch {
		case errors.Is(err, handoff.ErrNotFound) || err == nil && !t.Status.Open():
			st.s.TicketID = ""
		case err != nil:
			return Reply{}, fmt.Errorf("bot: ticket %s: %w", st.s.TicketID, err)
		case t.Status == handoff.StatusAssigned:
			st.outcome = "flow_taken"
			if err := st.leaveFlow(ctx, nil); err != nil {
				return Reply{}, err
			}
			st.s.State = StateAgent
			st.effects = true
			return Reply{}, st.e.handoff.Append(ctx, st.s.TicketID, msg)
		}
	}
	if text := st.in.Text; text != "" {
		if d, ok := st.e.router.CheckUrgent(text); ok && !st.flowHandles(fs, d) {
			st.carry = st.flowData(fs.Flow, nil, "") // for the urgent ticket
			if err := st.leaveFlow(ctx, nil); err != nil {
				return Reply{}, err
			}
			return st.route(ctx, msg, d)
		}
		// Only a short message asks for a person: a description such as
		// "昨天联系的人工客服态度很差…" answers the flow's question.
		if utf8.RuneCountInString(text) <= maxRequestRunes && st.e.router.IsUserRequest(text) {
			lane := st.defaultLane()
			if fl, ok := st.e.flows.Registry().Flow(fs.Flow); ok && fl.Lane != handoff.LaneNormal {
				lane = fl.Lane
			}
			st.outcome = "user_request"
			return st.handOff(ctx, msg, lane, "user_request", "", st.flowData(fs.Flow, nil, ""))
		}
	}
	answer := flows.Answer{Text: st.in.Text, Media: msg.Media}
	if d, ok := st.flowQuestion(ctx, fs, answer); ok {
		return st.answerInFlow(msg, fs, d), nil
	}
	t, err := st.e.flows.Continue(ctx, *fs, st.flowUser(), answer)
	if err != nil {
		return Reply{}, err
	}
	if t.End == flows.EndExpired {
		// The flow is over; the message is routed as a new question.
		st.outcome = "flow_expired"
		if err := st.leaveFlow(ctx, nil); err != nil {
			return Reply{}, err
		}
		// Beside a ticket, the message goes to it (st.run waits with the
		// ticket); else the bot answers it.
		r, err := st.run(ctx)
		if err != nil {
			return Reply{}, err
		}
		text := t.Reply
		switch {
		case r.Text != "":
			text += "\n\n" + r.Text
		case st.s.State == StateQueued:
			text += "\n\n" + fmt.Sprintf(msgStillQueued.In(st.s.English), st.s.TicketID)
		}
		r.Text = text
		return r, nil
	}
	if t.Invalid && st.s.TicketID != "" && handoff.IsEvidence(msg) {
		// A picture that answers no question, beside a queued ticket: it
		// is evidence for the agent, not a wrong answer.
		st.effects = true
		if err := st.e.handoff.Append(ctx, st.s.TicketID, msg); err != nil {
			return Reply{}, err
		}
		st.outcome = "flow_evidence"
		return st.say(msg, fmt.Sprintf(msgEvidenceKept.In(st.s.English), st.s.TicketID)+"\n\n"+
			st.e.flows.Prompt(*fs, st.flowUser())), nil
	}
	return st.applyFlow(ctx, msg, t, "")
}

// maxRequestRunes is the longest message inside a flow that may be a
// request for a person.
const maxRequestRunes = 12

// flowQuestion returns the knowledge base's answer when a message sent
// inside a flow is a question rather than the answer the flow waits for:
// it is not surely the answer (see flows.Runner.IsAnswer), it reads as a
// question, and an article answers it confidently. A description the flow
// asks for takes any text long enough for it, even one that reads as a
// question.
func (st *step) flowQuestion(ctx context.Context, fs *flows.State, a flows.Answer) (intents.Decision, bool) {
	if a.Text == "" || !st.e.router.IsQuestion(a.Text) {
		return intents.Decision{}, false
	}
	if _, expired := st.e.flows.Expired(*fs, st.flowUser()); expired || st.e.flows.IsAnswer(*fs, a) {
		return intents.Decision{}, false // expired: the message is routed as usual
	}
	d := st.e.router.MatchContext(ctx, a.Text)
	return d, d.Kind == intents.Answer || d.Kind == intents.Boundary
}

// answerInFlow answers a question asked inside a flow and asks the flow's
// question again; the flow neither moves nor counts a wrong answer.
func (st *step) answerInFlow(msg handoff.Message, fs *flows.State, d intents.Decision) Reply {
	st.outcome = "flow_question"
	if english, known := language(st.in.Text); known {
		// Unlike a step's answer, a question says which language the user
		// reads: the answer, and the flow from here on, use it.
		st.s.English = english
	}
	en := st.s.English
	answer := articleAnswer(d.Article, en)
	next := fs.Clone()
	next.UpdatedAt = st.now // the user is here: the flow must not expire under them
	st.s.Flow = next
	title := fs.Flow
	if fl, ok := st.e.flows.Registry().Flow(fs.Flow); ok {
		title = fl.TitleIn(en)
	}
	resume := fmt.Sprintf(msgFlowResume.In(en), title) + "\n" + st.e.flows.Prompt(*fs, st.flowUser())
	st.remember(msg,
		handoff.Message{From: handoff.FromBot, Kind: "answer", Text: brief(answer), Ref: "kb:" + d.Article.ID, At: st.now},
		handoff.Message{From: handoff.FromBot, Kind: "text", Text: resume, At: st.now})
	return Reply{Text: answer + "\n\n" + resume}
}

// flowHandles reports whether an urgent decision is what the running flow
// is already dealing with (号被盗 typed inside the emergency freeze).
func (st *step) flowHandles(fs *flows.State, d intents.Decision) bool {
	if d.Offer == fs.Flow {
		return true
	}
	fl, ok := st.e.flows.Registry().Flow(fs.Flow)
	return ok && fl.Lane == d.Lane
}

// applyFlow does what a flow turn asks: keep its state, hand off, or
// return to the bot.
func (st *step) applyFlow(ctx context.Context, msg handoff.Message, t flows.Turn, prefix string) (Reply, error) {
	en := st.s.English
	id := ""
	if st.s.Flow != nil {
		id = st.s.Flow.Flow
	}
	if t.State != nil {
		id = t.State.Flow
	}
	switch {
	case t.Failed:
		st.outcome = "flow_invalid"
		st.s.FailedTurns++
		if st.s.FailedTurns >= st.e.failLimit {
			fl, _ := st.e.flows.Registry().Flow(id)
			lane := st.defaultLane()
			if fl != nil {
				lane = fl.Lane
			}
			st.outcome = "flow_failed"
			return st.handOff(ctx, msg, lane, "flow:"+id, "", st.flowData(id, nil, ""))
		}
	case t.Invalid:
		st.outcome = "flow_invalid"
	default:
		st.s.FailedTurns = 0
	}
	if t.Acted {
		st.effects = true // the backend acted: a save conflict must not run the turn again
	}
	if t.State != nil {
		st.s.Flow = t.State
		return st.say(msg, prefix+t.Reply), nil
	}
	caseID := ""
	if t.Case != nil {
		caseID = t.Case.ID
		st.effects = true
	}
	if t.End == flows.EndHandoff {
		st.outcome = "flow_handoff"
		data := st.flowData(id, t.Fields, caseID)
		if st.s.TicketID != "" { // an urgent flow beside its ticket: the ticket gets the data
			if err := st.leaveFlow(ctx, data); err != nil {
				return Reply{}, err
			}
			if caseID != "" {
				st.attachCase(ctx, caseID)
			}
			return st.say(msg, prefix+t.Reply+"\n\n"+fmt.Sprintf(msgStillQueued.In(en), st.s.TicketID)), nil
		}
		r, err := st.handOff(ctx, msg, t.Lane, t.Reason, prefix+t.Reply+"\n\n", data)
		if err == nil && caseID != "" && st.s.TicketID != "" {
			st.attachCase(ctx, caseID)
		}
		return r, err
	}
	st.outcome = "flow_" + string(t.End)
	if err := st.leaveFlow(ctx, st.flowData(id, t.Fields, caseID)); err != nil {
		return Reply{}, err
	}
	if caseID != "" && st.s.TicketID != "" {
		st.attachCase(ctx, caseID)
	}
	text := prefix + t.Reply
	if st.s.TicketID != "" && t.End == flows.EndCancelled {
		text += "\n\n" + fmt.Sprintf(msgStillQueued.In(en), st.s.TicketID)
	}
	return st.say(msg, text), nil
}

// leaveFlow ends the running flow: the session returns to its ticket when
// an urgent flow ran beside one (with data, what the flow collected, added
// to it), else to the bot.
func (st *step) leaveFlow(ctx context.Context, data *handoff.Message) error {
	st.s.Flow = nil
	if st.s.TicketID == "" {
		if st.s.State == StateFlow {
			return st.s.Move(StateBot)
		}
		return nil
	}
	st.s.State = StateQueued
	if data == nil {
		return nil
	}
	st.effects = true
	return st.e.handoff.Append(ctx, st.s.TicketID, *data)
}

// attachCase records the session's ticket on the case; a failure is
// logged (the case and the ticket both exist, and name each other in the
// transcript).
func (st *step) attachCase(ctx context.Context, caseID string) {
	if st.e.caseTickets == nil {
		return
	}
	if err := st.e.caseTickets.AttachTicket(ctx, caseID, st.s.TicketID); err != nil {
		st.e.log.Error("case: attach ticket", "case", caseID, "err", err)
	}
}

// flowData is the system line that carries what a flow collected to the
// ticket; nil when it collected nothing.
func (st *step) flowData(id string, fields []cases.Field, caseID string) *handoff.Message {
	if fields == nil && st.s.Flow != nil {
		fields = st.e.flows.Collected(*st.s.Flow)
	}
	if len(fields) == 0 && caseID == "" {
		return nil
	}
	title := id
	if fl, ok := st.e.flows.Registry().Flow(id); ok {
		title = fl.Title
	}
	var b strings.Builder
	fmt.Fprintf(&b, "自助流程「%s」收集的信息：", title)
	for _, f := range fields {
		fmt.Fprintf(&b, "\n%s：%s", f.Label, f.Value)
	}
	if caseID != "" {
		fmt.Fprintf(&b, "\n案件号：%s", caseID)
	}
	return &handoff.Message{From: handoff.FromSystem, Kind: "flow_data", Text: b.String(), Ref: "flow:" + id, At: st.now}
}

func (st *step) flowUser() flows.User {
	return flows.User{OpenID: st.s.OpenID, English: st.s.English}
}

// offeredFlow returns the flow the last answer offered, when the user
// accepts it (办理).
func (st *step) offeredFlow() (string, bool) {
	if st.e.flows == nil || st.s.LastArticleID == "" || !isAccept(st.in.Text) {
		return "", false
	}
	a, ok := st.e.router.Index().Article(st.s.LastArticleID)
	if !ok || a.Flow == "" {
		return "", false
	}
	_, ok = st.e.flows.Registry().Flow(a.Flow)
	return a.Flow, ok
}

// acceptWords take up a flow an answer offered.
var acceptWords = map[string]bool{"办理": true, "开始办理": true, "我要办理": true, "立即办理": true,
	"马上办理": true, "现在办理": true, "申请": true, "开始": true, "start": true, "apply": true}

func isAccept(text string) bool {
	return acceptWords[strings.TrimRight(intents.Normalize(text), "。.!！~")]
}

// flowOffer is the line under an answer whose article has a flow.
func (st *step) flowOffer(id string) string {
	fl, ok := st.e.flows.Registry().Flow(id)
	if !ok {
		return ""
	}
	return fmt.Sprintf(msgFlowOffer.In(st.s.English), fl.TitleIn(st.s.English))
}

// canStartFlow reports whether flow id exists.
func (st *step) canStartFlow(id string) bool {
	if st.e.flows == nil || id == "" {
		return false
	}
	_, ok := st.e.flows.Registry().Flow(id)
	return ok
}

// urgentFlow is "act, then escalate" (DESIGN.md §1): the ticket is queued
// at once, so its SLA runs, and the flow the urgent rule offers (the
// emergency freeze) acts while the user waits. When an agent takes the
// ticket, the flow stops.
func (st *step) urgentFlow(ctx context.Context, msg handoff.Message, d intents.Decision, prefix string) (Reply, error) {
	r, err := st.handOff(ctx, msg, d.Lane, "urgent:"+d.Lane, prefix, nil)
	if err != nil || st.s.State != StateQueued {
		return r, err // the repeat limit: no flow either
	}
	t, err := st.e.flows.Start(ctx, d.Offer, st.flowUser(), "urgent:"+d.Lane, flows.Answer{})
	if err != nil || t.State == nil {
		// The ticket is queued; the flow is a bonus that must not undo it.
		st.e.log.Error("urgent flow did not start", "flow", d.Offer, "err", err)
		return r, nil
	}
	st.s.State, st.s.Flow = StateFlow, t.State
	text := r.Text + "\n\n" + t.Reply
	st.remember(handoff.Message{From: handoff.FromBot, Kind: "text", Text: t.Reply, At: st.now})
	return Reply{Text: text}, nil
}

// ExpireIdleFlows ends the flows that have waited longer than the flow
// runner's idle time for the user's answer, up to limit of them, and tells
// each user so through the Sender (the user wrote within the last 48 h,
// so the customer-service window is open). A flow beside a queued ticket
// ends and the ticket stays. Each user is handled under their lock, and a
// flow that moved on meanwhile is left alone, so several instances may
// sweep at once. It returns how many flows it ended.
func (e *Engine) ExpireIdleFlows(ctx context.Context, limit int) (int, error) {
	if e.flows == nil {
		return 0, nil
	}
	ids, err := e.sessions.IdleFlows(ctx, e.now().Add(-e.flows.Idle()), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ended, err := e.expireFlow(ctx, id)
		if err != nil {
			e.log.Error("flow expiry failed", "open_id", logid.Hash(id), "err", e.scrub(err, id))
			continue
		}
		if ended {
			n++
		}
	}
	return n, nil
}

// expireFlow ends the user's flow if it is still idle.
func (e *Engine) expireFlow(ctx context.Context, openID string) (bool, error) {
	unlock, err := e.locks.Lock(ctx, "user:"+openID, e.lockTTL)
	if err != nil {
		return false, err
	}
	defer unlock()
	s, err := e.sessions.Session(ctx, openID)
	if err != nil || s.Flow == nil {
		return false, err
	}
	text, expired := e.flows.Expired(*s.Flow, flows.User{OpenID: openID, English: s.English})
	if !expired {
		return false, nil
	}
	st := &step{e: e, s: &s, now: e.now()}
	if err := st.leaveFlow(ctx, nil); err != nil {
		return false, err
	}
	if s.TicketID != "" {
		text += "\n\n" + fmt.Sprintf(msgStillQueued.In(s.English), s.TicketID)
	}
	st.remember(handoff.Message{From: handoff.FromBot, Kind: "text", Text: text, At: st.now})
	s.UpdatedAt = st.now
	if err := e.sessions.SaveSession(ctx, &s); err != nil {
		return false, err
	}
	e.observe("flow_expired", 0)
	_ = e.deliverLate(ctx, openID, Reply{Text: text}) // logged; the flow has ended all the same
	return true, nil
}

package flows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/intents"
)

// State is where one user is in a flow. The bot keeps it in the session,
// so it lives in whichever store the session does.
type State struct {
	Flow string `json:"flow"`
	// Step is the ask or confirm step waiting for the user's answer.
	Step string `json:"step"`
	// Run identifies this run of the flow: the backend's idempotency keys
	// derive from it, so a retried message never acts twice.
	Run    string            `json:"run"`
	Values map[string]string `json:"values,omitempty"`
	// Trail lists the questions answered, oldest first, for 上一步.
	Trail []string `json:"trail,omitempty"`
	// Invalid counts consecutive invalid answers to Step.
	Invalid int `json:"invalid,omitempty"`
	// Refusals counts the backend's refusals in this run.
	Refusals int `json:"refusals,omitempty"`
	// Origin is how the flow started: "menu", "trigger", "article", or
	// "urgent:<lane>" when an urgent rule offered it.
	Origin    string    `json:"origin,omitempty"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Clone returns a copy of st that shares nothing with it.
func (st *State) Clone() *State {
	c := *st
	c.Values = cloneValues(st.Values)
	c.Trail = append([]string(nil), st.Trail...)
	return &c
}

// End is how a flow ended.
type End string

// Ends of a flow; "" while it runs.
const (
	EndDone      End = "done"      // an end step
	EndHandoff   End = "handoff"   // a handoff step, or the backend refused twice
	EndCancelled End = "cancelled" // the user left (取消)
	EndExpired   End = "expired"   // idle too long
)

// Turn is what one message did to a flow.
type Turn struct {
	// Reply is what to say.
	Reply string
	// State is the flow's state after the message; nil when it ended.
	State *State
	End   End
	// Lane and Reason say where to queue the user when End is
	// EndHandoff (Reason "flow:<id>").
	Lane, Reason string
	// Fields is what the flow collected, labelled, for the ticket or the
	// case (ID numbers masked).
	Fields []cases.Field
	// Case is the case the flow opened, if any.
	Case *cases.Case
	// Invalid is set when the answer was refused; Failed when it was the
	// second refusal in a row or later, which counts as a failed turn and
	// offers a person.
	Invalid, Failed bool
	// Acted is set when the turn called the business backend.
	Acted bool
}

// User is who is in the flow.
type User struct {
	OpenID  string
	English bool
}

// Cases is what the runner needs of the cases service.
type Cases interface {
	Open(ctx context.Context, n cases.NewCase) (cases.Case, error)
	UserCase(ctx context.Context, openID, id string) (cases.Case, error)
	ForUser(ctx context.Context, openID string, limit int) ([]cases.Case, error)
}

// Options configure a Runner.
type Options struct {
	// Backend runs actions; nil records each submission as a case
	// (Recorder).
	Backend Backend
	// Cases opens cases and answers case-status questions; required.
	Cases Cases
	// Idle is how long a flow waits for an answer before it expires;
	// 0 = 30 min.
	Idle   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Runner runs flows. It is safe for concurrent use; SetRegistry swaps the
// definitions (a reload) while flows run: a running flow whose definition
// disappeared ends with an apology.
type Runner struct {
	reg     atomic.Pointer[Registry]
	backend Backend
	cases   Cases
	idle    time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// NewRunner returns a Runner over the flows of reg.
func NewRunner(reg *Registry, opts Options) (*Runner, error) {
	if reg == nil || opts.Cases == nil {
		return nil, errors.New("flows: a registry and a cases service are required")
	}
	r := &Runner{backend: opts.Backend, cases: opts.Cases, idle: opts.Idle, now: opts.Now, log: opts.Logger}
	if r.backend == nil {
		r.backend = Recorder{}
	}
	if r.idle == 0 {
		r.idle = 30 * time.Minute
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.reg.Store(reg)
	return r, nil
}

// SetRegistry replaces the flow definitions.
func (r *Runner) SetRegistry(reg *Registry) { r.reg.Store(reg) }

// Registry returns the flow definitions in use.
func (r *Runner) Registry() *Registry { return r.reg.Load() }

// maxStepsPerTurn bounds the steps one message may run through (a
// definition looping through message steps must not hang a turn).
const maxStepsPerTurn = 64

// Start begins flow id for u. origin says how it started (see
// State.Origin). prefill is the message that started it: when the flow's
// first question accepts it (a case number in "查询进度 KF…", a choice
// named in the request), it is taken as the answer.
func (r *Runner) Start(ctx context.Context, id string, u User, origin string, prefill Answer) (Turn, error) {
	fl, ok := r.Registry().Flow(id)
	if !ok {
		return Turn{}, fmt.Errorf("flows: no flow %q", id)
	}
	now := r.now()
	st := &State{Flow: id, Run: newRun(), Values: map[string]string{}, Origin: origin, StartedAt: now, UpdatedAt: now}
	t := &turn{r: r, fl: fl, st: st, u: u, now: now}
	if err := t.advance(ctx, fl.Steps[0].ID); err != nil {
		return Turn{}, err
	}
	if t.out.End == "" && (prefill.Text != "" || prefill.Media != "") {
		if s, _ := fl.Step(st.Step); s.Kind == KindAsk && prefillable(s.Input.Type) {
			if v, ok := s.Input.Check(prefill, now); ok {
				t.said = t.said[:t.asked] // the question is answered already
				if err := t.accept(ctx, s, v); err != nil {
					return Turn{}, err
				}
			}
		}
	}
	return t.finish(), nil
}

// prefillable reports whether a question may take the message that started
// its flow as the answer: not free text or a picture, which any message
// would be.
func prefillable(t InputType) bool {
	return t != InputText && t != InputImage
}

// Continue applies the user's answer to a running flow.
func (r *Runner) Continue(ctx context.Context, st State, u User, a Answer) (Turn, error) {
	now := r.now()
	fl, ok := r.Registry().Flow(st.Flow)
	if !ok {
		return Turn{End: EndCancelled, Reply: msgFlowGone.In(u.English)}, nil
	}
	title := fl.TitleIn(u.English)
	if text, expired := r.Expired(st, u); expired {
		return Turn{End: EndExpired, Reply: text}, nil
	}
	s, ok := fl.Step(st.Step)
	if !ok || s.Kind != KindAsk && s.Kind != KindConfirm {
		return Turn{End: EndCancelled, Reply: msgFlowGone.In(u.English)}, nil
	}
	st = *st.Clone()
	st.UpdatedAt = now
	t := &turn{r: r, fl: fl, st: &st, u: u, now: now}
	cmd := command(a.Text)
	switch {
	case cmd == cmdCancel:
		t.out.End = EndCancelled
		t.say(fmt.Sprintf(msgCancelled.In(u.English), title))
		return t.finish(), nil
	case cmd == cmdBack:
		return t.back(s), nil
	case cmd == cmdSkip && s.Kind == KindAsk && s.Optional:
		return t.then(t.accept(ctx, s, ""))
	}
	switch s.Kind {
	case KindConfirm:
		switch yesNo(a.Text) {
		case 1:
			st.Invalid = 0
			st.Trail = append(st.Trail, s.ID)
			return t.then(t.advance(ctx, t.fl.after(s)))
		case -1:
			st.Invalid = 0
			if s.No != "" {
				return t.then(t.advance(ctx, s.No))
			}
			return t.back(s), nil
		}
		return t.invalid(s, msgYesNo.In(u.English)), nil
	default:
		v, ok := s.Input.Check(a, now)
		if !ok {
			return t.invalid(s, s.Input.describe(u.English)), nil
		}
		return t.then(t.accept(ctx, s, v))
	}
}

// shortTextRunes is the longest free text a step may ask for and still
// be a short answer (a name, a merchant) rather than a description.
const shortTextRunes = 60

// IsAnswer reports whether a is surely the answer to the step st waits on,
// without applying it: a command (取消, 上一步, 跳过), an answer the step
// accepts, or a text that a step asking for a description accepts (long
// enough). A refused answer is not, nor a short free text such as a name,
// which a question would pass for: the bot may take either as a question
// asked meanwhile.
func (r *Runner) IsAnswer(st State, a Answer) bool {
	fl, ok := r.Registry().Flow(st.Flow)
	if !ok {
		return true
	}
	s, ok := fl.Step(st.Step)
	switch {
	case !ok || command(a.Text) != cmdNone:
		return true
	case s.Kind == KindConfirm:
		return yesNo(a.Text) != 0
	case s.Kind != KindAsk:
		return true
	}
	if _, ok := s.Input.Check(a, r.now()); !ok {
		return false
	}
	return s.Input.Type != InputText || or(s.Input.MaxLen, 500) > shortTextRunes
}

// Idle is how long a flow waits for an answer before it expires.
func (r *Runner) Idle() time.Duration { return r.idle }

// Expired reports whether the flow has waited longer than Idle for the
// user's answer, and what to tell them.
func (r *Runner) Expired(st State, u User) (string, bool) {
	if r.now().Sub(st.UpdatedAt) <= r.idle {
		return "", false
	}
	title := st.Flow
	if fl, ok := r.Registry().Flow(st.Flow); ok {
		title = fl.TitleIn(u.English)
	}
	return fmt.Sprintf(msgExpired.In(u.English), title, int(r.idle.Minutes())), true
}

// Collected returns what a running flow has collected so far, labelled
// (for the ticket when the user leaves it for a person).
func (r *Runner) Collected(st State) []cases.Field {
	fl, ok := r.Registry().Flow(st.Flow)
	if !ok {
		return nil
	}
	t := &turn{r: r, fl: fl, st: &st}
	return t.fields()
}

// Prompt returns the question a running flow waits on, as it was asked.
func (r *Runner) Prompt(st State, u User) string {
	fl, ok := r.Registry().Flow(st.Flow)
	if !ok {
		return ""
	}
	s, ok := fl.Step(st.Step)
	if !ok {
		return ""
	}
	t := &turn{r: r, fl: fl, st: &st, u: u}
	t.ask(s)
	return strings.Join(t.said, "\n\n")
}

// turn is one message applied to one flow state.
type turn struct {
	r   *Runner
	fl  *Flow
	st  *State
	u   User
	now time.Time
	// said is the reply so far, one part a step; asked is where the
	// question waiting for an answer begins in it.
	said  []string
	asked int
	out   Turn
}

func (t *turn) say(text string) {
	if text != "" {
		t.said = append(t.said, text)
	}
}

// then finishes the turn after a step that may have failed.
func (t *turn) then(err error) (Turn, error) {
	if err != nil {
		return Turn{}, err
	}
	return t.finish(), nil
}

func (t *turn) finish() Turn {
	t.out.Reply = strings.Join(t.said, "\n\n")
	if t.out.End != "" {
		t.out.State = nil
		if t.out.Fields == nil {
			t.out.Fields = t.fields()
		}
	} else {
		t.out.State = t.st
	}
	return t.out
}

// accept keeps a valid answer to s and runs on to the next question.
func (t *turn) accept(ctx context.Context, s *Step, v string) error {
	t.st.Values[s.Field] = v
	t.st.Invalid = 0
	t.st.Trail = append(t.st.Trail, s.ID)
	next := t.fl.after(s)
	if to, ok := s.Input.Goto[v]; ok {
		next = to
	}
	return t.advance(ctx, next)
}

// invalid re-asks s with a hint; from the second refusal on, it offers a
// person.
func (t *turn) invalid(s *Step, hint string) Turn {
	t.st.Invalid++
	t.out.Invalid = true
	en := t.u.English
	if t.st.Invalid >= 2 {
		t.out.Failed = true
		t.say(fmt.Sprintf(msgInvalidAgain.In(en), hint))
	} else {
		t.say(fmt.Sprintf(msgInvalid.In(en), hint))
	}
	return t.finish()
}

// back returns to the previous question, forgetting its answer.
func (t *turn) back(from *Step) Turn {
	t.st.Invalid = 0
	for len(t.st.Trail) > 0 {
		prev := t.st.Trail[len(t.st.Trail)-1]
		t.st.Trail = t.st.Trail[:len(t.st.Trail)-1]
		s, ok := t.fl.Step(prev)
		if !ok || s.Kind != KindAsk {
			continue // a confirm answered: go back past it
		}
		delete(t.st.Values, s.Field)
		t.st.Step = s.ID
		t.ask(s)
		return t.finish()
	}
	t.say(msgFirstStep.In(t.u.English))
	t.ask(from)
	return t.finish()
}

// ask says a question (with its choices) and waits on it.
func (t *turn) ask(s *Step) {
	text := fill(s.text(t.u.English), t.values())
	if s.Kind == KindAsk && s.Input.Type == InputChoice && !strings.Contains(text, "1.") {
		var b strings.Builder
		b.WriteString(text)
		for i, c := range s.Input.Choices {
			fmt.Fprintf(&b, "\n%d. %s", i+1, s.Input.choiceLabel(c, t.u.English))
		}
		text = b.String()
	}
	if s.Optional {
		text += msgSkippable.In(t.u.English)
	}
	t.asked = len(t.said)
	t.say(text)
	t.st.Step = s.ID
}

// advance runs steps from id until one waits for the user or the flow
// ends.
func (t *turn) advance(ctx context.Context, id string) error {
	for range maxStepsPerTurn {
		if id == "" {
			t.out.End = EndDone
			return nil
		}
		s, ok := t.fl.Step(id)
		if !ok {
			return fmt.Errorf("flows: %s: no step %q", t.fl.ID, id)
		}
		if !s.When.holds(t.st.Values) {
			id = t.fl.after(s)
			continue
		}
		switch s.Kind {
		case KindMessage:
			t.say(fill(s.text(t.u.English), t.values()))
			id = t.fl.after(s)
		case KindAsk, KindConfirm:
			t.ask(s)
			return nil
		case KindAction:
			next, err := t.act(ctx, s)
			if err != nil || next == "" {
				return err
			}
			id = next
		case KindHandoff, KindEnd:
			if s.Case {
				if err := t.openCase(ctx); err != nil {
					return err
				}
			}
			t.say(fill(s.text(t.u.English), t.values()))
			if s.Kind == KindHandoff {
				t.handoff(s.Lane)
			} else {
				t.out.End = EndDone
			}
			return nil
		}
	}
	return fmt.Errorf("flows: %s: more than %d steps without a question (a loop?)", t.fl.ID, maxStepsPerTurn)
}

// handoff ends the flow in the lane (the flow's when empty).
func (t *turn) handoff(lane string) {
	t.out.End = EndHandoff
	t.out.Lane = lane
	if t.out.Lane == "" {
		t.out.Lane = t.fl.Lane
	}
	t.out.Reason = "flow:" + t.fl.ID
}

// maxRefusals is how many refusals of the backend (a failed verification)
// a run takes before the user is handed to a person.
const maxRefusals = 2

// act runs an action step and returns the step after it; "" when the flow
// ended (handed off).
func (t *turn) act(ctx context.Context, s *Step) (string, error) {
	var res Result
	var err error
	if s.Action == ActionCaseStatus {
		res = t.caseStatus(ctx)
	} else {
		// One key per attempt: a redelivery of this attempt repeats it,
		// an attempt after a refusal (corrected answers) gets a new one.
		t.out.Acted = true
		res, err = t.r.backend.Do(ctx, Request{
			Action: s.Action, Flow: t.fl.ID, OpenID: t.u.OpenID,
			IdempotencyKey: fmt.Sprintf("%s.%s.%d", t.st.Run, s.ID, t.st.Refusals), Fields: t.st.Values,
		})
	}
	en := t.u.English
	if err != nil {
		t.r.log.Error("flow action failed", "flow", t.fl.ID, "action", s.Action, "err", err)
		t.say(msgBackendDown.In(en))
		t.handoff("")
		return "", nil
	}
	t.st.Values[valueResult] = res.Message
	if res.OK {
		t.st.Values[valueReference] = res.Reference
		t.st.Values[valueStatus] = res.Status
		if res.Local {
			t.st.Values[valueLocal] = "1"
		}
		return t.fl.after(s), nil
	}
	t.st.Refusals++
	if s.OnFail == "" || t.st.Refusals >= maxRefusals {
		if res.Message != "" {
			t.say(res.Message)
		}
		t.say(msgRefusedHandoff.In(en))
		t.handoff("")
		return "", nil
	}
	return s.OnFail, nil
}

// ActionCaseStatus is the built-in action that looks up the user's case
// (the value of the flow's case-number question, or their latest cases)
// and puts its description in {result}.
const ActionCaseStatus = "kefu.case_status"

func (t *turn) caseStatus(ctx context.Context) Result {
	en := t.u.English
	var id string
	for _, s := range t.fl.Steps {
		if s.Kind == KindAsk && s.Input.Type == InputCase && t.st.Values[s.Field] != "" {
			id = t.st.Values[s.Field]
		}
	}
	if id != "" {
		c, err := t.r.cases.UserCase(ctx, t.u.OpenID, id)
		if err != nil {
			if !errors.Is(err, cases.ErrNotFound) {
				t.r.log.Error("case lookup failed", "err", err)
			}
			return Result{Message: fmt.Sprintf(msgCaseNotFound.In(en), id)}
		}
		return Result{OK: true, Message: c.Describe(en)}
	}
	list, err := t.r.cases.ForUser(ctx, t.u.OpenID, 3)
	if err != nil {
		t.r.log.Error("case lookup failed", "err", err)
		return Result{Message: msgNoCases.In(en)}
	}
	if len(list) == 0 {
		return Result{Message: msgNoCases.In(en)}
	}
	parts := make([]string, len(list))
	for i, c := range list {
		parts[i] = c.Describe(en)
	}
	return Result{OK: true, Message: strings.Join(parts, "\n\n")}
}

// openCase records what the flow collected as a case and puts its number
// in {case}.
func (t *turn) openCase(ctx context.Context) error {
	note := t.st.Values[valueResult]
	if t.st.Values[valueLocal] == "1" {
		note = msgRecordedLocally
	}
	status := cases.Status(t.st.Values[valueStatus])
	if !status.Valid() {
		status = cases.StatusSubmitted
	}
	t.out.Fields = t.fields()
	c, err := t.r.cases.Open(ctx, cases.NewCase{
		OpenID: t.u.OpenID, Flow: t.fl.ID, Title: t.fl.Title, Fields: t.out.Fields,
		ExternalID: t.st.Values[valueReference], Status: status, Note: note,
		// A run opens one case, however often (and on whichever day) its
		// last turn runs.
		Key: "flow:" + t.st.Run, KeyDay: t.st.StartedAt,
	})
	if err != nil {
		return fmt.Errorf("flows: %s: open case: %w", t.fl.ID, err)
	}
	t.st.Values[valueCase] = c.ID
	t.out.Case = &c
	return nil
}

// The values a flow's texts may name besides its fields.
const (
	valueCase      = "case"      // the case number
	valueReference = "reference" // the backend's reference
	valueResult    = "result"    // the backend's message
	valueStatus    = "status"    // the backend's status for the case
	valueLocal     = "_local"    // set when no backend acted
)

// actionValues are the values an action sets, which conditions may test.
var actionValues = map[string]bool{valueCase: true, valueReference: true, valueResult: true, valueStatus: true, valueLocal: true}

// values are the flow's values for its texts, in the user's language.
func (t *turn) values() map[string]string { return t.shown(t.u.English) }

// shown are the flow's values as people see them, in Chinese or English:
// ID numbers masked, choices by their label, skipped answers said so.
func (t *turn) shown(english bool) map[string]string {
	v := make(map[string]string, len(t.st.Values))
	for k, x := range t.st.Values {
		v[k] = x
	}
	for _, s := range t.fl.Steps {
		if s.Kind != KindAsk {
			continue
		}
		x, ok := v[s.Field]
		switch {
		case ok && x == "" && s.Optional:
			v[s.Field] = msgNotGiven.In(english)
		case s.Input.Type == InputIDCard && x != "":
			v[s.Field] = MaskIDCard(x)
		case s.Input.Type == InputChoice && x != "":
			v[s.Field] = s.Input.choiceLabel(x, english)
		}
	}
	return v
}

// fields lists the answers, in the flow's order, labelled.
func (t *turn) fields() []cases.Field {
	v := t.shown(false) // for agents and the backend's case: Chinese
	var out []cases.Field
	seen := map[string]bool{}
	for _, s := range t.fl.Steps {
		if s.Kind != KindAsk || seen[s.Field] {
			continue
		}
		if x, ok := v[s.Field]; ok && x != "" {
			seen[s.Field] = true
			out = append(out, cases.Field{Name: s.Field, Label: s.label(), Value: x})
		}
	}
	return out
}

func cloneValues(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func newRun() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Commands a user may give inside a flow.
const (
	cmdNone = iota
	cmdCancel
	cmdBack
	cmdSkip
)

var commands = map[string]int{
	"取消": cmdCancel, "退出": cmdCancel, "取消办理": cmdCancel, "退出流程": cmdCancel, "不办了": cmdCancel,
	"算了": cmdCancel, "cancel": cmdCancel, "quit": cmdCancel, "exit": cmdCancel, "stop": cmdCancel,
	"上一步": cmdBack, "返回": cmdBack, "返回上一步": cmdBack, "上一个": cmdBack, "back": cmdBack,
	"跳过": cmdSkip, "没有": cmdSkip, "无": cmdSkip, "skip": cmdSkip, "none": cmdSkip,
	"不用了": cmdSkip, "不需要": cmdSkip, "不需要了": cmdSkip, "不留了": cmdSkip,
}

// quitPhrase is a short way to leave a flow beside the exact commands:
// 不想投诉了, 算了，不办了, 我不填了. It names what is given up: a bare
// 不用了 answers an optional question (跳过), not the flow.
var quitPhrase = regexp.MustCompile(`^(算了|那)?[,，]?我?(不想|不要|不用|不需要|不打算|不)再?` +
	`(办|办理|投诉|申请|弄|填|填写|继续|提交|举报|导出|解冻|冻结|换|改|反馈)了吧?$`)

// command recognises a command; only a message that is nothing but the
// command counts ("订单被取消了" is an answer, not 取消).
func command(text string) int {
	norm := strings.TrimRight(intents.Normalize(text), "。.!！~，,")
	if cmd, ok := commands[norm]; ok {
		return cmd
	}
	if quitPhrase.MatchString(norm) {
		return cmdCancel
	}
	return cmdNone
}

var (
	yesWords = map[string]bool{"是": true, "是的": true, "确认": true, "确定": true, "对": true, "对的": true,
		"好": true, "好的": true, "可以": true, "没问题": true, "提交": true, "确认提交": true, "嗯": true,
		"y": true, "yes": true, "ok": true, "1": true}
	noWords = map[string]bool{"否": true, "不": true, "不是": true, "不对": true, "不用": true, "错了": true,
		"修改": true, "重填": true, "不确认": true, "n": true, "no": true, "2": true}
)

// yesNo reads a confirmation: 1 yes, -1 no, 0 neither.
func yesNo(text string) int {
	n := strings.TrimRight(intents.Normalize(text), "。.!！~")
	switch {
	case yesWords[n]:
		return 1
	case noWords[n]:
		return -1
	}
	return 0
}

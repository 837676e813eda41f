package wxapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// InteractionKind says which allowance an inbound message or event opens.
type InteractionKind string

// The interactions that open a send window.
const (
	// InteractionMessage is any message the user sends (text, image,
	// voice, video, location, link…): 5 sends within 48 h by default.
	InteractionMessage InteractionKind = "message"
	// InteractionEvent is a menu click, follow or QR scan: 3 sends within
	// 1 min by default.
	InteractionEvent InteractionKind = "event"
)

// InteractionOf maps an inbound's MsgType and Event (as WeChat names them)
// to the allowance it opens; ok is false for the events that open none
// (VIEW, LOCATION, unsubscribe, template and other notifications). After an
// unsubscribe, call Quota.Revoke with ReasonClosed instead.
func InteractionOf(msgType, event string) (kind InteractionKind, ok bool) {
	if msgType != "event" {
		return InteractionMessage, msgType != ""
	}
	switch event {
	case "subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg":
		return InteractionEvent, true
	}
	return "", false
}

// QuotaLimits are the allowances an interaction opens. Zero fields take the
// defaults of DefaultQuotaLimits.
type QuotaLimits struct {
	MessageWindow time.Duration // 48 h
	MessageLimit  int           // 5
	EventWindow   time.Duration // 1 min
	EventLimit    int           // 3
}

// DefaultQuotaLimits returns the limits WECHAT.md §5 documents: 5 sends in
// 48 h after a message, 3 in 1 min after a menu click, follow or scan.
func DefaultQuotaLimits() QuotaLimits {
	return QuotaLimits{MessageWindow: 48 * time.Hour, MessageLimit: 5, EventWindow: time.Minute, EventLimit: 3}
}

// withDefaults fills the zero fields and checks the others.
func (l QuotaLimits) withDefaults() (QuotaLimits, error) {
	if l.MessageWindow < 0 || l.MessageLimit < 0 || l.EventWindow < 0 || l.EventLimit < 0 {
		return l, fmt.Errorf("wxapi: quota limits %+v: negative", l)
	}
	def := DefaultQuotaLimits()
	return QuotaLimits{
		MessageWindow: cmp.Or(l.MessageWindow, def.MessageWindow),
		MessageLimit:  cmp.Or(l.MessageLimit, def.MessageLimit),
		EventWindow:   cmp.Or(l.EventWindow, def.EventWindow),
		EventLimit:    cmp.Or(l.EventLimit, def.EventLimit),
	}, nil
}

// Reason is the state of a user's send window.
type Reason string

// The states an Allowance reports.
const (
	// ReasonOpen: a send is allowed now.
	ReasonOpen Reason = "open"
	// ReasonClosed: no window is open (no interaction within it, WeChat
	// answered 45015, or the user unsubscribed). A new interaction opens one.
	ReasonClosed Reason = "closed"
	// ReasonExhausted: the window is open but its sends are used up (or
	// WeChat answered 45047). A new interaction resets the count.
	ReasonExhausted Reason = "exhausted"
)

// Allowance is what an agent may still send a user, for the panel's
// indicator: "3 of 5 left, window closes 14:20". When a message grant and
// an event grant are both open it adds them up, and WindowClosesAt is when
// the last one with sends left closes (the event grant's sends lapse
// sooner).
type Allowance struct {
	Remaining      int       `json:"remaining"`
	Limit          int       `json:"limit"`
	WindowClosesAt time.Time `json:"window_closes_at"` // zero when closed
	Reason         Reason    `json:"reason"`
}

// GrantID names the grant a send was taken from, so Release gives it back
// to that grant only, not to one a later interaction opened.
type GrantID struct {
	Kind     InteractionKind
	OpenedAt time.Time
}

// Reservation is one send taken by Quota.Reserve: the allowance left after
// it, and the grant to give it back to.
type Reservation struct {
	Allowance
	Grant GrantID
}

// Quota tracks each user's send window and count.
//
// The customer-service API only reaches a user inside a window that the
// user's own interaction opened (WECHAT.md §5 "Window and quota"):
//
//   - a user message opens 5 sends within 48 h;
//   - a menu click (click, scancode_push, scancode_waitmsg), a follow or a
//     QR-code scan opens 3 sends within 1 min;
//   - outside the window WeChat answers 45015, over the count 45047, and the
//     count "resets only when the user interacts again".
//
// WECHAT.md does not say how the two allowances combine, so this tracker
// keeps one Grant per kind of interaction, independently: a new user
// message resets the message grant (window and count), a new event resets
// the event grant, and neither touches the other. A send is allowed while
// any grant is open and not used up; it is taken from the open grant that
// closes first, so the short event allowance is spent before it lapses.
// Should the platform count both against one allowance, our belief is
// higher than WeChat's, the send is answered 45047, and QuotaSender marks
// the user exhausted: the error is shown, never retried. The numbers are
// platform-tunable (older docs said 20 per 48 h): see QuotaLimits.
//
// Implementations must be safe for concurrent use, also across instances
// sharing a store: two Reserve calls never take the same send. Build one with NewTracker on a
// QuotaStates (wxapi/sqlitestore, wxapi/redisstore); both pass
// wxapi/quotatest.
type Quota interface {
	// Interaction records a user message or event that happened at at
	// (the inbound's CreateTime). The webhook calls it for every inbound
	// that InteractionOf maps. A duplicate or an older interaction than
	// the one already recorded changes nothing.
	Interaction(ctx context.Context, openID string, kind InteractionKind, at time.Time) error
	// Reserve atomically takes one send. When none is left it takes
	// nothing and returns the allowance with ErrWindowClosed or
	// ErrQuotaExhausted (the sentinels a WeChat answer would match).
	Reserve(ctx context.Context, openID string, now time.Time) (Reservation, error)
	// Release gives back a send Reserve took, when it was not counted by
	// WeChat (see NotSent). It is a no-op when the grant has been reset
	// since or is already whole.
	Release(ctx context.Context, openID string, grant GrantID) error
	// Revoke records WeChat's word over ours: ReasonClosed after 45015 or
	// an unsubscribe, ReasonExhausted after 45047. It affects the grants
	// opened at or before asOf (the time the send was reserved), so an
	// interaction that arrived meanwhile keeps its grant.
	Revoke(ctx context.Context, openID string, asOf time.Time, reason Reason) error
	// Peek returns the allowance at now without taking anything.
	Peek(ctx context.Context, openID string, now time.Time) (Allowance, error)
}

// Grant is the allowance one interaction opened.
type Grant struct {
	OpenedAt time.Time `json:"opened_at"` // zero: never opened
	ClosesAt time.Time `json:"closes_at"`
	Limit    int       `json:"limit"`
	Used     int       `json:"used"`
}

func (g Grant) open(now time.Time) bool { return g.ClosesAt.After(now) }

func (g Grant) left() int { return max(g.Limit-g.Used, 0) }

// QuotaState is what a store keeps per user: one grant per interaction
// kind. Its methods are the rules; stores only load and save it.
type QuotaState struct {
	Message Grant `json:"message"`
	Event   Grant `json:"event"`
}

func (s *QuotaState) grant(kind InteractionKind) *Grant {
	if kind == InteractionEvent {
		return &s.Event
	}
	return &s.Message
}

// Expiry is when every grant has closed: a store may forget the state then.
func (s QuotaState) Expiry() time.Time {
	if s.Event.ClosesAt.After(s.Message.ClosesAt) {
		return s.Event.ClosesAt
	}
	return s.Message.ClosesAt
}

// Record opens a new grant of kind at at with the limits, unless a grant
// of that kind was opened at or after at already (a duplicate or an
// out-of-order delivery). It reports whether the state changed.
func (s *QuotaState) Record(kind InteractionKind, at time.Time, lim QuotaLimits) bool {
	at = at.Truncate(time.Millisecond) // what every store keeps exactly
	g := s.grant(kind)
	if !at.After(g.OpenedAt) {
		return false
	}
	window, limit := lim.MessageWindow, lim.MessageLimit
	if kind == InteractionEvent {
		window, limit = lim.EventWindow, lim.EventLimit
	}
	*g = Grant{OpenedAt: at, ClosesAt: at.Add(window), Limit: limit}
	return true
}

// Allowance sums up the grants open at now.
func (s QuotaState) Allowance(now time.Time) Allowance {
	a := Allowance{Reason: ReasonClosed}
	var lastOpen time.Time
	for _, g := range []Grant{s.Message, s.Event} {
		if !g.open(now) {
			continue
		}
		a.Remaining += g.left()
		a.Limit += g.Limit
		lastOpen = later(lastOpen, g.ClosesAt)
		if g.left() > 0 {
			a.WindowClosesAt = later(a.WindowClosesAt, g.ClosesAt)
		}
	}
	switch {
	case lastOpen.IsZero():
	case a.Remaining == 0:
		a.Reason, a.WindowClosesAt = ReasonExhausted, lastOpen
	default:
		a.Reason = ReasonOpen
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Take takes one send at now from the open grant with sends left that
// closes first. With none it changes nothing and returns ErrWindowClosed
// or ErrQuotaExhausted.
func (s *QuotaState) Take(now time.Time) (Reservation, error) {
	var pick *Grant
	kind := InteractionMessage
	for _, k := range []InteractionKind{InteractionMessage, InteractionEvent} {
		g := s.grant(k)
		if g.open(now) && g.left() > 0 && (pick == nil || g.ClosesAt.Before(pick.ClosesAt)) {
			pick, kind = g, k
		}
	}
	if pick == nil {
		a := s.Allowance(now)
		if a.Reason == ReasonExhausted {
			return Reservation{Allowance: a}, ErrQuotaExhausted
		}
		return Reservation{Allowance: a}, ErrWindowClosed
	}
	pick.Used++
	return Reservation{Allowance: s.Allowance(now), Grant: GrantID{Kind: kind, OpenedAt: pick.OpenedAt}}, nil
}

// Give returns a send to the grant id names, if that grant is still the
// current one of its kind and has used any. It reports whether it did.
func (s *QuotaState) Give(id GrantID) bool {
	g := s.grant(id.Kind)
	if id.OpenedAt.IsZero() || !g.OpenedAt.Equal(id.OpenedAt) || g.Used == 0 {
		return false
	}
	g.Used--
	return true
}

// Revoke closes (ReasonClosed) or uses up (ReasonExhausted) the grants
// opened at or before asOf and still open then. It reports whether the
// state changed.
func (s *QuotaState) Revoke(asOf time.Time, reason Reason) bool {
	changed := false
	for _, g := range []*Grant{&s.Message, &s.Event} {
		if g.OpenedAt.IsZero() || g.OpenedAt.After(asOf) || !g.open(asOf) {
			continue
		}
		switch reason {
		case ReasonClosed:
			g.ClosesAt = asOf.Truncate(time.Millisecond)
			changed = true
		case ReasonExhausted:
			if g.Used < g.Limit {
				g.Used, changed = g.Limit, true
			}
		}
	}
	return changed
}

// QuotaStates is the storage a Tracker needs: a QuotaState per user and an
// atomic read-modify-write of it. Implementations: wxapi/sqlitestore and
// wxapi/redisstore.
type QuotaStates interface {
	// QuotaState returns the user's state, the zero state when none is
	// stored.
	QuotaState(ctx context.Context, openID string) (QuotaState, error)
	// UpdateQuotaState applies fn to the user's state and stores the
	// result if fn reports a change, atomically with respect to every
	// other update of that user, in any instance. fn may be called more
	// than once (optimistic retries) and must depend only on its argument.
	UpdateQuotaState(ctx context.Context, openID string, fn func(*QuotaState) bool) error
}

// Tracker is the Quota: the rules of QuotaState over a QuotaStates.
type Tracker struct {
	states QuotaStates
	limits QuotaLimits
}

var _ Quota = (*Tracker)(nil)

// NewTracker returns a Quota keeping its state in states, opening grants
// with limits (zero fields: DefaultQuotaLimits).
func NewTracker(states QuotaStates, limits QuotaLimits) (*Tracker, error) {
	if states == nil {
		return nil, errors.New("wxapi: quota tracker: nil states")
	}
	lim, err := limits.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tracker{states: states, limits: lim}, nil
}

// Limits returns the limits new grants get.
func (t *Tracker) Limits() QuotaLimits { return t.limits }

// Interaction implements Quota.
func (t *Tracker) Interaction(ctx context.Context, openID string, kind InteractionKind, at time.Time) error {
	if kind != InteractionMessage && kind != InteractionEvent {
		return fmt.Errorf("wxapi: quota: unknown interaction kind %q", kind)
	}
	if at.IsZero() {
		return errors.New("wxapi: quota: interaction without a time")
	}
	return t.update(ctx, "interaction", openID, func(s *QuotaState) bool { return s.Record(kind, at, t.limits) })
}

// Reserve implements Quota.
func (t *Tracker) Reserve(ctx context.Context, openID string, now time.Time) (Reservation, error) {
	var (
		r    Reservation
		deny error
	)
	err := t.update(ctx, "reserve", openID, func(s *QuotaState) bool {
		r, deny = s.Take(now)
		return deny == nil
	})
	if err != nil {
		return Reservation{}, err
	}
	return r, deny
}

// Release implements Quota.
func (t *Tracker) Release(ctx context.Context, openID string, grant GrantID) error {
	return t.update(ctx, "release", openID, func(s *QuotaState) bool { return s.Give(grant) })
}

// Revoke implements Quota.
func (t *Tracker) Revoke(ctx context.Context, openID string, asOf time.Time, reason Reason) error {
	if reason != ReasonClosed && reason != ReasonExhausted {
		return fmt.Errorf("wxapi: quota: revoke: reason %q is neither closed nor exhausted", reason)
	}
	return t.update(ctx, "revoke", openID, func(s *QuotaState) bool { return s.Revoke(asOf, reason) })
}

// Peek implements Quota.
func (t *Tracker) Peek(ctx context.Context, openID string, now time.Time) (Allowance, error) {
	if openID == "" {
		return Allowance{}, errors.New("wxapi: quota: peek: empty openid")
	}
	s, err := t.states.QuotaState(ctx, openID)
	if err != nil {
		return Allowance{}, fmt.Errorf("wxapi: quota: peek: %w", err)
	}
	return s.Allowance(now), nil
}

func (t *Tracker) update(ctx context.Context, op, openID string, fn func(*QuotaState) bool) error {
	if openID == "" {
		return fmt.Errorf("wxapi: quota: %s: empty openid", op)
	}
	if err := t.states.UpdateQuotaState(ctx, openID, fn); err != nil {
		return fmt.Errorf("wxapi: quota: %s: %w", op, err)
	}
	return nil
}

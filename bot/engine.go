// Package bot is the conversation engine: it takes one inbound message,
// decides what it is, answers it or hands the session to a person, and keeps
// the session's state. Channels (the WeChat webhook, the terminal) adapt to
// Engine.Respond and Engine.Handle.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/intents/flows"
	"github.com/kefuhq/kefu/internal/logid"
)

// Sender delivers a message through the customer-service API, for replies
// that missed the passive-reply deadline.
type Sender interface {
	SendText(ctx context.Context, openID, text string) error
}

// Options configure an Engine. Stores, Router and Handoff are required.
type Options struct {
	Sessions SessionStore
	Dedupe   Deduper
	Locks    Locker
	Router   *intents.Router
	Handoff  *handoff.Service
	// Sender delivers late replies; nil drops them with a warning.
	Sender Sender
	// FailLimit is the number of consecutive failed turns that hands the
	// session to a person; 0 = 3.
	FailLimit int
	// Budget is how long Respond waits for the answer before replying
	// "success" and delivering it later through Sender; 0 = 4 s.
	Budget time.Duration
	// TurnTimeout bounds a turn that missed the budget; 0 = 30 s.
	TurnTimeout time.Duration
	// DedupeTTL is how long a message is remembered; 0 = 5 min (WeChat
	// retries within about 15 s).
	DedupeTTL time.Duration
	// LockTTL bounds how long a crashed instance can hold a user; 0 = 30 s.
	LockTTL time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
	// Observe, if set, is told the outcome of every turn (a Decision kind,
	// or "duplicate", "late", "error", "event", "waiting") and its duration.
	Observe func(outcome string, d time.Duration)
	// Inbound, if set, is told, after the turn, of every message (not of
	// duplicates) from a user whose session is now with a person (queued
	// or with an agent: the users agents send to), and of every
	// unsubscribe; on the turn's goroutine: it must not block. The
	// customer-service quota tracker learns the users' send windows from
	// it.
	Inbound func(Inbound)
	// Flows runs the self-service flows; nil: none (a session found in a
	// flow returns to the bot).
	Flows *flows.Runner
	// Cases, if set, is told which ticket followed a flow's case.
	Cases CaseTickets
	// Unanswered, if set, is told of every question the bot could not
	// answer: a failed turn, marked "handoff" when it was the last one and
	// the user went to a person (a bare request for a person is not a
	// question for the knowledge base and is not reported). It is
	// called once per message, after the turn is saved, on the turn's
	// goroutine: it must not block.
	Unanswered func(Unanswered)
}

// Unanswered is a question the bot could not answer, for the editors'
// queue.
type Unanswered struct {
	Text string
	// Reason is "failed" (a failed turn) or "handoff" (the failed turn
	// that handed the user to a person).
	Reason string
	// ArticleID and Score are the best, unconfident candidate, if any.
	ArticleID string
	Score     float64
}

// Engine runs conversations. It is safe for concurrent use.
type Engine struct {
	sessions SessionStore
	dedupe   Deduper
	locks    Locker
	// sessionLocks is locks when it is a SessionLocker over sessions (the
	// same store): a turn then locks and reads, and saves and unlocks, in
	// one step each. Nil otherwise.
	sessionLocks SessionLocker
	router       *intents.Router
	handoff      *handoff.Service
	sender       Sender
	failLimit    int
	budget       time.Duration
	turnTimeout  time.Duration
	dedupeTTL    time.Duration
	lockTTL      time.Duration
	log          *slog.Logger
	now          func() time.Time
	observe      func(string, time.Duration)
	unanswered   func(Unanswered)
	flows        *flows.Runner
	caseTickets  CaseTickets
	inbound      func(Inbound)
	workers      workers
}

// New returns an Engine, or an error naming the missing option.
func New(opts Options) (*Engine, error) {
	switch {
	case opts.Sessions == nil:
		return nil, errors.New("bot: a session store is required")
	case opts.Dedupe == nil:
		return nil, errors.New("bot: a deduper is required")
	case opts.Locks == nil:
		return nil, errors.New("bot: a locker is required")
	case opts.Router == nil:
		return nil, errors.New("bot: a router is required")
	case opts.Handoff == nil:
		return nil, errors.New("bot: a handoff service is required")
	}
	e := &Engine{
		sessions: opts.Sessions, dedupe: opts.Dedupe, locks: opts.Locks, router: opts.Router,
		handoff: opts.Handoff, sender: opts.Sender,
		failLimit: or(opts.FailLimit, 3), budget: or(opts.Budget, 4*time.Second),
		turnTimeout: or(opts.TurnTimeout, 30*time.Second), dedupeTTL: or(opts.DedupeTTL, 5*time.Minute),
		lockTTL: or(opts.LockTTL, 30*time.Second),
		log:     opts.Logger, now: opts.Now, observe: opts.Observe, unanswered: opts.Unanswered,
		workers: newWorkers(), flows: opts.Flows, caseTickets: opts.Cases, inbound: opts.Inbound,
	}
	if sl, ok := opts.Locks.(SessionLocker); ok && any(opts.Locks) == any(opts.Sessions) {
		e.sessionLocks = sl
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.observe == nil {
		e.observe = func(string, time.Duration) {}
	}
	return e, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Handle runs one message to completion, however long it takes, and
// returns the reply. A message seen before (same dedupe key) is not run
// again: it gets the reply remembered for it. Handle is for channels without
// a deadline (the terminal, tests); the webhook uses Respond.
func (e *Engine) Handle(ctx context.Context, in Inbound) (Reply, error) {
	key := in.DedupeKey()
	if key != "" {
		t, first, err := e.dedupe.BeginTurn(ctx, key, e.dedupeTTL)
		if err != nil {
			return Reply{}, fmt.Errorf("bot: dedupe: %w", err)
		}
		if !first {
			return e.duplicate(ctx, key, t), nil
		}
	}
	start := time.Now()
	reply, outcome, err := e.turn(ctx, in)
	e.observe(outcome, time.Since(start))
	if err != nil {
		e.forget(ctx, key)
		return Reply{}, err
	}
	e.finish(ctx, key, Turn{Done: true, Reply: reply.Text})
	return reply, nil
}

// Turn handover states of Respond.
const (
	running int32 = iota
	passive       // the webhook took the reply in time
	late          // the webhook gave up waiting: deliver through Sender
)

// Respond answers one message within the turn budget. When the answer is
// not ready in time it returns an empty reply (the webhook answers
// "success") and the turn goes on, its reply delivered through the Sender.
// A retry of the message gets the same reply, or none if it went out late.
func (e *Engine) Respond(ctx context.Context, in Inbound) Reply {
	start := time.Now()
	deadline, cancel := context.WithTimeout(ctx, e.budget)
	defer cancel()
	key := in.DedupeKey()
	if key != "" {
		t, first, err := e.dedupe.BeginTurn(deadline, key, e.dedupeTTL)
		switch {
		case err != nil:
			e.log.Error("dedupe unavailable", "err", e.scrub(err, in.OpenID))
			return Reply{Text: msgBusy.ZH}
		case !first:
			e.observe("duplicate", time.Since(start))
			return e.duplicate(deadline, key, t)
		}
	}

	var state atomic.Int32
	done := make(chan Reply, 1)
	failed := false // set before done is sent or the turn is marked late
	e.workers.run(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.turnTimeout)
		defer cancel()
		reply, outcome, err := e.turn(ctx, in)
		if err != nil {
			// Nothing was kept of the message: the user is asked to send
			// it again, and the key is forgotten so that a retry is
			// processed anew.
			e.log.Error("turn failed", "open_id", logid.Hash(in.OpenID), "err", e.scrub(err, in.OpenID))
			reply, outcome, failed = Reply{Text: msgBusy.In(false)}, "error", true
			e.forget(ctx, key)
		}
		// A reply ready after the budget goes out late even when Respond
		// has not noticed the deadline yet: in time means before it.
		if deadline.Err() == nil && state.CompareAndSwap(running, passive) {
			e.observe(outcome, time.Since(start))
			done <- reply
			return
		}
		state.Store(late)
		if !failed {
			e.finish(ctx, key, Turn{Done: true, Async: true})
		}
		if err := e.deliverLate(ctx, in.OpenID, reply); err != nil {
			e.observe("late_undelivered", time.Since(start))
			return
		}
		e.observe("late", time.Since(start))
	})

	var r Reply
	select {
	case r = <-done:
	case <-deadline.Done():
		if state.CompareAndSwap(running, late) || state.Load() == late {
			return Reply{}
		}
		r = <-done
	}
	if !failed {
		e.finish(ctx, key, Turn{Done: true, Reply: r.Text})
	}
	return r
}

// deliverLate sends a reply that missed the passive-reply deadline through
// the customer-service API. A failure (45015 window closed, 45047 quota
// used up, …) is logged and returned, never retried here: the Sender has
// already retried what can be retried.
func (e *Engine) deliverLate(ctx context.Context, openID string, r Reply) error {
	if r.Empty() {
		return nil
	}
	if e.sender == nil {
		e.log.Warn("late reply dropped: no customer-service sender", "open_id", logid.Hash(openID))
		return errors.New("bot: no sender")
	}
	if err := e.sender.SendText(ctx, openID, r.Text); err != nil {
		e.log.Error("late reply not delivered", "open_id", logid.Hash(openID), "err", e.scrub(err, openID))
		return err
	}
	return nil
}

// duplicate waits (within ctx) for the first delivery of a message to
// finish and returns its reply; none if it went out late or is still
// running when ctx ends.
func (e *Engine) duplicate(ctx context.Context, key string, t Turn) Reply {
	wait := 10 * time.Millisecond
	for !t.Done {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Reply{}
		case <-timer.C:
		}
		var err error
		if t, _, err = e.dedupe.BeginTurn(ctx, key, e.dedupeTTL); err != nil {
			return Reply{}
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
	if t.Async {
		return Reply{}
	}
	return Reply{Text: t.Reply}
}

// forget drops what the deduper holds for key (it expires at once), so a
// retry of a message that failed is processed again.
func (e *Engine) forget(ctx context.Context, key string) {
	if key == "" {
		return
	}
	if err := e.dedupe.FinishTurn(context.WithoutCancel(ctx), key, Turn{}, time.Millisecond); err != nil {
		e.log.Error("dedupe: forget turn", "err", err)
	}
}

// scrub replaces the user's id in an error's text with its hash: store
// errors name the user, and logs must not.
func (e *Engine) scrub(err error, openID string) string {
	if openID == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), openID, logid.Hash(openID))
}

// Close waits, until ctx ends, for the turns still running (those that
// missed their budget and will deliver late), so the stores are not closed
// under them.
func (e *Engine) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.workers.wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bot: turns still running at shutdown: %w", ctx.Err())
	}
}

func (e *Engine) finish(ctx context.Context, key string, t Turn) {
	if key == "" {
		return
	}
	if err := e.dedupe.FinishTurn(context.WithoutCancel(ctx), key, t, e.dedupeTTL); err != nil {
		e.log.Error("dedupe: record turn", "err", err)
	}
}

// lockSession takes the user's lock and, when the store can do both in one
// step (a SessionLocker that is also the SessionStore), reads their
// session with it; otherwise the LockedSession holds only Unlock, and the
// turn reads and saves through the SessionStore.
func (e *Engine) lockSession(ctx context.Context, openID string) (LockedSession, error) {
	key := "user:" + openID
	if e.sessionLocks != nil {
		return e.sessionLocks.LockSession(ctx, key, e.lockTTL, openID)
	}
	unlock, err := e.locks.Lock(ctx, key, e.lockTTL)
	return LockedSession{Unlock: unlock}, err
}

// turn runs one message under the user's lock: load the session, step,
// save. A save conflict (another instance wrote the session despite the
// lock, e.g. after the lock expired) is retried when the step had no effect
// outside the session.
func (e *Engine) turn(ctx context.Context, in Inbound) (Reply, string, error) {
	if in.OpenID == "" {
		return Reply{}, "error", errors.New("bot: message without a user")
	}
	ls, err := e.lockSession(ctx, in.OpenID)
	if err != nil {
		return Reply{}, "error", fmt.Errorf("bot: lock user: %w", err)
	}
	defer ls.Unlock()
	for attempt := 0; ; attempt++ {
		s := ls.Session
		if attempt > 0 || ls.SaveAndUnlock == nil {
			if s, err = e.sessions.Session(ctx, in.OpenID); err != nil {
				return Reply{}, "error", fmt.Errorf("bot: load session: %w", err)
			}
		}
		st := &step{e: e, s: &s, in: in, now: e.now()}
		before := s.summary()
		reply, err := st.run(ctx)
		if err != nil {
			return Reply{}, "error", err
		}
		switch {
		case st.forget:
			if err := e.sessions.DeleteSession(ctx, in.OpenID); err != nil {
				return Reply{}, "error", fmt.Errorf("bot: forget session: %w", err)
			}
		case !st.remembered && s.summary() == before:
			// Nothing to save: a message while queued went to the ticket.
		default:
			s.UpdatedAt = st.now
			if ls.SaveAndUnlock != nil {
				err = ls.SaveAndUnlock(ctx, &s)
			} else {
				err = e.sessions.SaveSession(ctx, &s)
			}
			if errors.Is(err, ErrConflict) && !st.effects && attempt < 2 {
				continue
			}
			if err != nil {
				return Reply{}, "error", fmt.Errorf("bot: save session: %w", err)
			}
		}
		if st.unanswered != nil && e.unanswered != nil {
			e.unanswered(*st.unanswered)
		}
		if e.inbound != nil && (st.forget || s.State == StateQueued || s.State == StateAgent) {
			e.inbound(in)
		}
		return reply, st.outcome, nil
	}
}

// Package quotatest is the conformance suite of wxapi.QuotaStates: every
// implementation runs these tests from its own test file, through a
// wxapi.Tracker, so they check the window rules and the store's atomicity
// together.
//
//	func TestQuota(t *testing.T) {
//		quotatest.TestQuota(t, func(t *testing.T) func(now func() time.Time) wxapi.QuotaStates {
//			db := mustDB(t)
//			return func(now func() time.Time) wxapi.QuotaStates { return newStore(t, db, now) }
//		})
//	}
package quotatest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/wxapi"
)

// Backend returns an empty backend for one subtest. Each call of the open
// function it returns makes a new store instance on that backend reading
// the time from now; the instances share their data, like two kefu
// processes on one database.
type Backend func(t *testing.T) (open func(now func() time.Time) wxapi.QuotaStates)

// TestQuota runs the conformance tests of a wxapi.QuotaStates.
func TestQuota(t *testing.T, backend Backend) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, e *env)
	}{
		{"ErrWindowClosed", testNoWindow},
		{"MessageLimit", testMessageLimit},
		{"MessageWindow", testMessageWindow},
		{"ResetOnMessage", testResetOnMessage},
		{"DuplicateInteraction", testDuplicate},
		{"EventLimit", testEventLimit},
		{"MessageAndEvent", testMessageAndEvent},
		{"Release", testRelease},
		{"RevokeClosed", testRevokeClosed},
		{"RevokeExhausted", testRevokeExhausted},
		{"ConfiguredLimits", testConfiguredLimits},
		{"Users", testUsers},
		{"ConcurrentReserve", testConcurrentReserve},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktest.NewNear()
			tc.test(t, &env{open: backend(t), clk: clk, t0: clk.Now()})
		})
	}
}

const (
	user  = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
	other = "o6_bmjrPTlm6_2sgVt7hMZOPfL2N"
)

// env is one subtest's backend and clock; t0 is the clock's start.
type env struct {
	open func(now func() time.Time) wxapi.QuotaStates
	clk  *clocktest.Clock
	t0   time.Time
}

// tracker returns a new instance on the backend with the limits (zero
// fields: the defaults).
func (e *env) tracker(t *testing.T, lim wxapi.QuotaLimits) *wxapi.Tracker {
	t.Helper()
	tr, err := wxapi.NewTracker(e.open(e.clk.Now), lim)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func interact(t *testing.T, q wxapi.Quota, openID string, kind wxapi.InteractionKind, at time.Time) {
	t.Helper()
	if err := q.Interaction(context.Background(), openID, kind, at); err != nil {
		t.Fatalf("Interaction(%s, %v): %v", kind, at, err)
	}
}

// reserve calls Reserve at the clock's time and checks its error.
func (e *env) reserve(t *testing.T, q wxapi.Quota, openID string, want error) wxapi.Reservation {
	t.Helper()
	r, err := q.Reserve(context.Background(), openID, e.clk.Now())
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		t.Fatalf("Reserve = %+v, %v; want error %v", r, err, want)
	}
	return r
}

// peek checks what Peek says at the clock's time.
func (e *env) peek(t *testing.T, q wxapi.Quota, openID string, want wxapi.Allowance) {
	t.Helper()
	got, err := q.Peek(context.Background(), openID, e.clk.Now())
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	check(t, "Peek", got, want)
}

func check(t *testing.T, what string, got, want wxapi.Allowance) {
	t.Helper()
	if got.Remaining != want.Remaining || got.Limit != want.Limit || got.Reason != want.Reason ||
		!got.WindowClosesAt.Equal(want.WindowClosesAt) {
		t.Fatalf("%s = %d of %d left, %s, closes %v; want %d of %d, %s, closes %v", what,
			got.Remaining, got.Limit, got.Reason, got.WindowClosesAt,
			want.Remaining, want.Limit, want.Reason, want.WindowClosesAt)
	}
}

func open(remaining, limit int, closes time.Time) wxapi.Allowance {
	return wxapi.Allowance{Remaining: remaining, Limit: limit, WindowClosesAt: closes, Reason: wxapi.ReasonOpen}
}

func exhausted(limit int, closes time.Time) wxapi.Allowance {
	return wxapi.Allowance{Limit: limit, WindowClosesAt: closes, Reason: wxapi.ReasonExhausted}
}

var closed = wxapi.Allowance{Reason: wxapi.ReasonClosed}

const day2 = 48 * time.Hour

func testNoWindow(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	e.peek(t, q, user, closed)
	r := e.reserve(t, q, user, wxapi.ErrWindowClosed)
	check(t, "Reserve", r.Allowance, closed)
}

func testMessageLimit(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	closes := e.t0.Add(day2)
	e.peek(t, q, user, open(5, 5, closes))
	for left := 4; left >= 0; left-- {
		e.clk.Advance(time.Minute)
		r := e.reserve(t, q, user, nil)
		if left > 0 {
			check(t, "Reserve", r.Allowance, open(left, 5, closes))
		} else {
			check(t, "Reserve", r.Allowance, exhausted(5, closes))
		}
		if r.Grant.Kind != wxapi.InteractionMessage || !r.Grant.OpenedAt.Equal(e.t0) {
			t.Fatalf("Reserve took from %+v, want the message grant of %v", r.Grant, e.t0)
		}
	}
	r := e.reserve(t, q, user, wxapi.ErrQuotaExhausted)
	check(t, "Reserve", r.Allowance, exhausted(5, closes))
	e.peek(t, q, user, exhausted(5, closes))
}

func testMessageWindow(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	e.reserve(t, q, user, nil)
	e.clk.Advance(day2 - time.Millisecond)
	e.peek(t, q, user, open(4, 5, e.t0.Add(day2)))
	e.clk.Advance(time.Millisecond) // now == closes: closed
	e.peek(t, q, user, closed)
	e.reserve(t, q, user, wxapi.ErrWindowClosed)
}

func testResetOnMessage(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	for range 5 {
		e.reserve(t, q, user, nil)
	}
	e.clk.Advance(time.Hour)
	t1 := e.clk.Now()
	interact(t, q, user, wxapi.InteractionMessage, t1)
	e.peek(t, q, user, open(5, 5, t1.Add(day2)))
	// A message resets a closed window too.
	e.clk.Advance(day2)
	e.peek(t, q, user, closed)
	interact(t, q, user, wxapi.InteractionMessage, e.clk.Now())
	e.peek(t, q, user, open(5, 5, e.clk.Now().Add(day2)))
}

func testDuplicate(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	e.reserve(t, q, user, nil)
	e.reserve(t, q, user, nil)
	interact(t, q, user, wxapi.InteractionMessage, e.t0)                   // a webhook retry
	interact(t, q, user, wxapi.InteractionMessage, e.t0.Add(-time.Second)) // delivered late
	e.peek(t, q, user, open(3, 5, e.t0.Add(day2)))
}

func testEventLimit(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionEvent, e.t0)
	closes := e.t0.Add(time.Minute)
	e.peek(t, q, user, open(3, 3, closes))
	for range 3 {
		if r := e.reserve(t, q, user, nil); r.Grant.Kind != wxapi.InteractionEvent {
			t.Fatalf("Reserve took from %+v, want the event grant", r.Grant)
		}
	}
	e.reserve(t, q, user, wxapi.ErrQuotaExhausted)
	e.clk.Advance(time.Minute)
	e.peek(t, q, user, closed)
	e.reserve(t, q, user, wxapi.ErrWindowClosed)
}

func testMessageAndEvent(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	e.reserve(t, q, user, nil) // message: 4 left
	e.clk.Advance(time.Hour)
	t1 := e.clk.Now()
	interact(t, q, user, wxapi.InteractionEvent, t1) // a menu click opens 3 more for a minute
	closes := e.t0.Add(day2)
	e.peek(t, q, user, open(7, 8, closes))
	// The event grant closes first, so it is spent first.
	r := e.reserve(t, q, user, nil)
	if r.Grant.Kind != wxapi.InteractionEvent || !r.Grant.OpenedAt.Equal(t1) {
		t.Fatalf("Reserve took from %+v, want the event grant of %v", r.Grant, t1)
	}
	check(t, "Reserve", r.Allowance, open(6, 8, closes))
	// The event's unused sends lapse with it; the message grant is as it was.
	e.clk.Advance(time.Minute)
	e.peek(t, q, user, open(4, 5, closes))
	// An event does not reset the message grant's count.
	interact(t, q, user, wxapi.InteractionEvent, e.clk.Now())
	for range 3 {
		e.reserve(t, q, user, nil)
	}
	e.peek(t, q, user, open(4, 8, closes))
}

func testRelease(t *testing.T, e *env) {
	ctx := context.Background()
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	r := e.reserve(t, q, user, nil)
	e.reserve(t, q, user, nil)
	if err := q.Release(ctx, user, r.Grant); err != nil {
		t.Fatal(err)
	}
	closes := e.t0.Add(day2)
	e.peek(t, q, user, open(4, 5, closes))
	// Releasing more than was taken never raises the allowance above its limit.
	for range 3 {
		if err := q.Release(ctx, user, r.Grant); err != nil {
			t.Fatal(err)
		}
	}
	e.peek(t, q, user, open(5, 5, closes))
	// A send taken before a new message is not given to the new grant.
	r = e.reserve(t, q, user, nil)
	e.clk.Advance(time.Second)
	interact(t, q, user, wxapi.InteractionMessage, e.clk.Now())
	e.reserve(t, q, user, nil)
	if err := q.Release(ctx, user, r.Grant); err != nil {
		t.Fatal(err)
	}
	e.peek(t, q, user, open(4, 5, e.clk.Now().Add(day2)))
	// A zero grant (from a refused Reserve) is a no-op.
	if err := q.Release(ctx, user, wxapi.GrantID{}); err != nil {
		t.Fatal(err)
	}
	if err := q.Release(ctx, other, r.Grant); err != nil {
		t.Fatal(err)
	}
	e.peek(t, q, other, closed)
}

func testRevokeClosed(t *testing.T, e *env) {
	ctx := context.Background()
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	interact(t, q, user, wxapi.InteractionEvent, e.t0.Add(time.Second))
	e.clk.Advance(time.Hour)
	asOf := e.clk.Now()
	e.reserve(t, q, user, nil)
	// WeChat said 45015, but an event arrived while the send was in flight.
	interact(t, q, user, wxapi.InteractionEvent, asOf.Add(time.Second))
	if err := q.Revoke(ctx, user, asOf, wxapi.ReasonClosed); err != nil {
		t.Fatal(err)
	}
	// Only the event that came after asOf is left.
	e.peek(t, q, user, open(3, 3, asOf.Add(time.Second+time.Minute)))
	e.clk.Advance(time.Second + time.Minute)
	e.peek(t, q, user, closed)
	e.reserve(t, q, user, wxapi.ErrWindowClosed)
	interact(t, q, user, wxapi.InteractionMessage, e.clk.Now())
	e.peek(t, q, user, open(5, 5, e.clk.Now().Add(day2)))
	if err := q.Revoke(ctx, user, e.clk.Now(), "bogus"); err == nil {
		t.Error("Revoke with an unknown reason succeeded")
	}
}

func testRevokeExhausted(t *testing.T, e *env) {
	ctx := context.Background()
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	e.reserve(t, q, user, nil)
	if err := q.Revoke(ctx, user, e.clk.Now(), wxapi.ReasonExhausted); err != nil {
		t.Fatal(err)
	}
	closes := e.t0.Add(day2)
	e.peek(t, q, user, exhausted(5, closes))
	e.reserve(t, q, user, wxapi.ErrQuotaExhausted)
	// Revoking again, or revoking a user with no window, changes nothing.
	if err := q.Revoke(ctx, user, e.clk.Now(), wxapi.ReasonExhausted); err != nil {
		t.Fatal(err)
	}
	if err := q.Revoke(ctx, other, e.clk.Now(), wxapi.ReasonClosed); err != nil {
		t.Fatal(err)
	}
	e.peek(t, q, other, closed)
	// Any interaction makes sends possible again.
	e.clk.Advance(time.Second)
	interact(t, q, user, wxapi.InteractionEvent, e.clk.Now())
	e.peek(t, q, user, open(3, 8, e.clk.Now().Add(time.Minute)))
}

func testConfiguredLimits(t *testing.T, e *env) {
	lim := wxapi.QuotaLimits{MessageWindow: time.Hour, MessageLimit: 2, EventWindow: 10 * time.Second, EventLimit: 1}
	q := e.tracker(t, lim)
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	interact(t, q, user, wxapi.InteractionEvent, e.t0)
	e.peek(t, q, user, open(3, 3, e.t0.Add(time.Hour)))
	e.clk.Advance(10 * time.Second)
	e.peek(t, q, user, open(2, 2, e.t0.Add(time.Hour)))
	// Another instance with other limits reads the grants as they were
	// opened; only new grants get its limits.
	q2 := e.tracker(t, wxapi.QuotaLimits{MessageLimit: 7})
	e.peek(t, q2, user, open(2, 2, e.t0.Add(time.Hour)))
	interact(t, q2, user, wxapi.InteractionMessage, e.clk.Now())
	e.peek(t, q, user, open(7, 7, e.clk.Now().Add(day2)))
	if _, err := wxapi.NewTracker(e.open(e.clk.Now), wxapi.QuotaLimits{MessageLimit: -1}); err == nil {
		t.Error("NewTracker accepted a negative limit")
	}
}

func testUsers(t *testing.T, e *env) {
	q := e.tracker(t, wxapi.QuotaLimits{})
	interact(t, q, user, wxapi.InteractionMessage, e.t0)
	interact(t, q, other, wxapi.InteractionEvent, e.t0)
	e.reserve(t, q, user, nil)
	e.peek(t, q, user, open(4, 5, e.t0.Add(day2)))
	e.peek(t, q, other, open(3, 3, e.t0.Add(time.Minute)))
	ctx := context.Background()
	if err := q.Interaction(ctx, "", wxapi.InteractionMessage, e.t0); err == nil {
		t.Error("Interaction with an empty openid succeeded")
	}
	if err := q.Interaction(ctx, user, "click", e.t0); err == nil {
		t.Error("Interaction of an unknown kind succeeded")
	}
	if err := q.Interaction(ctx, user, wxapi.InteractionMessage, time.Time{}); err == nil {
		t.Error("Interaction without a time succeeded")
	}
}

// testConcurrentReserve has two instances reserve at once, more than the
// limit allows: exactly the limit succeeds.
func testConcurrentReserve(t *testing.T, e *env) {
	const perInstance = 8
	qs := []*wxapi.Tracker{e.tracker(t, wxapi.QuotaLimits{}), e.tracker(t, wxapi.QuotaLimits{})}
	interact(t, qs[0], user, wxapi.InteractionMessage, e.t0)
	interact(t, qs[1], user, wxapi.InteractionEvent, e.t0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, full int
		grants   []wxapi.GrantID
	)
	for i := range 2 * perInstance {
		wg.Go(func() {
			r, err := qs[i%2].Reserve(context.Background(), user, e.clk.Now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				grants = append(grants, r.Grant)
			case errors.Is(err, wxapi.ErrQuotaExhausted):
				full++
			default:
				t.Errorf("Reserve: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 8 || full != 2*perInstance-8 {
		t.Fatalf("%d reserved, %d refused; want 8 (5 + 3) and %d", ok, full, 2*perInstance-8)
	}
	e.peek(t, qs[0], user, exhausted(8, e.t0.Add(day2)))
	// Concurrent releases give every send back.
	for i, g := range grants {
		wg.Go(func() {
			if err := qs[i%2].Release(context.Background(), user, g); err != nil {
				t.Errorf("Release: %v", err)
			}
		})
	}
	wg.Wait()
	e.peek(t, qs[1], user, open(8, 8, e.t0.Add(day2)))
}

package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
	wxapisqlite "github.com/kefuhq/kefu/wxapi/sqlitestore"
)

// quotaCall is one write the recorder made to the tracker.
type quotaCall struct {
	Op     string // interaction, revoke
	OpenID string
	Kind   wxapi.InteractionKind
	At     time.Time
}

// heldQuota is a real tracker that keeps the writes it is given and, when
// held, holds the first one until release is closed (or the writer's
// context ends), so a test can fill the recorder's queue behind it.
type heldQuota struct {
	wxapi.Quota
	held    bool
	started chan struct{} // receives when the first write is held
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	calls   []quotaCall
}

func newHeldQuota(t *testing.T, held bool) *heldQuota {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "quota.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	states, err := wxapisqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	tracker, err := wxapi.NewTracker(states, wxapi.QuotaLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return &heldQuota{Quota: tracker, held: held, started: make(chan struct{}), release: make(chan struct{})}
}

func (q *heldQuota) record(ctx context.Context, c quotaCall) error {
	q.mu.Lock()
	q.calls = append(q.calls, c)
	q.mu.Unlock()
	var err error
	q.once.Do(func() {
		if !q.held {
			return
		}
		q.started <- struct{}{}
		select {
		case <-q.release:
		case <-ctx.Done():
			err = ctx.Err()
		}
	})
	return err
}

func (q *heldQuota) Interaction(ctx context.Context, openID string, kind wxapi.InteractionKind, at time.Time) error {
	if err := q.record(ctx, quotaCall{"interaction", openID, kind, at}); err != nil {
		return err
	}
	return q.Quota.Interaction(ctx, openID, kind, at)
}

func (q *heldQuota) Revoke(ctx context.Context, openID string, asOf time.Time, reason wxapi.Reason) error {
	if err := q.record(ctx, quotaCall{"revoke", openID, "", asOf}); err != nil {
		return err
	}
	return q.Quota.Revoke(ctx, openID, asOf, reason)
}

func (q *heldQuota) recorded() []quotaCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]quotaCall(nil), q.calls...)
}

// droppedCount is a prometheus.Counter that only counts.
type droppedCount struct {
	prometheus.Counter
	n atomic.Int64
}

func (c *droppedCount) Inc()          { c.n.Add(1) }
func (c *droppedCount) Add(v float64) { c.n.Add(int64(v)) }
func (c *droppedCount) value() int64  { return c.n.Load() }

// TestInteractionRecorder checks the engine's Inbound hook: it tells the
// tracker of the windows users open and close, coalescing repeats, never
// blocks the turn (it drops and counts when the queue is full), and
// drains its queue when closed.
func TestInteractionRecorder(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	text := func(user string, s int) bot.Inbound {
		return bot.Inbound{OpenID: user, Kind: bot.KindText, Text: "你好", MsgID: user + at(s).String(), CreateTime: at(s)}
	}
	event := func(user, name string, s int) bot.Inbound {
		return bot.Inbound{OpenID: user, Kind: bot.KindEvent, Event: name, CreateTime: at(s)}
	}
	start := func(t *testing.T, held bool, size int) (*interactionRecorder, *heldQuota, *droppedCount) {
		t.Helper()
		q := newHeldQuota(t, held)
		dropped := &droppedCount{}
		r := newInteractionRecorder(q, size, dropped, slog.New(slog.DiscardHandler))
		t.Cleanup(func() { r.Close() })
		return r, q, dropped
	}
	// hold offers in and waits until the writer holds it.
	hold := func(r *interactionRecorder, q *heldQuota, in bot.Inbound) {
		r.Inbound(in)
		<-q.started
	}

	t.Run("RecordsKinds", func(t *testing.T) {
		r, q, dropped := start(t, false, 16)
		r.Inbound(text("o_text", 1))
		r.Inbound(event("o_click", bot.EventClick, 2))
		r.Inbound(event("o_view", "VIEW", 3))
		r.Inbound(event("o_follow", bot.EventSubscribe, 4))
		r.Inbound(bot.Inbound{OpenID: "o_location", Kind: bot.KindLocation, MsgID: "9", CreateTime: at(5)})
		r.Close()
		want := []quotaCall{
			{"interaction", "o_text", wxapi.InteractionMessage, at(1)},
			{"interaction", "o_click", wxapi.InteractionEvent, at(2)},
			{"interaction", "o_follow", wxapi.InteractionEvent, at(4)},
			{"interaction", "o_location", wxapi.InteractionMessage, at(5)},
		}
		if diff := cmp.Diff(want, q.recorded()); diff != "" {
			t.Errorf("tracker told (-want +got):\n%s", diff)
		}
		if a, err := q.Peek(ctx, "o_text", at(6)); err != nil || a.Reason != wxapi.ReasonOpen || a.Limit != 5 {
			t.Errorf("o_text: %+v, %v; want a message window open", a, err)
		}
		if a, err := q.Peek(ctx, "o_click", at(6)); err != nil || a.Reason != wxapi.ReasonOpen || a.Limit != 3 {
			t.Errorf("o_click: %+v, %v; want an event window open", a, err)
		}
		if got := dropped.value(); got != 0 {
			t.Errorf("dropped %v", got)
		}
	})

	t.Run("Coalesces", func(t *testing.T) {
		r, q, _ := start(t, true, 16)
		hold(r, q, text("o_a", 1))
		r.Inbound(text("o_a", 3))
		r.Inbound(text("o_a", 2)) // older: the newest of the batch wins
		r.Inbound(event("o_a", bot.EventClick, 4))
		r.Inbound(text("o_b", 5))
		r.Inbound(event("o_a", bot.EventClick, 6))
		close(q.release)
		r.Close()
		// o_a's message window, written at 1, is not written again 2 s
		// later: it is fresh.
		want := []quotaCall{
			{"interaction", "o_a", wxapi.InteractionMessage, at(1)},
			{"interaction", "o_a", wxapi.InteractionEvent, at(6)},
			{"interaction", "o_b", wxapi.InteractionMessage, at(5)},
		}
		if diff := cmp.Diff(want, q.recorded()); diff != "" {
			t.Errorf("tracker told (-want +got):\n%s", diff)
		}
	})

	t.Run("RefreshesStaleWindows", func(t *testing.T) {
		r, q, _ := start(t, true, 16)
		hold(r, q, text("o_a", 1))
		r.Inbound(text("o_a", 30)) // fresh: skipped
		r.Inbound(event("o_b", bot.EventClick, 2))
		close(q.release)
		r.Close()
		r2, q2, _ := start(t, true, 16)
		r2.written = r.written // the same recorder's memory, a batch later
		hold(r2, q2, text("o_a", 62))
		r2.Inbound(event("o_b", bot.EventClick, 4)) // an event window is fresh for 5 s only
		r2.Inbound(event("o_b", bot.EventClick, 8))
		close(q2.release)
		r2.Close()
		want := []quotaCall{
			{"interaction", "o_a", wxapi.InteractionMessage, at(1)},
			{"interaction", "o_b", wxapi.InteractionEvent, at(2)},
		}
		if diff := cmp.Diff(want, q.recorded()); diff != "" {
			t.Errorf("first batch told (-want +got):\n%s", diff)
		}
		want2 := []quotaCall{
			{"interaction", "o_a", wxapi.InteractionMessage, at(62)},
			{"interaction", "o_b", wxapi.InteractionEvent, at(8)},
		}
		if diff := cmp.Diff(want2, q2.recorded()); diff != "" {
			t.Errorf("later batch told (-want +got):\n%s", diff)
		}
	})

	t.Run("Unsubscribe", func(t *testing.T) {
		r, q, _ := start(t, true, 16)
		hold(r, q, text("o_other", 1))
		r.Inbound(event("o_gone", bot.EventUnsubscribe, 3))
		r.Inbound(event("o_gone", bot.EventClick, 2))
		r.Inbound(text("o_back", 2))
		r.Inbound(event("o_back", bot.EventUnsubscribe, 3))
		r.Inbound(text("o_back", 4)) // wrote again after unsubscribing
		close(q.release)
		r.Close()
		want := []quotaCall{
			{"interaction", "o_other", wxapi.InteractionMessage, at(1)},
			{"interaction", "o_gone", wxapi.InteractionEvent, at(2)},
			{"interaction", "o_back", wxapi.InteractionMessage, at(4)},
			{"revoke", "o_gone", "", at(3)},
			{"revoke", "o_back", "", at(3)},
		}
		if diff := cmp.Diff(want, q.recorded()); diff != "" {
			t.Errorf("tracker told (-want +got):\n%s", diff)
		}
		if a, err := q.Peek(ctx, "o_gone", at(5)); err != nil || a.Reason != wxapi.ReasonClosed {
			t.Errorf("o_gone after unsubscribing: %+v, %v; want closed", a, err)
		}
		if a, err := q.Peek(ctx, "o_back", at(5)); err != nil || a.Reason != wxapi.ReasonOpen {
			t.Errorf("o_back, who wrote after unsubscribing: %+v, %v; want open", a, err)
		}
	})

	t.Run("DropsWhenFull", func(t *testing.T) {
		r, q, dropped := start(t, true, 2)
		hold(r, q, text("o_1", 1))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 2; i <= 5; i++ { // 2 and 3 fill the queue
				r.Inbound(text("o_"+string(rune('0'+i)), i))
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Inbound blocked on a full queue")
		}
		if got := dropped.value(); got != 2 {
			t.Errorf("dropped %v, want 2", got)
		}
		close(q.release)
		r.Close()
		if got := len(q.recorded()); got != 3 {
			t.Errorf("tracker told %d interactions, want 3 (the held one and the two queued)", got)
		}
		r.Inbound(text("o_late", 6)) // after Close: dropped, no panic
		if got := dropped.value(); got != 3 {
			t.Errorf("dropped %v after Close, want 3", got)
		}
	})

	t.Run("DrainsOnClose", func(t *testing.T) {
		r, q, dropped := start(t, true, 16)
		hold(r, q, text("o_1", 1))
		for i := 2; i <= 9; i++ {
			r.Inbound(text("o_"+string(rune('0'+i)), i))
		}
		closed := make(chan struct{})
		go func() {
			r.Close()
			close(closed)
		}()
		select {
		case <-closed:
			t.Fatal("Close returned while a write was in progress")
		default:
		}
		close(q.release)
		<-closed
		if got := len(q.recorded()); got != 9 {
			t.Errorf("tracker told %d interactions, want all 9", got)
		}
		if got := dropped.value(); got != 0 {
			t.Errorf("dropped %v", got)
		}
	})

	t.Run("GivesUpDraining", func(t *testing.T) {
		r, q, dropped := start(t, true, 16)
		r.drain = 10 * time.Millisecond
		hold(r, q, text("o_1", 1))
		for i := 2; i <= 4; i++ {
			r.Inbound(text("o_"+string(rune('0'+i)), i))
		}
		r.Close() // the held write never finishes: its context ends
		if got := len(q.recorded()); got != 1 {
			t.Errorf("tracker told %d interactions, want only the held one", got)
		}
		if got := dropped.value(); got != 3 {
			t.Errorf("dropped %v, want the 3 queued", got)
		}
	})
}

// TestWebhookFeedsQuota checks that a message through the webhook from a
// user queued for a person opens the user's message window in the quota
// tracker, on both stores; a user the bot answers is not written (no agent
// sends to them).
func TestWebhookFeedsQuota(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"embedded", func(t *testing.T) []string { return []string{"KEFU_DATA_DIR=" + t.TempDir()} }},
		{"redis", sharedEnv},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newTestApp(t, t.TempDir(), "", tt.env(t)...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if q, err := a.quota.Peek(ctx, "o_feed", time.Now()); err != nil || q.Reason != wxapi.ReasonClosed {
				t.Fatalf("before any message: %+v, %v; want closed", q, err)
			}
			srv := serveApp(t, a)
			sendWebhook(t, srv, "o_bot", "你好", 4241)
			sendWebhook(t, srv, "o_feed", "转人工", 4242)
			flushInteractions(t, a)
			if q, err := a.quota.Peek(ctx, "o_bot", time.Now()); err != nil || q.Reason != wxapi.ReasonClosed {
				t.Errorf("a user the bot answered: %+v, %v; want nothing written", q, err)
			}
			q, err := a.quota.Peek(ctx, "o_feed", time.Now())
			if err != nil || q.Reason != wxapi.ReasonOpen || q.Remaining != a.cfg.CSLimit || q.Limit != a.cfg.CSLimit {
				t.Fatalf("after a message: %+v, %v; want %d of %d sends open", q, err, a.cfg.CSLimit, a.cfg.CSLimit)
			}
			if closes := time.Until(q.WindowClosesAt); closes < a.cfg.CSWindow-time.Minute || closes > a.cfg.CSWindow {
				t.Errorf("window closes in %v, want about %v", closes, a.cfg.CSWindow)
			}
		})
	}
}

// flushInteractions waits for a's turns to end and its interaction
// recorder to write what they reported (closing it).
func flushInteractions(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.engine.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.closers {
		if r, ok := c.(*interactionRecorder); ok {
			r.Close()
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents/flows"
)

// TestSessionStore runs the conformance tests of a bot.SessionStore.
// newStore returns an empty store for one subtest.
func TestSessionStore(t *testing.T, newStore func(t *testing.T) bot.SessionStore) {
	t.Run("NotStored", func(t *testing.T) { testSessionNotStored(t, newStore(t)) })
	t.Run("OK", func(t *testing.T) { testSessionOK(t, newStore(t)) })
	t.Run("ErrConflict", func(t *testing.T) { testSessionConflict(t, newStore(t)) })
	t.Run("ErrConflictFirstSave", func(t *testing.T) { testSessionConflictFirstSave(t, newStore(t)) })
	t.Run("CallerCopyIsOwn", func(t *testing.T) { testSessionCallerCopy(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testSessionDelete(t, newStore(t)) })
	t.Run("Users", func(t *testing.T) { testSessionUsers(t, newStore(t)) })
	t.Run("Text", func(t *testing.T) { testSessionText(t, newStore(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testSessionConcurrent(t, newStore(t)) })
	t.Run("IdleFlows", func(t *testing.T) { testIdleFlows(t, newStore(t)) })
}

// testIdleFlows: the sessions with a running flow are found by its last
// activity, the longest idle first; leaving the flow or deleting the
// session takes them out.
func testIdleFlows(t *testing.T, s bot.SessionStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	withFlow := func(id string, active time.Time) bot.Session {
		sess := mustSession(t, s, id)
		sess.State = bot.StateFlow
		sess.Flow = &flows.State{Flow: "bill_export", Step: "email", StartedAt: active, UpdatedAt: active}
		mustSave(t, s, &sess)
		return sess
	}
	withFlow("o-old", t0)
	withFlow("o-older", t0.Add(-time.Hour))
	fresh := withFlow("o-fresh", t0.Add(40*time.Minute))
	left := withFlow("o-left", t0.Add(-2*time.Hour))
	left.Flow, left.State = nil, bot.StateBot
	mustSave(t, s, &left)
	gone := withFlow("o-gone", t0.Add(-3*time.Hour))
	if err := s.DeleteSession(ctx, gone.OpenID); err != nil {
		t.Fatal(err)
	}
	plain := mustSession(t, s, "o-plain")
	mustSave(t, s, &plain)

	idle := func(before time.Time, limit int) []string {
		t.Helper()
		ids, err := s.IdleFlows(ctx, before, limit)
		if err != nil {
			t.Fatalf("IdleFlows: %v", err)
		}
		return ids
	}
	if got, want := idle(t0.Add(30*time.Minute), 10), []string{"o-older", "o-old"}; !cmp.Equal(got, want) {
		t.Errorf("IdleFlows = %v, want %v", got, want)
	}
	if got := idle(t0.Add(30*time.Minute), 1); !cmp.Equal(got, []string{"o-older"}) {
		t.Errorf("IdleFlows limit 1 = %v", got)
	}
	if got := idle(t0.Add(-time.Hour), 10); len(got) != 0 {
		t.Errorf("IdleFlows before the oldest = %v, want none", got)
	}
	// A save moves the flow to its new last activity.
	fresh.Flow.UpdatedAt = t0.Add(-90 * time.Minute)
	mustSave(t, s, &fresh)
	if got := idle(t0.Add(-30*time.Minute), 10); !cmp.Equal(got, []string{"o-fresh", "o-older"}) {
		t.Errorf("IdleFlows after an update = %v", got)
	}
}

var sessionOpts = cmp.Options{cmpopts.EquateEmpty()}

func mustSession(t *testing.T, s bot.SessionStore, openID string) bot.Session {
	t.Helper()
	sess, err := s.Session(context.Background(), openID)
	if err != nil {
		t.Fatalf("Session(%q): %v", openID, err)
	}
	return sess
}

func mustSave(t *testing.T, s bot.SessionStore, sess *bot.Session) {
	t.Helper()
	if err := s.SaveSession(context.Background(), sess); err != nil {
		t.Fatalf("SaveSession(%q at %d): %v", sess.OpenID, sess.Version, err)
	}
}

func testSessionNotStored(t *testing.T, s bot.SessionStore) {
	got := mustSession(t, s, "o-new")
	want := bot.Session{OpenID: "o-new", State: bot.StateBot}
	if diff := cmp.Diff(want, got, sessionOpts); diff != "" {
		t.Errorf("Session of a new user (-want +got):\n%s", diff)
	}
}

func testSessionOK(t *testing.T, s bot.SessionStore) {
	at := time.Date(2026, 11, 25, 14, 20, 5, 123456789, time.FixedZone("CST", 8*3600))
	sess := mustSession(t, s, "o-1")
	sess.State = bot.StateFlow
	sess.FailedTurns = 2
	sess.LastArticleID = "a-17"
	sess.TicketID = "T20261125-00001"
	sess.English = true
	sess.UpdatedAt = at
	sess.Flow = &flows.State{Flow: "account_unfreeze", Step: "phone", Run: "0a1b2c", Origin: "urgent:emergency",
		Values: map[string]string{"cause": "不清楚原因"}, Trail: []string{"cause"}, Invalid: 1,
		StartedAt: at, UpdatedAt: at.Add(time.Second)}
	sess.Remember(
		handoff.Message{From: handoff.FromUser, Kind: "text", Text: "怎么解冻账号", At: at},
		handoff.Message{From: handoff.FromBot, Text: "请按以下步骤操作……", At: at.Add(time.Second)},
		handoff.Message{From: handoff.FromUser, Kind: "image", Media: "media-123", At: at.Add(2 * time.Second)},
	)
	mustSave(t, s, &sess)
	if sess.Version != 1 {
		t.Errorf("Version after the first save = %d, want 1", sess.Version)
	}
	got := mustSession(t, s, "o-1")
	if diff := cmp.Diff(sess, got, sessionOpts); diff != "" {
		t.Errorf("Session after save (-want +got):\n%s", diff)
	}

	got.FailedTurns = 0
	got.State = bot.StateQueued
	mustSave(t, s, &got)
	if got.Version != 2 {
		t.Errorf("Version after the second save = %d, want 2", got.Version)
	}
	again := mustSession(t, s, "o-1")
	if diff := cmp.Diff(got, again, sessionOpts); diff != "" {
		t.Errorf("Session after the second save (-want +got):\n%s", diff)
	}
}

func testSessionConflict(t *testing.T, s bot.SessionStore) {
	first := mustSession(t, s, "o-1")
	mustSave(t, s, &first)
	a := mustSession(t, s, "o-1")
	b := mustSession(t, s, "o-1")
	a.FailedTurns = 1
	mustSave(t, s, &a)

	b.FailedTurns = 7
	err := s.SaveSession(context.Background(), &b)
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("SaveSession of a stale copy: err = %v, want ErrConflict", err)
	}
	if b.Version != 1 {
		t.Errorf("Version of the refused copy = %d, want it unchanged at 1", b.Version)
	}
	if got := mustSession(t, s, "o-1"); got.FailedTurns != 1 || got.Version != 2 {
		t.Errorf("stored session = FailedTurns %d Version %d, want 1 and 2", got.FailedTurns, got.Version)
	}

	// A copy from the future is stale too.
	c := mustSession(t, s, "o-1")
	c.Version += 5
	if err := s.SaveSession(context.Background(), &c); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("SaveSession at a version never stored: err = %v, want ErrConflict", err)
	}
}

func testSessionConflictFirstSave(t *testing.T, s bot.SessionStore) {
	a := mustSession(t, s, "o-1")
	b := mustSession(t, s, "o-1")
	a.LastArticleID = "a"
	mustSave(t, s, &a)
	b.LastArticleID = "b"
	if err := s.SaveSession(context.Background(), &b); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("second first save: err = %v, want ErrConflict", err)
	}
	if b.Version != 0 {
		t.Errorf("Version of the refused copy = %d, want 0", b.Version)
	}
	if got := mustSession(t, s, "o-1"); got.LastArticleID != "a" {
		t.Errorf("LastArticleID = %q, want the first writer's %q", got.LastArticleID, "a")
	}
}

// testSessionCallerCopy checks that changing a session read or saved does
// not change what is stored (a store that caches must copy).
func testSessionCallerCopy(t *testing.T, s bot.SessionStore) {
	sess := mustSession(t, s, "o-1")
	sess.Remember(handoff.Message{From: handoff.FromUser, Kind: "text", Text: "一"})
	mustSave(t, s, &sess)
	sess.History[0].Text = "changed after save"
	withFlow := mustSession(t, s, "o-2")
	withFlow.Flow = &flows.State{Flow: "bill_export", Values: map[string]string{"period": "近1年"}}
	mustSave(t, s, &withFlow)
	withFlow.Flow.Values["period"] = "changed after save"
	if got := mustSession(t, s, "o-2"); got.Flow == nil || got.Flow.Values["period"] != "近1年" {
		t.Errorf("stored flow changed through a caller's copy: %+v", got.Flow)
	} else {
		got.Flow.Values["period"] = "changed after read"
		if again := mustSession(t, s, "o-2"); again.Flow.Values["period"] != "近1年" {
			t.Errorf("stored flow changed through a reader's copy: %+v", again.Flow)
		}
	}
	sess.FailedTurns = 9

	read := mustSession(t, s, "o-1")
	read.History[0].Text = "changed after read"
	read.Flow = &flows.State{Flow: "set after read"}
	read.History = append(read.History, handoff.Message{Text: "appended after read"})

	got := mustSession(t, s, "o-1")
	if len(got.History) != 1 || got.History[0].Text != "一" || got.FailedTurns != 0 || got.Flow != nil {
		t.Errorf("stored session changed through a caller's copy: %+v", got)
	}
}

func testSessionDelete(t *testing.T, s bot.SessionStore) {
	ctx := context.Background()
	if err := s.DeleteSession(ctx, "o-missing"); err != nil {
		t.Errorf("DeleteSession of a missing session: %v", err)
	}
	sess := mustSession(t, s, "o-1")
	sess.State = bot.StateQueued
	mustSave(t, s, &sess)
	stale := sess

	if err := s.DeleteSession(ctx, "o-1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	got := mustSession(t, s, "o-1")
	if diff := cmp.Diff(bot.Session{OpenID: "o-1", State: bot.StateBot}, got, sessionOpts); diff != "" {
		t.Errorf("Session after delete (-want +got):\n%s", diff)
	}
	if err := s.SaveSession(ctx, &stale); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("SaveSession of a copy read before delete: err = %v, want ErrConflict", err)
	}
	mustSave(t, s, &got)
	if got.Version != 1 {
		t.Errorf("Version of the first save after delete = %d, want 1", got.Version)
	}
}

func testSessionUsers(t *testing.T, s bot.SessionStore) {
	for i, id := range []string{"o-a", "o-b", "o-c"} {
		sess := mustSession(t, s, id)
		sess.FailedTurns = i + 1
		mustSave(t, s, &sess)
	}
	if err := s.DeleteSession(context.Background(), "o-b"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"o-a": 1, "o-b": 0, "o-c": 3} {
		if got := mustSession(t, s, id); got.FailedTurns != want {
			t.Errorf("%s: FailedTurns = %d, want %d", id, got.FailedTurns, want)
		}
	}
}

func testSessionText(t *testing.T, s bot.SessionStore) {
	id := "oAbC-_123" + "用户"
	sess := mustSession(t, s, id)
	sess.LastArticleID = awkward
	sess.Remember(handoff.Message{From: handoff.FromUser, Kind: "text", Text: awkward, Media: awkward})
	mustSave(t, s, &sess)
	got := mustSession(t, s, id)
	if diff := cmp.Diff(sess, got, sessionOpts); diff != "" {
		t.Errorf("awkward text round trip (-want +got):\n%s", diff)
	}
}

// testSessionConcurrent runs load-modify-save loops on one session from
// many goroutines, retrying on ErrConflict: no update may be lost.
func testSessionConcurrent(t *testing.T, s bot.SessionStore) {
	const workers, each = 8, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := 0; i < each; {
				sess, err := s.Session(ctx, "o-hot")
				if err != nil {
					errs <- err
					return
				}
				sess.FailedTurns++
				sess.Remember(handoff.Message{From: handoff.FromUser, Text: fmt.Sprintf("w%d-%d", w, i)})
				switch err := s.SaveSession(ctx, &sess); {
				case err == nil:
					i++
				case !errors.Is(err, bot.ErrConflict):
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustSession(t, s, "o-hot")
	if got.FailedTurns != workers*each || got.Version != workers*each {
		t.Errorf("after %d saves: FailedTurns = %d, Version = %d", workers*each, got.FailedTurns, got.Version)
	}
	if len(got.History) != bot.HistoryLimit {
		t.Errorf("len(History) = %d, want %d", len(got.History), bot.HistoryLimit)
	}
}

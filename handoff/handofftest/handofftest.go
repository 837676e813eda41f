// Package handofftest is the conformance suite of handoff.Store: every
// implementation runs these tests from its own test file, so the embedded
// and the shared mode behave alike.
//
//	func TestStore(t *testing.T) {
//		handofftest.TestStore(t, func(t *testing.T) handoff.Store { return newStore(t) })
//	}
//
// The Bench functions are the shared bodies of the stores' benchmarks.
package handofftest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/handoff"
)

// TestStore runs the conformance tests of a handoff.Store. newStore returns
// an empty store for one subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) handoff.Store) {
	t.Run("CreateTicket", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testCreateOK(t, newStore(t)) })
		t.Run("GivenID", func(t *testing.T) { testCreateGivenID(t, newStore(t)) })
		t.Run("Sequence", func(t *testing.T) { testCreateSequence(t, newStore(t)) })
		t.Run("ConcurrentSequence", func(t *testing.T) { testCreateConcurrent(t, newStore(t)) })
	})
	t.Run("Ticket", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) { testTicketNotFound(t, newStore(t)) })
		t.Run("Text", func(t *testing.T) { testTicketText(t, newStore(t)) })
	})
	t.Run("TicketHeader", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testHeaderOK(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testHeaderNotFound(t, newStore(t)) })
	})
	t.Run("UpdateTicket", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testUpdateOK(t, newStore(t)) })
		t.Run("ErrConflict", func(t *testing.T) { testUpdateConflict(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testUpdateNotFound(t, newStore(t)) })
		t.Run("Race", func(t *testing.T) { testUpdateRace(t, newStore(t)) })
		t.Run("Appends", func(t *testing.T) { testUpdateAppends(t, newStore(t)) })
		t.Run("ErrInvalid", func(t *testing.T) { testUpdateShrink(t, newStore(t)) })
	})
	t.Run("AppendMessages", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testAppendOK(t, newStore(t)) })
		t.Run("Bare", func(t *testing.T) { testAppendBare(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testAppendNotFound(t, newStore(t)) })
		t.Run("Concurrent", func(t *testing.T) { testAppendConcurrent(t, newStore(t)) })
		t.Run("Long", func(t *testing.T) { testAppendLong(t, newStore(t)) })
	})
	t.Run("OneOpenTicket", func(t *testing.T) {
		t.Run("Create", func(t *testing.T) { testOneOpenCreate(t, newStore(t)) })
		t.Run("Reopen", func(t *testing.T) { testOneOpenReopen(t, newStore(t)) })
		t.Run("ConcurrentCreate", func(t *testing.T) { testOneOpenConcurrent(t, newStore(t)) })
	})
	t.Run("OpenTicket", func(t *testing.T) { testOpenTicket(t, newStore(t)) })
	t.Run("QueuePosition", func(t *testing.T) {
		t.Run("Order", func(t *testing.T) { testQueueOrder(t, newStore(t)) })
		t.Run("Changes", func(t *testing.T) { testQueueChanges(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testQueueNotFound(t, newStore(t)) })
		t.Run("Random", func(t *testing.T) { testQueueRandom(t, newStore(t)) })
	})
	t.Run("QueueLength", func(t *testing.T) {
		t.Run("Changes", func(t *testing.T) { testQueueLengthChanges(t, newStore(t)) })
		t.Run("Concurrent", func(t *testing.T) { testQueueLengthConcurrent(t, newStore(t)) })
	})
	t.Run("Tickets", func(t *testing.T) {
		testTickets(t, newStore(t))
		t.Run("CreatedBefore", func(t *testing.T) { testCreatedBefore(t, newStore(t)) })
	})
	t.Run("SplitTicket", func(t *testing.T) { testSplitTicket(t, newStore(t)) })
	t.Run("CountSince", func(t *testing.T) { testCountSince(t, newStore(t)) })
}

// awkward is text that storage must keep byte for byte: Chinese, quotes,
// an XML CDATA end, emoji, backslashes, and control characters other than
// NUL.
const awkward = "我的账号被盗了！\"转人工\" 'quote' ]]> <xml>&amp; 😀👨‍👩‍👧 \\n\\\" tab\there\r\nbell\a\x01\x1f\x7f end"

var (
	cst  = time.FixedZone("CST", 8*3600)
	day  = time.Date(2026, 11, 25, 9, 30, 0, 0, cst)
	opts = cmp.Options{cmpopts.EquateEmpty()}
	idRe = regexp.MustCompile(`^T(\d{8})-(\d{5,})$`)
)

// newTicket returns an unsaved ticket created at day plus offset.
func newTicket(openID, lane string, status handoff.Status, offset time.Duration) *handoff.Ticket {
	created := day.Add(offset)
	return &handoff.Ticket{
		OpenID:    openID,
		UnionID:   "u-" + openID,
		Lane:      lane,
		Reasons:   []string{"user_request"},
		Status:    status,
		Priority:  1,
		SLADueAt:  created.Add(24 * time.Hour),
		CreatedAt: created,
		UpdatedAt: created,
		Messages: []handoff.Message{
			{From: handoff.FromUser, Kind: "text", Text: "转人工", At: created.Add(-time.Minute)},
			{From: handoff.FromBot, Text: "正在为你转接人工客服。", At: created.Add(-time.Minute + time.Second)},
		},
	}
}

func mustCreate(t *testing.T, s handoff.Store, tk *handoff.Ticket) *handoff.Ticket {
	t.Helper()
	if err := s.CreateTicket(context.Background(), tk); err != nil {
		t.Fatalf("CreateTicket(%s): %v", tk.OpenID, err)
	}
	return tk
}

func mustTicket(t *testing.T, s handoff.Store, id string) handoff.Ticket {
	t.Helper()
	tk, err := s.Ticket(context.Background(), id)
	if err != nil {
		t.Fatalf("Ticket(%s): %v", id, err)
	}
	return tk
}

func mustUpdate(t *testing.T, s handoff.Store, tk *handoff.Ticket) {
	t.Helper()
	if err := s.UpdateTicket(context.Background(), tk); err != nil {
		t.Fatalf("UpdateTicket(%s at %d): %v", tk.ID, tk.Version, err)
	}
}

func testCreateOK(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "emergency", handoff.StatusQueued, 0)
	tk.Reasons = []string{"urgent:emergency", "failed_turns"}
	tk.Evidence = []handoff.Message{{From: handoff.FromUser, Kind: "image", Media: "m-1", At: day}}
	mustCreate(t, s, tk)
	m := idRe.FindStringSubmatch(tk.ID)
	if m == nil {
		t.Fatalf("ID = %q, want T<YYYYMMDD>-<at least 5 digits>", tk.ID)
	}
	if m[1] != "20261125" {
		t.Errorf("ID date = %s, want CreatedAt's 20261125", m[1])
	}
	if tk.Version != 1 {
		t.Errorf("Version = %d, want 1", tk.Version)
	}
	got := mustTicket(t, s, tk.ID)
	if diff := cmp.Diff(*tk, got, opts); diff != "" {
		t.Errorf("Ticket after create (-want +got):\n%s", diff)
	}

	// The date is CreatedAt's own: 01:00 in Beijing is still the 24th in UTC.
	early := newTicket("o-2", "normal", handoff.StatusQueued, 0)
	early.CreatedAt = time.Date(2026, 11, 25, 1, 0, 0, 0, cst)
	mustCreate(t, s, early)
	if m := idRe.FindStringSubmatch(early.ID); m == nil || m[1] != "20261125" {
		t.Errorf("ID of a ticket created 2026-11-25 01:00 +08:00 = %q, want date 20261125", early.ID)
	}
}

func testCreateGivenID(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.ID = "WEB-42"
	mustCreate(t, s, tk)
	if tk.ID != "WEB-42" || tk.Version != 1 {
		t.Errorf("created ticket = ID %q Version %d, want WEB-42 and 1", tk.ID, tk.Version)
	}
	got := mustTicket(t, s, "WEB-42")
	if diff := cmp.Diff(*tk, got, opts); diff != "" {
		t.Errorf("Ticket (-want +got):\n%s", diff)
	}
	dup := newTicket("o-2", "normal", handoff.StatusQueued, time.Minute)
	dup.ID = "WEB-42"
	if err := s.CreateTicket(context.Background(), dup); err == nil {
		t.Errorf("CreateTicket with a taken ID: err = nil")
	}
	if got := mustTicket(t, s, "WEB-42"); got.OpenID != "o-1" {
		t.Errorf("a refused create changed the ticket: open_id %q", got.OpenID)
	}
}

func seq(t *testing.T, id string) int {
	t.Helper()
	m := idRe.FindStringSubmatch(id)
	if m == nil {
		t.Fatalf("ID = %q, want T<YYYYMMDD>-<at least 5 digits>", id)
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		t.Fatalf("ID = %q: %v", id, err)
	}
	return n
}

// testCreateSequence checks that the number runs on across days: it is
// store-wide, not per day.
func testCreateSequence(t *testing.T, s handoff.Store) {
	a := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	b := mustCreate(t, s, newTicket("o-2", "normal", handoff.StatusQueued, 24*time.Hour))
	c := mustCreate(t, s, newTicket("o-3", "normal", handoff.StatusQueued, 0))
	if !(seq(t, a.ID) < seq(t, b.ID) && seq(t, b.ID) < seq(t, c.ID)) {
		t.Errorf("IDs %s, %s, %s: want rising numbers", a.ID, b.ID, c.ID)
	}
	if b.ID[1:9] != "20261126" {
		t.Errorf("ID of a ticket created the next day = %s, want date 20261126", b.ID)
	}
}

func testCreateConcurrent(t *testing.T, s handoff.Store) {
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tk := newTicket(fmt.Sprint("o-", i), "normal", handoff.StatusQueued, time.Duration(i)*time.Second)
			if err := s.CreateTicket(context.Background(), tk); err != nil {
				t.Error(err)
			}
			ids[i] = tk.ID
		})
	}
	wg.Wait()
	seen := map[int]string{}
	for _, id := range ids {
		n := seq(t, id)
		if other, dup := seen[n]; dup {
			t.Errorf("number %d given twice: %s and %s", n, other, id)
		}
		seen[n] = id
	}
	all, err := s.Tickets(context.Background(), handoff.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Errorf("%d tickets stored, want %d", len(all), n)
	}
}

func testTicketNotFound(t *testing.T, s handoff.Store) {
	if _, err := s.Ticket(context.Background(), "T20261125-99999"); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("Ticket of an unknown id: err = %v, want ErrNotFound", err)
	}
}

func testTicketText(t *testing.T, s handoff.Store) {
	tk := newTicket("o-"+awkward, "normal", handoff.StatusQueued, 0)
	tk.Reasons = []string{awkward}
	tk.AgentID = awkward
	tk.Messages = append(tk.Messages, handoff.Message{From: handoff.FromUser, Kind: "text", Text: awkward, At: day})
	mustCreate(t, s, tk)
	if err := s.AppendMessages(context.Background(), tk.ID,
		handoff.Message{From: handoff.FromUser, Kind: "link", Text: awkward, Media: awkward, At: day}); err != nil {
		t.Fatal(err)
	}
	got := mustTicket(t, s, tk.ID)
	if got.Messages[2].Text != awkward || got.Messages[3].Text != awkward || got.Messages[3].Media != awkward ||
		got.Evidence[0].Text != awkward || got.Reasons[0] != awkward || got.AgentID != awkward {
		t.Errorf("awkward text changed in the store: %+v", got)
	}
	open, err := s.OpenTicket(context.Background(), "o-"+awkward)
	if err != nil || open.ID != tk.ID {
		t.Errorf("OpenTicket of an awkward open_id = %q, %v; want %s", open.ID, err, tk.ID)
	}
}

func testUpdateOK(t *testing.T, s handoff.Store) {
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	tk.Status = handoff.StatusAssigned
	tk.AgentID = "agent-7"
	tk.Lane = "emergency"
	tk.Reasons = append(tk.Reasons, "urgent:emergency")
	tk.Merged++
	tk.Priority = 5
	tk.UpdatedAt = day.Add(time.Hour)
	tk.Messages = append(tk.Messages, handoff.Message{From: handoff.FromAgent, Text: "您好，我是客服小王。", At: day.Add(time.Hour)})
	mustUpdate(t, s, tk)
	if tk.Version != 2 {
		t.Errorf("Version after update = %d, want 2", tk.Version)
	}
	got := mustTicket(t, s, tk.ID)
	if diff := cmp.Diff(*tk, got, opts); diff != "" {
		t.Errorf("Ticket after update (-want +got):\n%s", diff)
	}

	got.Status = handoff.StatusClosed
	got.ClosedAt = day.Add(2 * time.Hour)
	mustUpdate(t, s, &got)
	again := mustTicket(t, s, tk.ID)
	if diff := cmp.Diff(got, again, opts); diff != "" {
		t.Errorf("Ticket after close (-want +got):\n%s", diff)
	}
}

func testUpdateConflict(t *testing.T, s handoff.Store) {
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	a, b := mustTicket(t, s, tk.ID), mustTicket(t, s, tk.ID)
	a.AgentID = "agent-a"
	mustUpdate(t, s, &a)
	b.AgentID = "agent-b"
	if err := s.UpdateTicket(context.Background(), &b); !errors.Is(err, handoff.ErrConflict) {
		t.Fatalf("UpdateTicket of a stale copy: err = %v, want ErrConflict", err)
	}
	if b.Version != 1 {
		t.Errorf("Version of the refused copy = %d, want it unchanged at 1", b.Version)
	}
	if got := mustTicket(t, s, tk.ID); got.AgentID != "agent-a" || got.Version != 2 {
		t.Errorf("stored ticket = agent %q version %d, want agent-a and 2", got.AgentID, got.Version)
	}
}

func testUpdateNotFound(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.ID, tk.Version = "T20261125-99999", 1
	if err := s.UpdateTicket(context.Background(), tk); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("UpdateTicket of an unknown id: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Ticket(context.Background(), tk.ID); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("a refused update created the ticket: err = %v", err)
	}
}

// testUpdateRace has agents claim one ticket at once: exactly one wins.
func testUpdateRace(t *testing.T, s handoff.Store) {
	const n = 16
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	copies := make([]handoff.Ticket, n)
	for i := range copies {
		copies[i] = mustTicket(t, s, tk.ID)
		copies[i].Status = handoff.StatusAssigned
		copies[i].AgentID = fmt.Sprint("agent-", i)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	for i := range copies {
		wg.Go(func() {
			err := s.UpdateTicket(context.Background(), &copies[i])
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, copies[i].AgentID)
				mu.Unlock()
			case !errors.Is(err, handoff.ErrConflict):
				t.Errorf("UpdateTicket: %v", err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	if got := mustTicket(t, s, tk.ID); got.AgentID != winners[0] || got.Version != 2 {
		t.Errorf("stored ticket = agent %q version %d, want %s and 2", got.AgentID, got.Version, winners[0])
	}
}

func testAppendOK(t *testing.T, s handoff.Store) {
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	at := day.Add(time.Minute)
	msgs := []handoff.Message{
		{From: handoff.FromUser, Kind: "text", Text: "还在吗？", At: at},
		{From: handoff.FromUser, Kind: "image", Media: "media-1", At: at},
		{From: handoff.FromUser, Kind: "location", Text: "北京市朝阳区", Media: "39.9,116.4", At: at},
		{From: handoff.FromUser, Kind: "click", Text: "[菜单] 人工客服", At: at},
		{From: handoff.FromAgent, Text: "收到截图。", At: at},
		{From: handoff.FromNote, Text: "疑似诈骗", At: at},
		{From: handoff.FromSystem, Kind: "unsubscribe", Text: "用户已取消关注公众号", At: at},
	}
	if err := s.AppendMessages(context.Background(), tk.ID, msgs...); err != nil {
		t.Fatalf("AppendMessages: %v", err)
	}
	got := mustTicket(t, s, tk.ID)
	want := *tk
	want.Messages = append(slices.Clone(tk.Messages), msgs...)
	// Evidence gets what handoff.IsEvidence selects: here the image and
	// the location.
	for _, m := range msgs {
		if handoff.IsEvidence(m) {
			want.Evidence = append(want.Evidence, m)
		}
	}
	if len(want.Evidence) != 2 {
		t.Errorf("handoff.IsEvidence selects %d of the messages, the test expects 2: update the test", len(want.Evidence))
	}
	want.Version = 2
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Ticket after AppendMessages (-want +got):\n%s", diff)
	}
	// The append moved the version on: a copy read before it is stale.
	tk.AgentID = "agent-1"
	if err := s.UpdateTicket(context.Background(), tk); !errors.Is(err, handoff.ErrConflict) {
		t.Errorf("UpdateTicket of a copy read before AppendMessages: err = %v, want ErrConflict", err)
	}
	// The appended ticket can be updated as usual.
	got.AgentID = "agent-1"
	mustUpdate(t, s, &got)
	if err := s.AppendMessages(context.Background(), tk.ID, handoff.Message{From: handoff.FromUser, Kind: "video", Media: "v-1", At: at}); err != nil {
		t.Fatal(err)
	}
	final := mustTicket(t, s, tk.ID)
	if len(final.Messages) != 10 || len(final.Evidence) != 3 || final.Version != 4 || final.AgentID != "agent-1" {
		t.Errorf("after update and append: %d messages, %d evidence, version %d, agent %q; want 10, 3, 4, agent-1",
			len(final.Messages), len(final.Evidence), final.Version, final.AgentID)
	}
}

// testAppendBare appends to a ticket without reasons, messages or
// evidence.
func testAppendBare(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.Reasons, tk.Messages = []string{}, []handoff.Message{}
	mustCreate(t, s, tk)
	m := handoff.Message{From: handoff.FromUser, Kind: "voice", Media: "voice-1", Text: "语音识别结果", At: day}
	if err := s.AppendMessages(context.Background(), tk.ID, m); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMessages(context.Background(), tk.ID); err != nil {
		t.Errorf("AppendMessages of nothing: %v", err)
	}
	got := mustTicket(t, s, tk.ID)
	want := *tk
	want.Messages, want.Evidence = []handoff.Message{m}, []handoff.Message{m}
	want.Version = 2
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Ticket after AppendMessages (-want +got):\n%s", diff)
	}
	got.Reasons = append(got.Reasons, "user_request")
	mustUpdate(t, s, &got)
}

func testAppendNotFound(t *testing.T, s handoff.Store) {
	err := s.AppendMessages(context.Background(), "T20261125-99999", handoff.Message{From: handoff.FromUser, Text: "hi"})
	if !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("AppendMessages to an unknown id: err = %v, want ErrNotFound", err)
	}
}

// testAppendConcurrent appends from many goroutines at once: none is lost.
func testAppendConcurrent(t *testing.T, s handoff.Store) {
	const workers, each = 8, 10
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, 0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := handoff.Message{From: handoff.FromUser, Kind: "text", Text: fmt.Sprintf("w%d-%d", w, i), At: day}
				if i%5 == 0 {
					m.Kind, m.Media = "image", fmt.Sprintf("img-w%d-%d", w, i)
				}
				if err := s.AppendMessages(context.Background(), tk.ID, m); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := mustTicket(t, s, tk.ID)
	if want := len(tk.Messages) + workers*each; len(got.Messages) != want {
		t.Errorf("%d messages, want %d", len(got.Messages), want)
	}
	if want := workers * each / 5; len(got.Evidence) != want {
		t.Errorf("%d evidence, want %d", len(got.Evidence), want)
	}
	if want := int64(1 + workers*each); got.Version != want {
		t.Errorf("Version = %d, want %d", got.Version, want)
	}
	// Each writer's messages keep their order.
	last := map[string]int{}
	for _, m := range got.Messages[len(tk.Messages):] {
		var w, i int
		fmt.Sscanf(m.Text, "w%d-%d", &w, &i)
		if m.Kind == "image" {
			fmt.Sscanf(m.Media, "img-w%d-%d", &w, &i)
		}
		key := fmt.Sprint(w)
		if prev, ok := last[key]; ok && i <= prev {
			t.Errorf("writer %d: message %d after %d", w, i, prev)
		}
		last[key] = i
	}
}

func testOpenTicket(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	if _, err := s.OpenTicket(ctx, "o-1"); !errors.Is(err, handoff.ErrNotFound) {
		t.Fatalf("OpenTicket of a user with none: err = %v, want ErrNotFound", err)
	}
	old := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusClosed, 0))
	if _, err := s.OpenTicket(ctx, "o-1"); !errors.Is(err, handoff.ErrNotFound) {
		t.Fatalf("OpenTicket of a user with a closed ticket: err = %v, want ErrNotFound", err)
	}
	tk := mustCreate(t, s, newTicket("o-1", "normal", handoff.StatusQueued, time.Hour))
	mustCreate(t, s, newTicket("o-2", "normal", handoff.StatusQueued, time.Hour))

	for _, step := range []struct {
		name   string
		status handoff.Status
		open   bool
	}{
		{"Queued", handoff.StatusQueued, true},
		{"Assigned", handoff.StatusAssigned, true},
		{"Closed", handoff.StatusClosed, false},
		{"Reopened", handoff.StatusQueued, true},
	} {
		if tk.Status != step.status {
			tk.Status = step.status
			mustUpdate(t, s, tk)
		}
		got, err := s.OpenTicket(ctx, "o-1")
		switch {
		case step.open && err != nil:
			t.Errorf("%s: OpenTicket: %v", step.name, err)
		case step.open && (got.ID != tk.ID || got.Version != tk.Version || got.Status != step.status):
			t.Errorf("%s: OpenTicket = %s v%d %s, want %s v%d %s", step.name, got.ID, got.Version, got.Status, tk.ID, tk.Version, step.status)
		case !step.open && !errors.Is(err, handoff.ErrNotFound):
			t.Errorf("%s: OpenTicket: err = %v, want ErrNotFound", step.name, err)
		}
	}
	if got, err := s.OpenTicket(ctx, "o-1"); err == nil && got.ID == old.ID {
		t.Errorf("OpenTicket returned the closed ticket")
	}
}

func ids(ts []handoff.Ticket) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	return out
}

func testTickets(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	// Created out of order, to check the listing order.
	spec := []struct {
		name   string
		openID string
		lane   string
		status handoff.Status
		offset time.Duration
	}{
		{"c", "o-1", "normal", handoff.StatusQueued, 3 * time.Minute},
		{"a", "o-2", "emergency", handoff.StatusQueued, 1 * time.Minute},
		{"e", "o-3", "normal", handoff.StatusAssigned, 5 * time.Minute},
		{"b", "o-1", "normal", handoff.StatusClosed, 2 * time.Minute},
		{"d", "o-4", "emergency", handoff.StatusAssigned, 4 * time.Minute},
		{"f", "o-5", "minor", handoff.StatusClosed, 6 * time.Minute},
	}
	byName := map[string]*handoff.Ticket{}
	for _, sp := range spec {
		byName[sp.name] = mustCreate(t, s, newTicket(sp.openID, sp.lane, sp.status, sp.offset))
	}
	names := func(ns ...string) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = byName[n].ID
		}
		return out
	}
	open := []handoff.Status{handoff.StatusQueued, handoff.StatusAssigned}
	list := func(t *testing.T, f handoff.Filter) []handoff.Ticket {
		t.Helper()
		got, err := s.Tickets(ctx, f)
		if err != nil {
			t.Fatalf("Tickets(%+v): %v", f, err)
		}
		return got
	}
	for _, tc := range []struct {
		name string
		f    handoff.Filter
		want []string
	}{
		{"All", handoff.Filter{}, names("a", "b", "c", "d", "e", "f")},
		{"Limit", handoff.Filter{Limit: 2}, names("a", "b")},
		{"Status", handoff.Filter{Statuses: []handoff.Status{handoff.StatusQueued}}, names("a", "c")},
		{"Statuses", handoff.Filter{Statuses: open}, names("a", "c", "d", "e")},
		{"StatusesLimit", handoff.Filter{Statuses: open, Limit: 3}, names("a", "c", "d")},
		{"Lane", handoff.Filter{Lane: "normal"}, names("b", "c", "e")},
		{"StatusLane", handoff.Filter{Statuses: open, Lane: "emergency"}, names("a", "d")},
		{"StatusLaneLimit", handoff.Filter{Statuses: open, Lane: "normal", Limit: 1}, names("c")},
		{"OpenID", handoff.Filter{OpenID: "o-1"}, names("b", "c")},
		{"OpenIDStatus", handoff.Filter{OpenID: "o-1", Statuses: open}, names("c")},
		{"OpenIDLane", handoff.Filter{OpenID: "o-4", Lane: "emergency"}, names("d")},
		{"NoMatch", handoff.Filter{Lane: "overseas"}, nil},
		{"NoMatchUser", handoff.Filter{OpenID: "o-9"}, nil},
		{"Newest", handoff.Filter{Newest: true}, names("f", "e", "d", "c", "b", "a")},
		{"NewestLimit", handoff.Filter{Newest: true, Limit: 2}, names("f", "e")},
		{"NewestStatuses", handoff.Filter{Statuses: open, Newest: true}, names("e", "d", "c", "a")},
		{"NewestStatusesLimit", handoff.Filter{Statuses: open, Newest: true, Limit: 3}, names("e", "d", "c")},
		{"NewestLane", handoff.Filter{Lane: "normal", Newest: true, Limit: 2}, names("e", "c")},
		{"NewestStatusLane", handoff.Filter{Statuses: open, Lane: "emergency", Newest: true}, names("d", "a")},
		{"NewestOpenID", handoff.Filter{OpenID: "o-1", Newest: true}, names("c", "b")},
		{"NewestOpenIDLimit", handoff.Filter{OpenID: "o-1", Newest: true, Limit: 1}, names("c")},
		{"NewestOpenIDStatusLimit", handoff.Filter{OpenID: "o-1", Statuses: []handoff.Status{handoff.StatusClosed},
			Newest: true, Limit: 1}, names("b")},
		{"SummaryLimit", handoff.Filter{Summary: true, Limit: 2}, names("a", "b")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ids(list(t, tc.f)), opts); diff != "" {
				t.Errorf("Tickets(%+v) (-want +got):\n%s", tc.f, diff)
			}
		})
	}

	t.Run("Full", func(t *testing.T) {
		got := list(t, handoff.Filter{OpenID: "o-2"})
		if len(got) != 1 {
			t.Fatalf("got %d tickets, want 1", len(got))
		}
		if diff := cmp.Diff(*byName["a"], got[0], opts); diff != "" {
			t.Errorf("listed ticket (-want +got):\n%s", diff)
		}
	})

	t.Run("Summary", func(t *testing.T) {
		for _, f := range []handoff.Filter{
			{Summary: true},
			{Summary: true, OpenID: "o-1", Newest: true, Limit: 1},
			{Summary: true, Statuses: open, Lane: "normal"},
		} {
			got := list(t, f)
			if len(got) == 0 {
				t.Fatalf("Tickets(%+v): none", f)
			}
			for _, tk := range got {
				if tk.Messages != nil || tk.Evidence != nil {
					t.Errorf("Tickets(%+v): %s has %d messages, %d evidence; want nil", f, tk.ID, len(tk.Messages), len(tk.Evidence))
				}
				want := *byName[nameOf(byName, tk.ID)]
				want.Messages, want.Evidence = nil, nil
				if diff := cmp.Diff(want, tk, opts); diff != "" {
					t.Errorf("Tickets(%+v): %s (-want +got):\n%s", f, tk.ID, diff)
				}
			}
		}
		for _, tk := range list(t, handoff.Filter{OpenID: "o-1", Newest: true, Limit: 1}) {
			if diff := cmp.Diff(*byName["c"], tk, opts); diff != "" {
				t.Errorf("Tickets without Summary: (-want +got):\n%s", diff)
			}
		}
	})

	// Updates move tickets between lists.
	t.Run("AfterUpdate", func(t *testing.T) {
		a := byName["a"]
		a.Status, a.Lane = handoff.StatusAssigned, "minor"
		mustUpdate(t, s, a)
		c := byName["c"]
		c.Status = handoff.StatusClosed
		mustUpdate(t, s, c)
		for _, tc := range []struct {
			f    handoff.Filter
			want []string
		}{
			{handoff.Filter{Statuses: []handoff.Status{handoff.StatusQueued}}, nil},
			{handoff.Filter{Statuses: []handoff.Status{handoff.StatusAssigned}}, names("a", "d", "e")},
			{handoff.Filter{Lane: "emergency"}, names("d")},
			{handoff.Filter{Lane: "minor"}, names("a", "f")},
			{handoff.Filter{Statuses: []handoff.Status{handoff.StatusClosed}, Lane: "normal"}, names("b", "c")},
			{handoff.Filter{OpenID: "o-1", Statuses: open}, nil},
			{handoff.Filter{}, names("a", "b", "c", "d", "e", "f")},
		} {
			got := list(t, tc.f)
			if diff := cmp.Diff(tc.want, ids(got), opts); diff != "" {
				t.Errorf("Tickets(%+v) after updates (-want +got):\n%s", tc.f, diff)
			}
			for _, tk := range got {
				if tk.ID == a.ID && tk.Version != a.Version {
					t.Errorf("listed %s at version %d, want %d", tk.ID, tk.Version, a.Version)
				}
			}
		}
	})
}

func nameOf(byName map[string]*handoff.Ticket, id string) string {
	for n, tk := range byName {
		if tk.ID == id {
			return n
		}
	}
	return ""
}

func testCountSince(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	for _, off := range []time.Duration{0, 2 * time.Hour, 6 * time.Hour, 13 * time.Hour} {
		tk := newTicket("o-1", "normal", handoff.StatusClosed, off)
		mustCreate(t, s, tk)
	}
	mustCreate(t, s, newTicket("o-2", "normal", handoff.StatusQueued, 13*time.Hour))
	for _, tc := range []struct {
		name   string
		openID string
		since  time.Time
		want   int
	}{
		{"All", "o-1", day.Add(-time.Hour), 4},
		{"AtFirst", "o-1", day, 4},
		{"JustAfterFirst", "o-1", day.Add(time.Millisecond), 3},
		{"Last12h", "o-1", day.Add(13*time.Hour - 12*time.Hour), 3},
		{"AtLast", "o-1", day.Add(13 * time.Hour), 1},
		{"None", "o-1", day.Add(14 * time.Hour), 0},
		{"OtherUser", "o-2", day, 1},
		{"NoTickets", "o-3", day, 0},
		{"OtherZone", "o-1", day.Add(6 * time.Hour).UTC(), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CountSince(ctx, tc.openID, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CountSince(%s, %v) = %d, want %d", tc.openID, tc.since, got, tc.want)
			}
		})
	}
}

package handofftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/handoff"
)

func mustHeader(t *testing.T, s handoff.Store, id string) handoff.Ticket {
	t.Helper()
	tk, err := s.TicketHeader(context.Background(), id)
	if err != nil {
		t.Fatalf("TicketHeader(%s): %v", id, err)
	}
	return tk
}

func mustAppend(t *testing.T, s handoff.Store, id string, msgs ...handoff.Message) {
	t.Helper()
	if err := s.AppendMessages(context.Background(), id, msgs...); err != nil {
		t.Fatalf("AppendMessages(%s): %v", id, err)
	}
}

// header returns tk without its transcript, as TicketHeader does.
func header(tk handoff.Ticket) handoff.Ticket {
	tk.Messages, tk.Evidence = nil, nil
	return tk
}

func testHeaderOK(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "emergency", handoff.StatusQueued, 0)
	tk.Reasons = []string{"urgent:emergency", "failed_turns"}
	tk.Evidence = []handoff.Message{{From: handoff.FromUser, Kind: "image", Media: "m-1", At: day}}
	tk.AgentID, tk.Merged, tk.Priority = "agent-1", 2, 3
	mustCreate(t, s, tk)
	got := mustHeader(t, s, tk.ID)
	if got.Messages != nil || got.Evidence != nil {
		t.Errorf("TicketHeader: %d messages, %d evidence; want nil", len(got.Messages), len(got.Evidence))
	}
	if diff := cmp.Diff(header(*tk), got, opts); diff != "" {
		t.Errorf("TicketHeader (-want +got):\n%s", diff)
	}
	// An append moves the header's version on, nothing else.
	mustAppend(t, s, tk.ID, handoff.Message{From: handoff.FromUser, Kind: "image", Media: "m-2", At: day})
	got = mustHeader(t, s, tk.ID)
	want := header(*tk)
	want.Version = 2
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("TicketHeader after AppendMessages (-want +got):\n%s", diff)
	}
	if full := mustTicket(t, s, tk.ID); len(full.Messages) != 3 || len(full.Evidence) != 2 {
		t.Errorf("Ticket after AppendMessages: %d messages, %d evidence; want 3 and 2", len(full.Messages), len(full.Evidence))
	}
}

func testHeaderNotFound(t *testing.T, s handoff.Store) {
	if _, err := s.TicketHeader(context.Background(), "T20261125-99999"); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("TicketHeader of an unknown id: err = %v, want ErrNotFound", err)
	}
}

// testUpdateAppends checks that UpdateTicket appends what t holds beyond
// the stored transcript, and leaves the stored messages be.
func testUpdateAppends(t *testing.T, s handoff.Store) {
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.Evidence = []handoff.Message{{From: handoff.FromUser, Kind: "image", Media: "m-1", At: day}}
	mustCreate(t, s, tk)
	// Another writer appends: the update must carry the messages it read.
	mustAppend(t, s, tk.ID, handoff.Message{From: handoff.FromUser, Kind: "location", Text: "上海", At: day.Add(time.Minute)})
	got := mustTicket(t, s, tk.ID)
	at := day.Add(2 * time.Minute)
	got.Reasons = append(got.Reasons, "urgent:emergency")
	got.Merged++
	got.Messages = append(got.Messages,
		handoff.Message{From: handoff.FromSystem, Kind: "merge", Text: "合并转人工请求：urgent:emergency", At: at},
		handoff.Message{From: handoff.FromUser, Kind: "image", Media: "m-3", At: at})
	got.Evidence = append(got.Evidence, handoff.Message{From: handoff.FromUser, Kind: "image", Media: "m-3", At: at})
	mustUpdate(t, s, &got)
	if diff := cmp.Diff(got, mustTicket(t, s, tk.ID), opts); diff != "" {
		t.Errorf("Ticket after an update that appends (-want +got):\n%s", diff)
	}
	if got.Version != 3 {
		t.Errorf("Version = %d, want 3", got.Version)
	}

	// An update with the transcript as stored appends nothing; stored
	// messages are immutable, so a changed one is not written.
	want := got
	want.Messages = slices.Clone(got.Messages)
	changed := got
	changed.Messages = slices.Clone(got.Messages)
	changed.Messages[0].Text = "改写的历史"
	changed.AgentID = "agent-1"
	mustUpdate(t, s, &changed)
	want.AgentID, want.Version = "agent-1", changed.Version
	if diff := cmp.Diff(want, mustTicket(t, s, tk.ID), opts); diff != "" {
		t.Errorf("Ticket after an update with the stored transcript (-want +got):\n%s", diff)
	}
}

// testUpdateShrink checks that an update cannot drop stored messages: a
// ticket read with TicketHeader cannot be written back.
func testUpdateShrink(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.Evidence = []handoff.Message{{From: handoff.FromUser, Kind: "image", Media: "m-1", At: day}}
	mustCreate(t, s, tk)
	full := mustTicket(t, s, tk.ID)
	for _, tc := range []struct {
		name string
		edit func(*handoff.Ticket)
	}{
		{"Header", func(tk *handoff.Ticket) { tk.Messages, tk.Evidence = nil, nil }},
		{"FewerMessages", func(tk *handoff.Ticket) { tk.Messages = tk.Messages[:1] }},
		{"FewerEvidence", func(tk *handoff.Ticket) {
			tk.Evidence = nil
			tk.Messages = append(tk.Messages, handoff.Message{From: handoff.FromAgent, Text: "您好", At: day})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full
			c.Messages, c.Evidence = slices.Clone(full.Messages), slices.Clone(full.Evidence)
			tc.edit(&c)
			c.AgentID = "agent-1"
			err := s.UpdateTicket(ctx, &c)
			if !errors.Is(err, handoff.ErrInvalid) {
				t.Errorf("UpdateTicket: err = %v, want ErrInvalid", err)
			}
			if c.Version != full.Version {
				t.Errorf("Version of the refused ticket = %d, want it unchanged at %d", c.Version, full.Version)
			}
			if diff := cmp.Diff(full, mustTicket(t, s, tk.ID), opts); diff != "" {
				t.Errorf("a refused update changed the ticket (-want +got):\n%s", diff)
			}
		})
	}
}

// testAppendLong grows a transcript to 2,000 messages, one append at a
// time: an append must cost the same at the end as at the start. Batches
// of 100 appends are timed; the fastest of the last three must take less
// than five times the fastest of the first three (the fastest, so that a
// pause of the collector or the machine does not fail the test).
func testAppendLong(t *testing.T, s handoff.Store) {
	const n, batch = 2000, 100
	tk := newTicket("o-1", "normal", handoff.StatusQueued, 0)
	tk.Messages = nil
	mustCreate(t, s, tk)
	var took []time.Duration
	for b := range n / batch {
		start := time.Now()
		for i := range batch {
			k := b*batch + i
			m := handoff.Message{From: handoff.FromUser, Kind: "text", Text: fmt.Sprintf("第%d条消息：还在吗？", k), At: day.Add(time.Duration(k) * time.Second)}
			if k%10 == 0 {
				m.Kind, m.Media = "image", fmt.Sprint("media-", k)
			}
			mustAppend(t, s, tk.ID, m)
		}
		took = append(took, time.Since(start))
	}
	first, last := slices.Min(took[:3]), slices.Min(took[len(took)-3:])
	t.Logf("%d appends: first %d in %v, last %d in %v", n, batch, first, batch, last)
	if last > 5*first {
		t.Errorf("the last %d appends took %v, the first %d %v: appending slows down as the transcript grows",
			batch, last, batch, first)
	}
	got := mustTicket(t, s, tk.ID)
	if len(got.Messages) != n || len(got.Evidence) != n/10 || got.Version != 1+n {
		t.Fatalf("%d messages, %d evidence, version %d; want %d, %d, %d", len(got.Messages), len(got.Evidence), got.Version, n, n/10, 1+n)
	}
	for k, m := range got.Messages {
		if !m.At.Equal(day.Add(time.Duration(k) * time.Second)) {
			t.Fatalf("message %d is from %v: out of order", k, m.At)
		}
	}
	if h := mustHeader(t, s, tk.ID); h.Messages != nil || h.Version != got.Version {
		t.Errorf("TicketHeader: %d messages, version %d", len(h.Messages), h.Version)
	}
}

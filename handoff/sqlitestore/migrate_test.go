package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// TestUpgradeV1 opens a database written by the first schema, where the
// transcript lived inside the ticket's JSON, and reads it with the current
// one.
func TestUpgradeV1(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(t.TempDir() + "/kefu.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, "handoff.tickets", sqlitestore.Migrations[0]); err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	day := time.Date(2026, 11, 25, 9, 30, 0, 0, cst)
	msg := func(from handoff.Sender, kind, text string, at time.Duration) handoff.Message {
		return handoff.Message{From: from, Kind: kind, Text: text, At: day.Add(at)}
	}
	v1 := []handoff.Ticket{
		{ID: "T20261125-00001", OpenID: "o-1", Lane: "normal", Reasons: []string{"user_request"}, Status: handoff.StatusQueued,
			Priority: 1, SLADueAt: day.Add(24*time.Hour + 123*time.Millisecond), CreatedAt: day, UpdatedAt: day,
			Messages: []handoff.Message{msg(handoff.FromUser, "text", "转人工", 0), msg(handoff.FromUser, "image", "", time.Second)},
			Evidence: []handoff.Message{msg(handoff.FromUser, "image", "", time.Second)}, Version: 3},
		{ID: "T20261125-00002", OpenID: "o-2", Lane: "normal", Status: handoff.StatusQueued,
			SLADueAt: day.Add(time.Hour), CreatedAt: day.Add(time.Minute), UpdatedAt: day, Version: 1},
		// o-3 has two open tickets, which the first schema let a race
		// create: the older is closed.
		{ID: "T20261125-00003", OpenID: "o-3", Lane: "minor", Status: handoff.StatusAssigned, AgentID: "agent-1",
			SLADueAt: day.Add(6 * time.Hour), CreatedAt: day.Add(2 * time.Minute), UpdatedAt: day,
			Messages: []handoff.Message{msg(handoff.FromUser, "text", "孩子偷偷充值", 0)}, Version: 2},
		{ID: "T20261125-00004", OpenID: "o-3", Lane: "minor", Status: handoff.StatusQueued,
			SLADueAt: day.Add(7 * time.Hour), CreatedAt: day.Add(3 * time.Minute), UpdatedAt: day, Version: 1},
		{ID: "T20261125-00005", OpenID: "o-1", Lane: "normal", Status: handoff.StatusClosed,
			SLADueAt: day, CreatedAt: day.Add(-time.Hour), UpdatedAt: day, ClosedAt: day, Version: 4,
			Messages: []handoff.Message{msg(handoff.FromSystem, "close", "工单关闭：resolved", 0)}},
		{ID: "T20261125-00009", OpenID: "o-9", Lane: "care", Status: handoff.StatusAssigned, AgentID: "agent-2",
			SLADueAt: day.Add(8 * time.Hour), CreatedAt: day.Add(4 * time.Minute), UpdatedAt: day, Version: 1},
	}
	for _, tk := range v1 {
		data, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO handoff_tickets (id, open_id, status, lane, created_at, version, data)
VALUES (?, ?, ?, ?, ?, ?, ?)`, tk.ID, tk.OpenID, string(tk.Status), tk.Lane, tk.CreatedAt.UnixMicro(), tk.Version, string(data))
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO handoff_sequences (name, value) VALUES ('ticket', 5)`); err != nil {
		t.Fatal(err)
	}

	s := mustStore(t, func() (*sql.DB, error) { return db, nil })
	opts := cmp.Options{cmpopts.EquateEmpty()}
	for _, want := range []handoff.Ticket{v1[0], v1[1], v1[3], v1[4]} {
		got, err := s.Ticket(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("%s after the upgrade (-want +got):\n%s", want.ID, diff)
		}
	}
	dup, err := s.Ticket(ctx, v1[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if dup.Status != handoff.StatusClosed || dup.ClosedAt.IsZero() || dup.Version != 3 || len(dup.Messages) != 2 ||
		dup.Messages[1].Kind != "close" || dup.Messages[1].From != handoff.FromSystem {
		t.Errorf("older of two open tickets after the upgrade: %s closed %v version %d messages %+v; want closed with a note",
			dup.Status, dup.ClosedAt, dup.Version, dup.Messages)
	}
	if open, err := s.OpenTicket(ctx, "o-3"); err != nil || open.ID != v1[3].ID {
		t.Errorf("OpenTicket(o-3) = %s, %v; want %s", open.ID, err, v1[3].ID)
	}
	// The queue order holds: priority 1 first, although due later.
	for id, want := range map[string]int{v1[0].ID: 1, v1[1].ID: 2, v1[3].ID: 1, v1[4].ID: 0} {
		if got, err := s.QueuePosition(ctx, handoff.Ticket{ID: id}); err != nil || got != want {
			t.Errorf("QueuePosition(%s) = %d, %v; want %d", id, got, err, want)
		}
	}
	// The queues' lengths are counted from the upgraded tickets.
	for lane, want := range map[string]int{"normal": 2, "minor": 1} {
		if got, err := s.QueueLength(ctx, lane); err != nil || got != want {
			t.Errorf("QueueLength(%s) = %d, %v; want %d", lane, got, err, want)
		}
	}
	// The agents' tickets and the deadlines are indexed (version 4).
	for agent, want := range map[string]int{"agent-1": 0, "agent-2": 1} {
		if got, err := s.AssignedCount(ctx, agent); err != nil || got != want {
			t.Errorf("AssignedCount(%s) = %d, %v; want %d", agent, got, err, want)
		}
	}
	if got, err := s.Breached(ctx, "normal", day.Add(2*time.Hour)); err != nil || got != 1 {
		t.Errorf("Breached(normal) = %d, %v; want 1", got, err)
	}
	// Upgraded tickets take appends and updates; numbering runs on.
	if err := s.AppendMessages(ctx, v1[0].ID, msg(handoff.FromUser, "location", "北京", time.Minute)); err != nil {
		t.Fatal(err)
	}
	tk, err := s.Ticket(ctx, v1[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Messages) != 3 || len(tk.Evidence) != 2 || tk.Messages[2].Text != "北京" || tk.Version != 4 {
		t.Errorf("after append: %d messages, %d evidence, version %d", len(tk.Messages), len(tk.Evidence), tk.Version)
	}
	tk.Status = handoff.StatusClosed
	tk.Messages = append(tk.Messages, msg(handoff.FromSystem, "close", "工单关闭：resolved", time.Hour))
	if err := s.UpdateTicket(ctx, &tk); err != nil {
		t.Fatal(err)
	}
	next := &handoff.Ticket{OpenID: "o-1", Lane: "normal", Status: handoff.StatusQueued, CreatedAt: day.Add(time.Hour)}
	if err := s.CreateTicket(ctx, next); err != nil || next.ID != "T20261125-00006" {
		t.Errorf("CreateTicket after the upgrade: %s, %v; want T20261125-00006", next.ID, err)
	}
}

// TestUpgradeV2 opens a database written by the second schema, before the
// queues' lengths were kept, and checks that the upgrade counts them and
// that they move on from there.
func TestUpgradeV2(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(t.TempDir() + "/kefu.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, "handoff.tickets", sqlitestore.Migrations[:2]...); err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	day := time.Date(2026, 11, 25, 9, 30, 0, 0, cst)
	tk := func(n int, lane string, st handoff.Status, priority int) handoff.Ticket {
		created := day.Add(time.Duration(n) * time.Minute)
		return handoff.Ticket{ID: fmt.Sprintf("T20261125-%05d", n), OpenID: fmt.Sprint("o-", n), Lane: lane,
			Reasons: []string{"user_request"}, Status: st, Priority: priority, SLADueAt: created.Add(24 * time.Hour),
			CreatedAt: created, UpdatedAt: created, Version: 1}
	}
	v2 := []handoff.Ticket{
		tk(1, "normal", handoff.StatusQueued, 0),
		tk(2, "normal", handoff.StatusQueued, 1),
		tk(3, "normal", handoff.StatusAssigned, 0),
		tk(4, "normal", handoff.StatusClosed, 0),
		tk(5, "normal", handoff.StatusQueued, 0),
		tk(6, "care", handoff.StatusQueued, 0),
		tk(7, "emergency", handoff.StatusClosed, 0),
	}
	for _, tk := range v2 {
		data, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO handoff_tickets (id, open_id, status, lane, priority, sla_due_at,
	created_at, version, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tk.ID, tk.OpenID, string(tk.Status), tk.Lane,
			tk.Priority, tk.SLADueAt.UnixMicro(), tk.CreatedAt.UnixMicro(), tk.Version, string(data))
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO handoff_sequences (name, value) VALUES ('ticket', 7)`); err != nil {
		t.Fatal(err)
	}

	s := mustStore(t, func() (*sql.DB, error) { return db, nil })
	check := func(step string, lengths map[string]int, places map[string]int) {
		t.Helper()
		for lane, want := range lengths {
			if got, err := s.QueueLength(ctx, lane); err != nil || got != want {
				t.Errorf("%s: QueueLength(%s) = %d, %v; want %d", step, lane, got, err, want)
			}
		}
		for id, want := range places {
			if got, err := s.QueuePosition(ctx, handoff.Ticket{ID: id}); err != nil || got != want {
				t.Errorf("%s: QueuePosition(%s) = %d, %v; want %d", step, id, got, err, want)
			}
		}
	}
	check("upgraded", map[string]int{"normal": 3, "care": 1, "emergency": 0},
		map[string]int{v2[1].ID: 1, v2[0].ID: 2, v2[4].ID: 3, v2[5].ID: 1, v2[2].ID: 0})

	next := tk(8, "normal", handoff.StatusQueued, 0)
	next.ID = ""
	if err := s.CreateTicket(ctx, &next); err != nil {
		t.Fatal(err)
	}
	moved, err := s.Ticket(ctx, v2[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	moved.Lane = "care"
	if err := s.UpdateTicket(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	check("after a create and a move", map[string]int{"normal": 3, "care": 2},
		map[string]int{v2[1].ID: 1, v2[4].ID: 2, next.ID: 3, v2[0].ID: 1, v2[5].ID: 2})
}

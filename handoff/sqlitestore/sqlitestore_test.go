package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handofftest"
	"github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func TestStore(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store {
			return mustStore(t, func() (*sql.DB, error) { return sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db")) })
		})
	})
	t.Run("Memory", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store { return mustStore(t, sqlitedb.OpenMemory) })
	})
	// The suite's lanes are short: with the default limit QueuePosition
	// always counts the tickets behind. With a limit of 2 it counts those
	// ahead for all but the last two of a lane, so the suite takes both
	// ways.
	t.Run("BehindLimit2", func(t *testing.T) {
		handofftest.TestStore(t, func(t *testing.T) handoff.Store {
			s := mustStore(t, sqlitedb.OpenMemory)
			sqlitestore.SetBehindLimit(s, 2)
			return s
		})
	})
}

// mustStore returns a Store on the database open returns, closed when the
// test ends, when it is also checked that handoff_queue_counts holds the
// length of every lane's queue.
func mustStore(t testing.TB, open func() (*sql.DB, error)) *sqlitestore.Store {
	t.Helper()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return mustStoreOn(t, db)
}

// mustStoreOn returns a Store on db, checked and closed as by mustStore;
// db stays open.
func mustStoreOn(t testing.TB, db *sql.DB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	t.Cleanup(func() {
		counts, err := sqlitestore.RecountQueues(context.Background(), s)
		if err != nil {
			t.Errorf("recounting the queues: %v", err)
		}
		for lane, c := range counts {
			if c[0] != c[1] {
				t.Errorf("handoff_queue_counts: lane %s has n = %d, and %d queued tickets", lane, c[0], c[1])
			}
		}
	})
	return s
}

func TestAgentOps(t *testing.T) { handofftest.TestAgentOps(t, twoStores) }

func TestService(t *testing.T) { handofftest.TestService(t, twoStores) }

// twoStores returns two Stores on one new database file, as two services
// of one process would have.
func twoStores(t *testing.T) [2]handoff.Store {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return [2]handoff.Store{mustStoreOn(t, db), mustStoreOn(t, db)}
}

// TestTranscriptRuns checks the rows of handoff_messages: a ticket opened
// with a transcript and evidence takes one row for each, single appends one
// row each, and the ticket reads back in order, whatever the mix; a header
// read before an append sees the transcript it counted.
func TestTranscriptRuns(t *testing.T) {
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := mustStore(t, func() (*sql.DB, error) { return db, nil })
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	msg := func(kind, text string, i int) handoff.Message {
		return handoff.Message{From: handoff.FromUser, Kind: kind, Text: text, At: at.Add(time.Duration(i) * time.Second)}
	}
	tk := &handoff.Ticket{OpenID: "o-runs", Lane: handoff.LaneNormal, Status: handoff.StatusQueued, Reasons: []string{"user_request"},
		SLADueAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at,
		Messages: []handoff.Message{msg("text", "一", 0), msg("text", "二", 1), msg("image", "[图片]", 2)},
		Evidence: []handoff.Message{msg("image", "[图片]", 2), msg("voice", "[语音]", 3)}}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMessages(ctx, tk.ID, msg("text", "三", 4)); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMessages(ctx, tk.ID, msg("text", "四", 5), msg("image", "[图片]", 6)); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM handoff_messages WHERE ticket_id = ?`, tk.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	// create: a run of 3 and a run of 2; the appends: 1, then a run of 2
	// and their one piece of evidence.
	if rows != 5 {
		t.Errorf("%d rows in handoff_messages, want 5", rows)
	}
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts, evidence []string
	for _, m := range got.Messages {
		texts = append(texts, m.Text)
	}
	for _, m := range got.Evidence {
		evidence = append(evidence, m.Kind)
	}
	if want := []string{"一", "二", "[图片]", "三", "四", "[图片]"}; !slices.Equal(texts, want) {
		t.Errorf("messages %q, want %q", texts, want)
	}
	if want := []string{"image", "voice", "image"}; !slices.Equal(evidence, want) {
		t.Errorf("evidence %q, want %q", evidence, want)
	}
	if !got.Messages[0].At.Equal(at) || got.Version != 3 {
		t.Errorf("first message at %v, version %d; want %v, 3", got.Messages[0].At, got.Version, at)
	}
}

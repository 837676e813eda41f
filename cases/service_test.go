package cases_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/cases/sqlitestore"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

func newService(t *testing.T, now time.Time) *cases.Service {
	t.Helper()
	return newServiceClock(t, func() time.Time { return now })
}

// newServiceClock is newService on a clock that may move.
func newServiceClock(t *testing.T, now func() time.Time) *cases.Service {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return cases.NewService(store, now)
}

// TestOpenRetries: a number the store has is drawn again; when every draw
// is taken, Open gives up with ErrExists.
func TestOpenRetries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	svc := newService(t, now)
	n := cases.NewCase{OpenID: "o-1", Flow: "fraud_report"}
	cases.SetRand(svc, bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}))
	first, err := svc.Open(ctx, n)
	if err != nil || first.ID != "KF20261125-2222" {
		t.Fatalf("first Open = %q, %v", first.ID, err)
	}
	second, err := svc.Open(ctx, n)
	if err != nil || second.ID != "KF20261125-3333" {
		t.Fatalf("Open after drawing a taken number = %q, %v; want KF20261125-3333", second.ID, err)
	}
	cases.SetRand(svc, bytes.NewReader(make([]byte, 64)))
	if c, err := svc.Open(ctx, n); !errors.Is(err, cases.ErrExists) {
		t.Errorf("Open drawing only taken numbers = %q, %v; want ErrExists", c.ID, err)
	}
}

// TestOpenWithKey: the same key opens one case for the same user and flow;
// another user (or flow) whose key happens to draw the same number gets a
// case of its own.
func TestOpenWithKey(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC))
	n := cases.NewCase{OpenID: "o-1", Flow: "bill_export", Key: "flow:0a1b2c"}
	first, err := svc.Open(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Open(ctx, n)
	if err != nil || again.ID != first.ID {
		t.Fatalf("Open again with the key = %q, %v; want %q", again.ID, err, first.ID)
	}
	if list, _ := svc.ForUser(ctx, "o-1", 10); len(list) != 1 {
		t.Errorf("user has %d cases, want 1", len(list))
	}
	other := n
	other.OpenID = "o-2"
	c, err := svc.Open(ctx, other)
	if err != nil || c.ID == first.ID || c.OpenID != "o-2" {
		t.Errorf("another user's Open with the same key = %+v, %v; want a case of its own", c, err)
	}
}

// TestOpenWithKeyAfterMidnight: a keyed case opened again on the next day
// (a flow's last turn processed again after midnight) is the same case,
// because its number is drawn for KeyDay, not for today.
func TestOpenWithKeyAfterMidnight(t *testing.T) {
	ctx := context.Background()
	started := time.Date(2026, 11, 25, 23, 58, 0, 0, time.UTC)
	now := started.Add(time.Minute)
	svc := newServiceClock(t, func() time.Time { return now })
	n := cases.NewCase{OpenID: "o-1", Flow: "bill_export", Key: "flow:0a1b2c", KeyDay: started}
	first, err := svc.Open(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	now = started.Add(3 * time.Minute) // 00:01 the next day
	again, err := svc.Open(ctx, n)
	if err != nil || again.ID != first.ID {
		t.Fatalf("Open after midnight with the key = %q, %v; want %q", again.ID, err, first.ID)
	}
	if !strings.HasPrefix(first.ID, "KF20261125-") {
		t.Errorf("ID %q: want the day the run started, KF20261125-…", first.ID)
	}
}

func TestDescribe(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 20, 0, 0, time.Local)
	c := cases.Case{ID: "KF20261125-7Q4M", Title: "诈骗举报", Status: cases.StatusProcessing,
		History: []cases.Change{{Status: cases.StatusSubmitted, At: at.Add(-time.Hour)}, {Status: cases.StatusProcessing, Note: "已转交风控", At: at}}}
	if got, want := c.Describe(false), "案件 KF20261125-7Q4M（诈骗举报）当前状态：处理中，更新于 2026-11-25 14:20。说明：已转交风控"; got != want {
		t.Errorf("Describe(zh) = %q, want %q", got, want)
	}
	c.History[1].Note = ""
	if got, want := c.Describe(true), "Case KF20261125-7Q4M (诈骗举报) is processing, updated 2026-11-25 14:20."; got != want {
		t.Errorf("Describe(en) = %q, want %q", got, want)
	}
}

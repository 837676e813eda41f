// Package casestest is the conformance suite of cases.Store: every
// implementation runs these tests from its own test file, so the embedded
// and the shared mode behave alike. The tests go through cases.Service,
// as the bot and the panel do, and through the Store where only it can
// show a property (a create of a taken number, a stale update).
//
//	func TestStore(t *testing.T) {
//		casestest.TestStore(t, func(t *testing.T) cases.Store { return newStore(t) })
//	}
package casestest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/internal/clocktest"
)

// TestStore runs the conformance tests of a cases.Store. newStore returns
// an empty store for one subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) cases.Store) {
	t.Run("Open", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testOpenOK(t, newStore(t)) })
		t.Run("Defaults", func(t *testing.T) { testOpenDefaults(t, newStore(t)) })
		t.Run("IDs", func(t *testing.T) { testOpenIDs(t, newStore(t)) })
		t.Run("ErrInvalid", func(t *testing.T) { testOpenInvalid(t, newStore(t)) })
		t.Run("ErrBadStatus", func(t *testing.T) { testOpenBadStatus(t, newStore(t)) })
	})
	t.Run("Create", func(t *testing.T) {
		t.Run("ErrExists", func(t *testing.T) { testCreateExists(t, newStore(t)) })
	})
	t.Run("Get", func(t *testing.T) {
		t.Run("Normalised", func(t *testing.T) { testGetNormalised(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testGetNotFound(t, newStore(t)) })
		t.Run("Text", func(t *testing.T) { testGetText(t, newStore(t)) })
	})
	t.Run("SetStatus", func(t *testing.T) {
		t.Run("History", func(t *testing.T) { testSetStatusHistory(t, newStore(t)) })
		t.Run("Note", func(t *testing.T) { testSetStatusNote(t, newStore(t)) })
		t.Run("ErrBadStatus", func(t *testing.T) { testSetStatusBad(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testSetStatusNotFound(t, newStore(t)) })
		t.Run("Concurrent", func(t *testing.T) { testSetStatusConcurrent(t, newStore(t)) })
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("ErrConflict", func(t *testing.T) { testUpdateConflict(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testUpdateNotFound(t, newStore(t)) })
	})
	t.Run("List", func(t *testing.T) {
		t.Run("Filters", func(t *testing.T) { testListFilters(t, newStore(t)) })
		t.Run("Order", func(t *testing.T) { testListOrder(t, newStore(t)) })
		t.Run("Limit", func(t *testing.T) { testListLimit(t, newStore(t)) })
		t.Run("StatusMoves", func(t *testing.T) { testListStatusMoves(t, newStore(t)) })
		t.Run("ErrBadStatus", func(t *testing.T) { testListBadStatus(t, newStore(t)) })
	})
	t.Run("ForUser", func(t *testing.T) {
		t.Run("Isolation", func(t *testing.T) { testForUserIsolation(t, newStore(t)) })
		t.Run("ErrInvalid", func(t *testing.T) { testForUserInvalid(t, newStore(t)) })
	})
	t.Run("AttachTicket", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testAttachTicket(t, newStore(t)) })
		t.Run("ErrNotFound", func(t *testing.T) { testAttachNotFound(t, newStore(t)) })
	})
}

// awkward is text that storage must keep byte for byte: Chinese, quotes,
// markup, emoji, backslashes and control characters other than NUL.
const awkward = "我被骗了！\"转账\" 'quote' ]]> <img src=x onerror=alert(1)> &amp; 😀👨‍👩‍👧 \\n\\\" tab\there\r\nbell\a\x01\x1f\x7f end"

var (
	cst  = time.FixedZone("CST", 8*3600)
	day  = time.Date(2026, 11, 25, 9, 30, 0, 0, cst)
	opts = cmp.Options{cmpopts.EquateEmpty()}
)

// service returns a Service over s on a clock at day, which it also
// returns.
func service(s cases.Store) (*cases.Service, *clocktest.Clock) {
	clock := clocktest.New(day)
	return cases.NewService(s, clock.Now), clock
}

// fraud is what the fraud_report flow opens for openID.
func fraud(openID string) cases.NewCase {
	return cases.NewCase{
		OpenID: openID, Flow: "fraud_report", Title: "诈骗举报",
		Fields: []cases.Field{
			{Name: "what", Label: "发生了什么", Value: "对方冒充客服让我转账"},
			{Name: "amount", Label: "金额", Value: "5000.00"},
			{Name: "police_receipt", Label: "报案回执编号", Value: "A1234567"},
		},
		Note: "已由 kefu 记录（未配置业务后台）",
	}
}

func mustOpen(t *testing.T, svc *cases.Service, n cases.NewCase) cases.Case {
	t.Helper()
	c, err := svc.Open(context.Background(), n)
	if err != nil {
		t.Fatalf("Open(%s, %s): %v", n.OpenID, n.Flow, err)
	}
	return c
}

func mustGet(t *testing.T, svc *cases.Service, id string) cases.Case {
	t.Helper()
	c, err := svc.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func mustSet(t *testing.T, svc *cases.Service, id string, to cases.Status, note, by string) cases.Case {
	t.Helper()
	c, err := svc.SetStatus(context.Background(), id, to, note, by)
	if err != nil {
		t.Fatalf("SetStatus(%s, %s): %v", id, to, err)
	}
	return c
}

func mustList(t *testing.T, svc *cases.Service, f cases.Filter) []cases.Case {
	t.Helper()
	list, err := svc.List(context.Background(), f)
	if err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return list
}

// ids returns the IDs of list, in order.
func ids(list []cases.Case) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

func testOpenOK(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	n := fraud("o-1")
	n.TicketID, n.ExternalID, n.By = "T20261125-00001", "BK-9", "flow:fraud_report"
	c := mustOpen(t, svc, n)
	want := cases.Case{
		ID: c.ID, OpenID: "o-1", Flow: "fraud_report", Title: "诈骗举报", Status: cases.StatusSubmitted,
		Fields: n.Fields, TicketID: "T20261125-00001", ExternalID: "BK-9",
		History:   []cases.Change{{Status: cases.StatusSubmitted, Note: n.Note, By: "flow:fraud_report", At: day}},
		CreatedAt: day, UpdatedAt: day, Version: 1,
	}
	if diff := cmp.Diff(want, c, opts); diff != "" {
		t.Errorf("Open (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustGet(t, svc, c.ID), opts); diff != "" {
		t.Errorf("Get after Open (-want +got):\n%s", diff)
	}
}

func testOpenDefaults(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	c := mustOpen(t, svc, cases.NewCase{OpenID: "o-1", Flow: "bill_export"})
	if c.Title != "bill_export" || c.Status != cases.StatusSubmitted || len(c.History) != 1 ||
		c.History[0].By != "kefu" || c.History[0].Status != cases.StatusSubmitted || c.History[0].Note != "" {
		t.Errorf("Open with defaults = title %q, status %q, history %+v; want the flow as title, submitted by kefu",
			c.Title, c.Status, c.History)
	}
	p := mustOpen(t, svc, cases.NewCase{OpenID: "o-1", Flow: "account_unfreeze", Status: cases.StatusProcessing, Note: "已提交业务后台"})
	if p.Status != cases.StatusProcessing || p.History[0].Status != cases.StatusProcessing {
		t.Errorf("Open with status processing = %q, history %+v", p.Status, p.History)
	}
}

func testOpenIDs(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	seen := map[string]bool{}
	const n = 60
	for i := range n {
		if i == n/2 {
			clock.Advance(24 * time.Hour)
		}
		c := mustOpen(t, svc, fraud(fmt.Sprintf("o-%d", i%3)))
		if !cases.ValidID(c.ID) {
			t.Fatalf("ID %q is not a case number", c.ID)
		}
		if want := "KF" + clock.Now().Format("20060102") + "-"; !strings.HasPrefix(c.ID, want) {
			t.Errorf("ID %q, want it to start %s (the date of the clock)", c.ID, want)
		}
		if strings.ContainsAny(c.ID[11:], "01OI") {
			t.Errorf("ID %q has a character people misread", c.ID)
		}
		if seen[c.ID] {
			t.Fatalf("ID %q given twice", c.ID)
		}
		seen[c.ID] = true
	}
	if got := len(mustList(t, svc, cases.Filter{})); got != n {
		t.Errorf("List after %d opens: %d cases", n, got)
	}
}

func testOpenInvalid(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	for _, n := range []cases.NewCase{{Flow: "fraud_report"}, {OpenID: "o-1"}, {OpenID: " ", Flow: "x"}} {
		if _, err := svc.Open(context.Background(), n); !errors.Is(err, cases.ErrInvalid) {
			t.Errorf("Open(%+v): err = %v, want ErrInvalid", n, err)
		}
	}
	if list := mustList(t, svc, cases.Filter{}); len(list) != 0 {
		t.Errorf("refused opens stored %d cases", len(list))
	}
}

func testOpenBadStatus(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	n := fraud("o-1")
	n.Status = "done"
	if _, err := svc.Open(context.Background(), n); !errors.Is(err, cases.ErrBadStatus) {
		t.Errorf("Open with status done: err = %v, want ErrBadStatus", err)
	}
}

func testCreateExists(t *testing.T, s cases.Store) {
	ctx := context.Background()
	c := cases.Case{ID: "KF20261125-7Q4M", OpenID: "o-1", Flow: "fraud_report", Title: "诈骗举报",
		Status: cases.StatusSubmitted, CreatedAt: day, UpdatedAt: day, Version: 1,
		History: []cases.Change{{Status: cases.StatusSubmitted, By: "kefu", At: day}}}
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	other := c
	other.OpenID, other.Flow = "o-2", "bill_export"
	if err := s.Create(ctx, other); !errors.Is(err, cases.ErrExists) {
		t.Errorf("Create of a taken ID: err = %v, want ErrExists", err)
	}
	got, err := s.Case(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got, opts); diff != "" {
		t.Errorf("a refused create changed the case (-want +got):\n%s", diff)
	}
	if list, err := s.Cases(ctx, cases.Filter{OpenID: "o-2"}); err != nil || len(list) != 0 {
		t.Errorf("a refused create indexed the case for its user: %v, %v", ids(list), err)
	}
}

func testGetNormalised(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	full := strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r + 0xFF01 - '!'
		}
		return r
	}, c.ID)
	for _, id := range []string{strings.ToLower(c.ID), "  " + c.ID + "\n", full, strings.Replace(c.ID, "-", "", 1)} {
		if got := mustGet(t, svc, id); got.ID != c.ID {
			t.Errorf("Get(%q) = %s, want %s", id, got.ID, c.ID)
		}
	}
}

func testGetNotFound(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	mustOpen(t, svc, fraud("o-1"))
	for _, id := range []string{"KF20261125-2222", "", "nonsense", "KF20261125"} {
		if _, err := svc.Get(context.Background(), id); !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("Get(%q): err = %v, want ErrNotFound", id, err)
		}
	}
}

// testGetText: fields, notes and names are kept byte for byte.
func testGetText(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	n := fraud(awkward)
	n.Title, n.Note, n.By = awkward, awkward, awkward
	n.Fields = append(n.Fields, cases.Field{Name: awkward, Label: awkward, Value: awkward})
	c := mustOpen(t, svc, n)
	c = mustSet(t, svc, c.ID, cases.StatusProcessing, awkward, awkward)
	if diff := cmp.Diff(c, mustGet(t, svc, c.ID), opts); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	list, err := svc.ForUser(context.Background(), awkward, 0)
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("ForUser(awkward) = %v, %v; want %s", ids(list), err, c.ID)
	}
}

func testSetStatusHistory(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	steps := []struct {
		to       cases.Status
		note, by string
	}{
		{cases.StatusProcessing, "已转交风控团队", "wang"},
		{cases.StatusResolved, "已追回部分款项", "li"},
		{cases.StatusProcessing, "用户补充了证据，重新处理", "wang"},
		{cases.StatusRejected, "证据不足", "li"},
	}
	want := slices.Clone(c.History)
	for i, st := range steps {
		clock.Advance(time.Minute)
		got := mustSet(t, svc, c.ID, st.to, st.note, st.by)
		want = append(want, cases.Change{Status: st.to, Note: st.note, By: st.by, At: clock.Now()})
		if got.Status != st.to || got.Version != int64(i+2) || !got.UpdatedAt.Equal(clock.Now()) {
			t.Errorf("step %d: status %q version %d updated %v; want %q, %d, %v", i, got.Status, got.Version, got.UpdatedAt,
				st.to, i+2, clock.Now())
		}
		if diff := cmp.Diff(want, got.History, opts); diff != "" {
			t.Errorf("step %d: history (-want +got):\n%s", i, diff)
		}
	}
	got := mustGet(t, svc, c.ID)
	if diff := cmp.Diff(want, got.History, opts); diff != "" {
		t.Errorf("history after Get (-want +got):\n%s", diff)
	}
	if !got.CreatedAt.Equal(day) || got.OpenID != "o-1" || len(got.Fields) != 3 {
		t.Errorf("status changes touched the case: created %v, open_id %q, %d fields", got.CreatedAt, got.OpenID, len(got.Fields))
	}
	// A user's view of it: the number, the status and the last note.
	if d := got.Describe(false); !strings.Contains(d, got.ID) || !strings.Contains(d, "已驳回") || !strings.Contains(d, "证据不足") {
		t.Errorf("Describe = %q", d)
	}
}

func testSetStatusNote(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	clock.Advance(time.Minute)
	got := mustSet(t, svc, c.ID, cases.StatusSubmitted, "  已电话联系用户  ", "wang")
	if got.Status != cases.StatusSubmitted || len(got.History) != 2 || got.History[1].Note != "已电话联系用户" ||
		got.History[1].Status != cases.StatusSubmitted || got.History[1].By != "wang" {
		t.Errorf("a note: status %q, history %+v", got.Status, got.History)
	}
	// The same status without a note changes nothing.
	same := mustSet(t, svc, c.ID, cases.StatusSubmitted, " ", "wang")
	if same.Version != got.Version || len(same.History) != 2 {
		t.Errorf("the same status without a note: version %d → %d, %d changes", got.Version, same.Version, len(same.History))
	}
	// By defaults to kefu.
	if c := mustSet(t, svc, c.ID, cases.StatusProcessing, "", ""); c.Last().By != "kefu" || c.Last().Note != "" {
		t.Errorf("a change without a note or by: %+v", c.Last())
	}
}

func testSetStatusBad(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	for _, st := range []cases.Status{"", "done", "RESOLVED", "closed"} {
		if _, err := svc.SetStatus(context.Background(), c.ID, st, "x", "wang"); !errors.Is(err, cases.ErrBadStatus) {
			t.Errorf("SetStatus(%q): err = %v, want ErrBadStatus", st, err)
		}
	}
	if got := mustGet(t, svc, c.ID); got.Version != 1 || len(got.History) != 1 {
		t.Errorf("refused changes stored something: version %d, history %+v", got.Version, got.History)
	}
}

func testSetStatusNotFound(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	if _, err := svc.SetStatus(context.Background(), "KF20261125-2222", cases.StatusResolved, "x", "wang"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("SetStatus of an unknown case: err = %v, want ErrNotFound", err)
	}
}

// testSetStatusConcurrent: writers that race on one case all keep their
// changes, each once, and a stale update is refused.
func testSetStatusConcurrent(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	const writers, each = 2, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				to := cases.StatusProcessing
				if w == 1 {
					to = cases.StatusResolved
				}
				if _, err := svc.SetStatus(context.Background(), c.ID, to, fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("agent%d", w)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("SetStatus: %v", err)
	}
	got := mustGet(t, svc, c.ID)
	if len(got.History) != 1+writers*each || got.Version != int64(1+writers*each) {
		t.Fatalf("after %d concurrent changes: %d history entries, version %d; want %d and %d",
			writers*each, len(got.History), got.Version, 1+writers*each, 1+writers*each)
	}
	next := make([]int, writers)
	for _, ch := range got.History[1:] {
		var w, i int
		if _, err := fmt.Sscanf(ch.Note, "w%d-%d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("history entry %+v", ch)
		}
		if i != next[w] {
			t.Errorf("writer %d's change %d came after its change %d", w, i, next[w]-1)
		}
		next[w] = i + 1
	}
	if got.Status != got.Last().Status {
		t.Errorf("status %q, last change %q", got.Status, got.Last().Status)
	}
}

func testUpdateConflict(t *testing.T, s cases.Store) {
	ctx := context.Background()
	svc, _ := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	first, second := c, c
	first.Status = cases.StatusProcessing
	first.History = append(slices.Clone(c.History), cases.Change{Status: cases.StatusProcessing, By: "wang", At: day})
	stored, err := s.Update(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Version != 2 {
		t.Errorf("Update: version %d, want 2", stored.Version)
	}
	second.Status = cases.StatusRejected
	if _, err := s.Update(ctx, second); !errors.Is(err, cases.ErrConflict) {
		t.Errorf("Update at a stale version: err = %v, want ErrConflict", err)
	}
	got := mustGet(t, svc, c.ID)
	if diff := cmp.Diff(stored, got, opts); diff != "" {
		t.Errorf("a stale update changed the case (-want +got):\n%s", diff)
	}
	if list := mustList(t, svc, cases.Filter{Status: cases.StatusRejected}); len(list) != 0 {
		t.Errorf("a stale update indexed the case as rejected")
	}
}

func testUpdateNotFound(t *testing.T, s cases.Store) {
	c := cases.Case{ID: "KF20261125-2222", OpenID: "o-1", Flow: "x", Status: cases.StatusResolved, Version: 1, CreatedAt: day}
	if _, err := s.Update(context.Background(), c); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("Update of an unknown case: err = %v, want ErrNotFound", err)
	}
}

// seedList opens, a minute apart, cases of three users in two flows and
// moves some on; it returns them by name.
func seedList(t *testing.T, svc *cases.Service, clock *clocktest.Clock) map[string]cases.Case {
	t.Helper()
	out := map[string]cases.Case{}
	for _, c := range []struct{ name, user, flow string }{
		{"a1", "o-a", "fraud_report"}, {"b1", "o-b", "bill_export"}, {"a2", "o-a", "bill_export"},
		{"c1", "o-c", "fraud_report"}, {"a3", "o-a", "fraud_report"}, {"b2", "o-b", "fraud_report"},
	} {
		clock.Advance(time.Minute)
		out[c.name] = mustOpen(t, svc, cases.NewCase{OpenID: c.user, Flow: c.flow})
	}
	clock.Advance(time.Minute)
	out["a1"] = mustSet(t, svc, out["a1"].ID, cases.StatusProcessing, "", "wang")
	out["c1"] = mustSet(t, svc, out["c1"].ID, cases.StatusResolved, "", "wang")
	out["b2"] = mustSet(t, svc, out["b2"].ID, cases.StatusProcessing, "", "wang")
	return out
}

func testListFilters(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	c := seedList(t, svc, clock)
	id := func(names ...string) []string {
		out := []string{}
		for _, n := range names {
			out = append(out, c[n].ID)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		f    cases.Filter
		want []string
	}{
		{"All", cases.Filter{}, id("b2", "a3", "c1", "a2", "b1", "a1")},
		{"Status", cases.Filter{Status: cases.StatusProcessing}, id("b2", "a1")},
		{"Submitted", cases.Filter{Status: cases.StatusSubmitted}, id("a3", "a2", "b1")},
		{"Flow", cases.Filter{Flow: "bill_export"}, id("a2", "b1")},
		{"User", cases.Filter{OpenID: "o-a"}, id("a3", "a2", "a1")},
		{"UserFlow", cases.Filter{OpenID: "o-a", Flow: "fraud_report"}, id("a3", "a1")},
		{"UserStatus", cases.Filter{OpenID: "o-b", Status: cases.StatusProcessing}, id("b2")},
		{"FlowStatus", cases.Filter{Flow: "fraud_report", Status: cases.StatusResolved}, id("c1")},
		{"All3", cases.Filter{OpenID: "o-a", Flow: "bill_export", Status: cases.StatusSubmitted}, id("a2")},
		{"NoUser", cases.Filter{OpenID: "o-z"}, id()},
		{"NoFlow", cases.Filter{Flow: "nope"}, id()},
		{"Rejected", cases.Filter{Status: cases.StatusRejected}, id()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(mustList(t, svc, tt.f)), opts); diff != "" {
				t.Errorf("List(%+v) (-want +got):\n%s", tt.f, diff)
			}
		})
	}
	// The listed cases are whole.
	list := mustList(t, svc, cases.Filter{OpenID: "o-c"})
	if len(list) != 1 {
		t.Fatalf("List(o-c): %d cases", len(list))
	}
	if diff := cmp.Diff(c["c1"], list[0], opts); diff != "" {
		t.Errorf("List(o-c) (-want +got):\n%s", diff)
	}
}

// testListOrder: newest first; cases opened at the same instant by ID,
// descending.
func testListOrder(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	var same []string
	for range 5 {
		same = append(same, mustOpen(t, svc, fraud("o-1")).ID)
	}
	clock.Advance(time.Microsecond)
	newest := mustOpen(t, svc, fraud("o-2")).ID
	slices.Sort(same)
	slices.Reverse(same)
	want := append([]string{newest}, same...)
	if diff := cmp.Diff(want, ids(mustList(t, svc, cases.Filter{}))); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(same, ids(mustList(t, svc, cases.Filter{OpenID: "o-1"}))); diff != "" {
		t.Errorf("List(o-1) order (-want +got):\n%s", diff)
	}
}

func testListLimit(t *testing.T, s cases.Store) {
	svc, clock := service(s)
	var all []string
	for i := range 12 {
		clock.Advance(time.Second)
		flow := "fraud_report"
		if i%2 == 1 {
			flow = "bill_export"
		}
		all = append(all, mustOpen(t, svc, cases.NewCase{OpenID: "o-1", Flow: flow}).ID)
	}
	slices.Reverse(all)
	if got := ids(mustList(t, svc, cases.Filter{Limit: 5})); !slices.Equal(got, all[:5]) {
		t.Errorf("List(limit 5) = %v, want %v", got, all[:5])
	}
	if got := ids(mustList(t, svc, cases.Filter{Limit: -1})); len(got) != 12 {
		t.Errorf("List(limit -1): %d cases, want all 12 (the default limit)", len(got))
	}
	// A limit with a filter the index does not answer alone.
	got := ids(mustList(t, svc, cases.Filter{OpenID: "o-1", Flow: "bill_export", Limit: 3}))
	if want := []string{all[0], all[2], all[4]}; !slices.Equal(got, want) {
		t.Errorf("List(o-1, bill_export, limit 3) = %v, want %v", got, want)
	}
}

// testListStatusMoves: a case moves between the status lists as its
// status changes.
func testListStatusMoves(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	count := func(st cases.Status) int { return len(mustList(t, svc, cases.Filter{Status: st})) }
	for _, to := range []cases.Status{cases.StatusProcessing, cases.StatusResolved, cases.StatusSubmitted, cases.StatusRejected} {
		mustSet(t, svc, c.ID, to, "", "wang")
		for _, st := range cases.Statuses {
			want := 0
			if st == to {
				want = 1
			}
			if got := count(st); got != want {
				t.Errorf("after moving to %s: %d cases %s, want %d", to, got, st, want)
			}
		}
	}
}

func testListBadStatus(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	if _, err := svc.List(context.Background(), cases.Filter{Status: "done"}); !errors.Is(err, cases.ErrBadStatus) {
		t.Errorf("List(status done): err = %v, want ErrBadStatus", err)
	}
}

// testForUserIsolation: a user sees their own cases and no one else's,
// also when asking for another's number.
func testForUserIsolation(t *testing.T, s cases.Store) {
	ctx := context.Background()
	svc, clock := service(s)
	c := seedList(t, svc, clock)
	for user, want := range map[string][]string{
		"o-a": {c["a3"].ID, c["a2"].ID, c["a1"].ID},
		"o-b": {c["b2"].ID, c["b1"].ID},
		"o-c": {c["c1"].ID},
		"o-d": {},
		"o-":  {},
		"o-A": {},
	} {
		list, err := svc.ForUser(ctx, user, 0)
		if err != nil {
			t.Fatalf("ForUser(%s): %v", user, err)
		}
		if diff := cmp.Diff(want, ids(list), opts); diff != "" {
			t.Errorf("ForUser(%s) (-want +got):\n%s", user, diff)
		}
		for _, got := range list {
			if got.OpenID != user {
				t.Errorf("ForUser(%s) returned %s of %s", user, got.ID, got.OpenID)
			}
		}
	}
	if list, err := svc.ForUser(ctx, "o-a", 2); err != nil || len(list) != 2 {
		t.Errorf("ForUser(o-a, 2) = %v, %v", ids(list), err)
	}
	if got, err := svc.UserCase(ctx, "o-a", strings.ToLower(c["a1"].ID)); err != nil || got.ID != c["a1"].ID {
		t.Errorf("UserCase(o-a, its own case) = %s, %v", got.ID, err)
	}
	if _, err := svc.UserCase(ctx, "o-b", c["a1"].ID); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("UserCase(o-b, a case of o-a): err = %v, want ErrNotFound", err)
	}
	if _, err := svc.UserCase(ctx, "", c["a1"].ID); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("UserCase(no user, a case): err = %v, want ErrNotFound", err)
	}
}

func testForUserInvalid(t *testing.T, s cases.Store) {
	svc, _ := service(s)
	mustOpen(t, svc, fraud("o-1"))
	if list, err := svc.ForUser(context.Background(), "", 0); !errors.Is(err, cases.ErrInvalid) || len(list) != 0 {
		t.Errorf("ForUser(\"\") = %v, %v; want ErrInvalid and nothing", ids(list), err)
	}
}

func testAttachTicket(t *testing.T, s cases.Store) {
	ctx := context.Background()
	svc, clock := service(s)
	c := mustOpen(t, svc, fraud("o-1"))
	clock.Advance(time.Minute)
	if err := svc.AttachTicket(ctx, strings.ToLower(c.ID), "T20261125-00042"); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, svc, c.ID)
	if got.TicketID != "T20261125-00042" || got.Version != 2 || !got.UpdatedAt.Equal(clock.Now()) ||
		got.Status != cases.StatusSubmitted || len(got.History) != 1 {
		t.Errorf("after AttachTicket: ticket %q version %d updated %v status %q history %d",
			got.TicketID, got.Version, got.UpdatedAt, got.Status, len(got.History))
	}
	// Attaching the same ticket again changes nothing.
	if err := svc.AttachTicket(ctx, c.ID, "T20261125-00042"); err != nil {
		t.Fatal(err)
	}
	if again := mustGet(t, svc, c.ID); again.Version != 2 {
		t.Errorf("attaching the same ticket again: version %d, want 2", again.Version)
	}
}

func testAttachNotFound(t *testing.T, s cases.Store) {
	if err := cases.NewService(s, nil).AttachTicket(context.Background(), "KF20261125-2222", "T1"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("AttachTicket of an unknown case: err = %v, want ErrNotFound", err)
	}
}

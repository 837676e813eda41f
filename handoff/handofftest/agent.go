package handofftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

// TestAgentOps runs the conformance tests of the agent-side operations of
// a handoff.Store (ClaimTicket, ClaimNext, AssignTicket, ReleaseTicket,
// TransferTicket, AssignedCount, Breached, MarkBreached). newStores
// returns two stores over one empty data set — two instances of the shared mode, or two Stores on one
// database — so the races run between instances.
func TestAgentOps(t *testing.T, newStores func(t *testing.T) [2]handoff.Store) {
	one := func(t *testing.T) handoff.Store { return newStores(t)[0] }
	t.Run("ClaimTicket", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) { testClaimOK(t, one(t)) })
		t.Run("Refused", func(t *testing.T) { testClaimRefused(t, one(t)) })
		t.Run("ErrAtCapacity", func(t *testing.T) { testClaimCapacity(t, one(t)) })
		t.Run("Race", func(t *testing.T) { testClaimRace(t, newStores(t)) })
		t.Run("CapacityRace", func(t *testing.T) { testClaimCapacityRace(t, newStores(t)) })
	})
	t.Run("ClaimNext", func(t *testing.T) {
		t.Run("Order", func(t *testing.T) { testClaimNextOrder(t, one(t)) })
		t.Run("Concurrent", func(t *testing.T) { testClaimNextConcurrent(t, newStores(t)) })
	})
	t.Run("ReleaseTicket", func(t *testing.T) { testRelease(t, one(t)) })
	t.Run("TransferTicket", func(t *testing.T) { testTransfer(t, one(t)) })
	t.Run("AssignTicket", func(t *testing.T) { testAssign(t, one(t)) })
	t.Run("AssignedCount", func(t *testing.T) { testAssignedCount(t, one(t)) })
	t.Run("Breached", func(t *testing.T) { testBreached(t, one(t)) })
	t.Run("MarkBreached", func(t *testing.T) { testMarkBreached(t, newStores(t)) })
}

var (
	laneEmergency = handoff.Lane{Name: handoff.LaneEmergency, SLA: 15 * time.Minute, Order: 1}
	laneCare      = handoff.Lane{Name: handoff.LaneCare, SLA: 8 * time.Hour, Order: 3}
	laneBusiness  = handoff.Lane{Name: "enterprise", SLA: 4 * time.Hour, Order: 3}
	laneOverseas  = handoff.Lane{Name: handoff.LaneOverseas, SLA: 72 * time.Hour, Order: 4}
	laneNormal    = handoff.Lane{Name: handoff.LaneNormal, SLA: 24 * time.Hour, Order: 5}
	allLanes      = []handoff.Lane{laneNormal, laneCare, laneEmergency, laneBusiness, laneOverseas}
)

// claimBy returns the claim of an agent with capacity at day plus offset.
func claimBy(agent string, capacity int, offset time.Duration) handoff.Claim {
	at := day.Add(offset)
	return handoff.Claim{AgentID: agent, Capacity: capacity, Note: note("claim", "坐席 "+agent+" 已接入", at)}
}

func note(kind, text string, at time.Time) handoff.Message {
	return handoff.Message{From: handoff.FromSystem, Kind: kind, Text: text, At: at}
}

func mustClaim(t *testing.T, s handoff.Store, id string, c handoff.Claim) handoff.Ticket {
	t.Helper()
	tk, err := s.ClaimTicket(context.Background(), id, c)
	if err != nil {
		t.Fatalf("ClaimTicket(%s, %s): %v", id, c.AgentID, err)
	}
	return tk
}

func mustCount(t *testing.T, s handoff.Store, agent string, want int) {
	t.Helper()
	n, err := s.AssignedCount(context.Background(), agent)
	if err != nil {
		t.Fatalf("AssignedCount(%s): %v", agent, err)
	}
	if n != want {
		t.Errorf("AssignedCount(%s) = %d, want %d", agent, n, want)
	}
}

// checkLast checks that the stored transcript of id ends with m.
func checkLast(t *testing.T, s handoff.Store, id string, m handoff.Message) {
	t.Helper()
	tk := mustTicket(t, s, id)
	if len(tk.Messages) == 0 {
		t.Fatalf("%s: empty transcript", id)
	}
	last := tk.Messages[len(tk.Messages)-1]
	if last.From != m.From || last.Kind != m.Kind || last.Text != m.Text || !last.At.Equal(m.At) {
		t.Errorf("%s: last message %+v, want %+v", id, last, m)
	}
}

func testClaimOK(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	tk := mustCreate(t, s, newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	other := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusQueued, time.Minute))
	c := claimBy("a1", 0, time.Hour)
	got := mustClaim(t, s, tk.ID, c)
	if got.Status != handoff.StatusAssigned || got.AgentID != "a1" || !got.AssignedAt.Equal(c.Note.At) ||
		!got.UpdatedAt.Equal(c.Note.At) || got.Version != tk.Version+1 || got.Messages != nil {
		t.Errorf("ClaimTicket = %+v; want assigned to a1 at %v, version %d, no transcript", got, c.Note.At, tk.Version+1)
	}
	stored := mustHeader(t, s, tk.ID)
	if stored.Status != handoff.StatusAssigned || stored.AgentID != "a1" || !stored.AssignedAt.Equal(c.Note.At) ||
		stored.Version != got.Version {
		t.Errorf("stored after claim: %+v", stored)
	}
	checkLast(t, s, tk.ID, c.Note)
	if n := len(mustTicket(t, s, tk.ID).Messages); n != len(tk.Messages)+1 {
		t.Errorf("transcript has %d messages, want %d", n, len(tk.Messages)+1)
	}
	checkLengths(t, s, "after claim", map[string]int{handoff.LaneNormal: 1})
	if p := mustPosition(t, s, *other); p != 1 {
		t.Errorf("position of the other ticket = %d, want 1", p)
	}
	if p := mustPosition(t, s, *tk); p != 0 {
		t.Errorf("position of the claimed ticket = %d, want 0", p)
	}
	mustCount(t, s, "a1", 1)
	list, err := s.Tickets(ctx, handoff.Filter{Statuses: []handoff.Status{handoff.StatusAssigned}, Lane: handoff.LaneNormal})
	if err != nil || len(list) != 1 || list[0].ID != tk.ID {
		t.Errorf("assigned tickets = %v, %v; want [%s]", ids(list), err, tk.ID)
	}
}

// testClaimRefused checks the claims that fail: of a claimed, missing or
// closed ticket, and of a lane the agent does not serve.
func testClaimRefused(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	tk := mustCreate(t, s, newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	mustClaim(t, s, tk.ID, claimBy("a1", 0, time.Hour))
	if _, err := s.ClaimTicket(ctx, tk.ID, claimBy("a2", 0, time.Hour)); !errors.Is(err, handoff.ErrNotQueued) {
		t.Errorf("second claim: %v, want ErrNotQueued", err)
	}
	if _, err := s.ClaimTicket(ctx, "T20261125-99999", claimBy("a2", 0, time.Hour)); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("claim of a missing ticket: %v, want ErrNotFound", err)
	}
	closed := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusClosed, 0))
	if _, err := s.ClaimTicket(ctx, closed.ID, claimBy("a2", 0, time.Hour)); !errors.Is(err, handoff.ErrNotQueued) {
		t.Errorf("claim of a closed ticket: %v, want ErrNotQueued", err)
	}
	other := mustCreate(t, s, newTicket("o3", handoff.LaneNormal, handoff.StatusQueued, 0))
	c := claimBy("a2", 0, time.Hour)
	c.Lanes = []string{handoff.LaneEmergency}
	if _, err := s.ClaimTicket(ctx, other.ID, c); !errors.Is(err, handoff.ErrNoSkill) {
		t.Errorf("claim of a ticket of a lane the agent does not serve: %v, want ErrNoSkill", err)
	}
	if h := mustHeader(t, s, other.ID); h.Status != handoff.StatusQueued || h.Version != other.Version {
		t.Errorf("after the refused claim: %s, version %d; want unchanged", h.Status, h.Version)
	}
	c.Lanes = append(c.Lanes, handoff.LaneNormal)
	mustClaim(t, s, other.ID, c)
	if h := mustHeader(t, s, tk.ID); h.AgentID != "a1" {
		t.Errorf("agent after the lost claim = %q, want a1", h.AgentID)
	}
	mustCount(t, s, "a2", 1)
}

func testClaimCapacity(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	t1 := mustCreate(t, s, newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	t2 := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusQueued, time.Minute))
	mustClaim(t, s, t1.ID, claimBy("a1", 1, time.Hour))
	if _, err := s.ClaimTicket(ctx, t2.ID, claimBy("a1", 1, time.Hour)); !errors.Is(err, handoff.ErrAtCapacity) {
		t.Errorf("claim beyond capacity: %v, want ErrAtCapacity", err)
	}
	if _, err := s.ClaimNext(ctx, allLanes, claimBy("a1", 1, time.Hour)); !errors.Is(err, handoff.ErrAtCapacity) {
		t.Errorf("claim next beyond capacity: %v, want ErrAtCapacity", err)
	}
	if h := mustHeader(t, s, t2.ID); h.Status != handoff.StatusQueued {
		t.Errorf("ticket refused for capacity is %s, want queued", h.Status)
	}
	if n := len(mustTicket(t, s, t2.ID).Messages); n != len(t2.Messages) {
		t.Errorf("refused claim left a note: %d messages, want %d", n, len(t2.Messages))
	}
	mustClaim(t, s, t2.ID, claimBy("a1", 2, time.Hour))
	mustCount(t, s, "a1", 2)
}

// race runs f(0) … f(n-1) at once and returns the names f returned with
// no error; any error but lost fails the test.
func race(t *testing.T, n int, lost error, f func(i int) (string, error)) []string {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	for i := range n {
		wg.Go(func() {
			name, err := f(i)
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, name)
				mu.Unlock()
			case !errors.Is(err, lost):
				t.Errorf("%s: %v, want nil or %v", name, err, lost)
			}
		})
	}
	wg.Wait()
	return winners
}

// testClaimRace has agents on two instances claim one ticket at once:
// exactly one wins, the others get ErrNotQueued, and the transcript holds
// one claim.
func testClaimRace(t *testing.T, stores [2]handoff.Store) {
	const n = 16
	ctx := context.Background()
	tk := mustCreate(t, stores[0], newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	winners := race(t, n, handoff.ErrNotQueued, func(i int) (string, error) {
		agent := fmt.Sprintf("a%d", i)
		_, err := stores[i%2].ClaimTicket(ctx, tk.ID, claimBy(agent, 0, time.Hour))
		return agent, err
	})
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	h := mustHeader(t, stores[1], tk.ID)
	if h.AgentID != winners[0] || h.Status != handoff.StatusAssigned {
		t.Errorf("stored: %s to %q, want assigned to the winner %s", h.Status, h.AgentID, winners[0])
	}
	claims := 0
	for _, m := range mustTicket(t, stores[0], tk.ID).Messages {
		if m.Kind == "claim" {
			claims++
		}
	}
	if claims != 1 {
		t.Errorf("%d claim notes in the transcript, want 1", claims)
	}
	checkLengths(t, stores[0], "after the race", map[string]int{handoff.LaneNormal: 0})
	mustCount(t, stores[1], winners[0], 1)
}

// testClaimCapacityRace has one agent claim many tickets at once from two
// instances: the capacity holds.
func testClaimCapacityRace(t *testing.T, stores [2]handoff.Store) {
	const n, capacity = 12, 3
	ctx := context.Background()
	var tickets []*handoff.Ticket
	for i := range n {
		tickets = append(tickets, mustCreate(t, stores[0],
			newTicket(fmt.Sprintf("o%d", i), handoff.LaneNormal, handoff.StatusQueued, time.Duration(i)*time.Minute)))
	}
	won := race(t, n, handoff.ErrAtCapacity, func(i int) (string, error) {
		_, err := stores[i%2].ClaimTicket(ctx, tickets[i].ID, claimBy("a1", capacity, time.Hour))
		return tickets[i].ID, err
	})
	if len(won) != capacity {
		t.Errorf("claims of %v won, want the capacity %d", won, capacity)
	}
	mustCount(t, stores[1], "a1", capacity)
	checkLengths(t, stores[0], "after the race", map[string]int{handoff.LaneNormal: n - capacity})
}

func testClaimNextOrder(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	mk := func(openID string, lane handoff.Lane, priority int, due time.Duration) *handoff.Ticket {
		tk := newTicket(openID, lane.Name, handoff.StatusQueued, 0)
		tk.Priority, tk.SLADueAt = priority, day.Add(due)
		return mustCreate(t, s, tk)
	}
	normalLate := mk("n1", laneNormal, 0, 2*time.Hour)
	normalRaised := mk("n2", laneNormal, 1, 30*time.Hour)
	care := mk("c1", laneCare, 0, 8*time.Hour)
	business := mk("b1", laneBusiness, 0, 4*time.Hour)
	emergency := mk("e1", laneEmergency, 0, 15*time.Minute)
	overseas := mk("x1", laneOverseas, 0, time.Minute) // not among the lanes asked for

	lanes := []handoff.Lane{laneNormal, laneCare, laneBusiness, laneEmergency}
	var got []string
	for i := range 6 {
		tk, err := s.ClaimNext(ctx, lanes, claimBy("a1", 0, time.Duration(i)*time.Minute))
		if errors.Is(err, handoff.ErrEmpty) {
			break
		}
		if err != nil {
			t.Fatalf("ClaimNext %d: %v", i, err)
		}
		if tk.Status != handoff.StatusAssigned || tk.AgentID != "a1" {
			t.Errorf("ClaimNext %d = %s to %q", i, tk.Status, tk.AgentID)
		}
		got = append(got, tk.ID)
	}
	want := []string{emergency.ID, business.ID, care.ID, normalRaised.ID, normalLate.ID}
	if !slices.Equal(got, want) {
		t.Errorf("claimed %v, want %v (emergency, enterprise before care by deadline, normal by priority)", got, want)
	}
	if h := mustHeader(t, s, overseas.ID); h.Status != handoff.StatusQueued {
		t.Errorf("ticket of a lane not asked for is %s", h.Status)
	}
	if _, err := s.ClaimNext(ctx, nil, claimBy("a1", 0, 0)); !errors.Is(err, handoff.ErrEmpty) {
		t.Errorf("ClaimNext with no lane: %v, want ErrEmpty", err)
	}
	checkLast(t, s, care.ID, claimBy("a1", 0, 2*time.Minute).Note)
}

// testClaimNextConcurrent has agents on two instances claim next until the
// queues are empty: every ticket is claimed exactly once.
func testClaimNextConcurrent(t *testing.T, stores [2]handoff.Store) {
	const tickets, agents = 60, 8
	ctx := context.Background()
	lanes := []handoff.Lane{laneEmergency, laneCare, laneNormal}
	want := map[string]bool{}
	for i := range tickets {
		tk := mustCreate(t, stores[0], newTicket(fmt.Sprintf("o%d", i), lanes[i%3].Name, handoff.StatusQueued,
			time.Duration(i)*time.Second))
		want[tk.ID] = true
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[string]string{}
	)
	for a := range agents {
		wg.Go(func() {
			agent := fmt.Sprintf("a%d", a)
			for {
				tk, err := stores[a%2].ClaimNext(ctx, lanes, claimBy(agent, 0, time.Hour))
				if errors.Is(err, handoff.ErrEmpty) {
					return
				}
				if err != nil {
					t.Errorf("ClaimNext by %s: %v", agent, err)
					return
				}
				mu.Lock()
				if by, dup := claimed[tk.ID]; dup {
					t.Errorf("%s claimed by %s and %s", tk.ID, by, agent)
				}
				claimed[tk.ID] = agent
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id := range want {
		if _, ok := claimed[id]; !ok {
			t.Errorf("%s was never claimed", id)
		}
		h := mustHeader(t, stores[1], id)
		if h.Status != handoff.StatusAssigned || h.AgentID != claimed[id] {
			t.Errorf("%s stored %s to %q, want assigned to %q", id, h.Status, h.AgentID, claimed[id])
		}
	}
	total := 0
	for a := range agents {
		n, err := stores[0].AssignedCount(ctx, fmt.Sprintf("a%d", a))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != tickets || len(claimed) != tickets {
		t.Errorf("%d claimed, %d counted, want %d", len(claimed), total, tickets)
	}
	checkLengths(t, stores[1], "after the claims", map[string]int{handoff.LaneEmergency: 0, handoff.LaneCare: 0, handoff.LaneNormal: 0})
}

func testRelease(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	var queue []*handoff.Ticket
	for i := range 3 {
		queue = append(queue, mustCreate(t, s, newTicket(fmt.Sprintf("o%d", i), handoff.LaneNormal, handoff.StatusQueued,
			time.Duration(i)*time.Minute)))
	}
	mid := queue[1]
	if _, err := s.ReleaseTicket(ctx, mid.ID, note("release", "已退回队列", day)); !errors.Is(err, handoff.ErrNotAssigned) {
		t.Errorf("release of a queued ticket: %v, want ErrNotAssigned", err)
	}
	mustClaim(t, s, mid.ID, claimBy("a1", 0, time.Hour))
	n := note("release", "已退回队列", day.Add(2*time.Hour))
	got, err := s.ReleaseTicket(ctx, mid.ID, n)
	if err != nil {
		t.Fatalf("ReleaseTicket: %v", err)
	}
	if got.Status != handoff.StatusQueued || got.AgentID != "" || !got.AssignedAt.IsZero() ||
		got.Lane != handoff.LaneNormal || !got.SLADueAt.Equal(mid.SLADueAt) || !got.UpdatedAt.Equal(n.At) {
		t.Errorf("released: %+v; want queued in normal, no agent, deadline %v kept", got, mid.SLADueAt)
	}
	if p := mustPosition(t, s, *mid); p != 2 {
		t.Errorf("position after release = %d, want its old place 2", p)
	}
	checkLast(t, s, mid.ID, n)
	checkLengths(t, s, "after release", map[string]int{handoff.LaneNormal: 3})
	mustCount(t, s, "a1", 0)
	if _, err := s.ReleaseTicket(ctx, "T20261125-99999", n); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("release of a missing ticket: %v, want ErrNotFound", err)
	}
}

func testTransfer(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	tk := mustCreate(t, s, newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	mustClaim(t, s, tk.ID, claimBy("a1", 0, time.Hour))

	at := day.Add(2 * time.Hour)
	got, err := s.TransferTicket(ctx, tk.ID, laneEmergency, note("transfer", "已转至紧急通道队列", at))
	if err != nil {
		t.Fatalf("TransferTicket to emergency: %v", err)
	}
	if got.Status != handoff.StatusQueued || got.Lane != handoff.LaneEmergency || got.AgentID != "" ||
		!got.SLADueAt.Equal(at.Add(laneEmergency.SLA)) {
		t.Errorf("transferred to emergency: %+v; want queued, due %v", got, at.Add(laneEmergency.SLA))
	}
	checkLengths(t, s, "after transfer", map[string]int{handoff.LaneNormal: 0, handoff.LaneEmergency: 1})
	mustCount(t, s, "a1", 0)
	if p := mustPosition(t, s, got); p != 1 {
		t.Errorf("position in emergency = %d, want 1", p)
	}
	checkLast(t, s, tk.ID, note("transfer", "已转至紧急通道队列", at))

	// A slower lane keeps the earlier deadline.
	got, err = s.TransferTicket(ctx, tk.ID, laneOverseas, note("transfer", "已转至海外服务通道队列", at.Add(time.Minute)))
	if err != nil {
		t.Fatalf("TransferTicket to overseas: %v", err)
	}
	if got.Lane != handoff.LaneOverseas || !got.SLADueAt.Equal(at.Add(laneEmergency.SLA)) {
		t.Errorf("transferred to overseas: lane %s due %v; want the deadline %v kept", got.Lane, got.SLADueAt, at.Add(laneEmergency.SLA))
	}
	checkLengths(t, s, "after second transfer", map[string]int{handoff.LaneEmergency: 0, handoff.LaneOverseas: 1})

	closed := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusClosed, 0))
	if _, err := s.TransferTicket(ctx, closed.ID, laneCare, note("transfer", "x", at)); !errors.Is(err, handoff.ErrClosed) {
		t.Errorf("transfer of a closed ticket: %v, want ErrClosed", err)
	}
}

func testAssign(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	tk := mustCreate(t, s, newTicket("o1", handoff.LaneNormal, handoff.StatusQueued, 0))
	got, err := s.AssignTicket(ctx, tk.ID, claimBy("a1", 0, time.Hour))
	if err != nil || got.Status != handoff.StatusAssigned || got.AgentID != "a1" {
		t.Fatalf("AssignTicket from the queue = %s to %q, %v", got.Status, got.AgentID, err)
	}
	c := claimBy("a2", 1, 2*time.Hour)
	got, err = s.AssignTicket(ctx, tk.ID, c)
	if err != nil || got.AgentID != "a2" || !got.AssignedAt.Equal(c.Note.At) {
		t.Fatalf("AssignTicket from a1 to a2 = %q at %v, %v", got.AgentID, got.AssignedAt, err)
	}
	mustCount(t, s, "a1", 0)
	mustCount(t, s, "a2", 1)
	checkLengths(t, s, "after assign", map[string]int{handoff.LaneNormal: 0})
	// Re-assigning to the agent who holds it does not count it twice.
	if _, err := s.AssignTicket(ctx, tk.ID, claimBy("a2", 1, 3*time.Hour)); err != nil {
		t.Errorf("AssignTicket to its holder at capacity 1: %v", err)
	}
	other := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusQueued, 0))
	if _, err := s.AssignTicket(ctx, other.ID, claimBy("a2", 1, time.Hour)); !errors.Is(err, handoff.ErrAtCapacity) {
		t.Errorf("AssignTicket beyond capacity: %v, want ErrAtCapacity", err)
	}
	closed := mustCreate(t, s, newTicket("o3", handoff.LaneNormal, handoff.StatusClosed, 0))
	if _, err := s.AssignTicket(ctx, closed.ID, claimBy("a3", 0, time.Hour)); !errors.Is(err, handoff.ErrClosed) {
		t.Errorf("AssignTicket of a closed ticket: %v, want ErrClosed", err)
	}
}

// testAssignedCount checks that every write path keeps the count: create
// assigned, claim, close by UpdateTicket.
func testAssignedCount(t *testing.T, s handoff.Store) {
	direct := newTicket("o1", handoff.LaneNormal, handoff.StatusAssigned, 0)
	direct.AgentID = "a1"
	mustCreate(t, s, direct)
	queued := mustCreate(t, s, newTicket("o2", handoff.LaneNormal, handoff.StatusQueued, 0))
	mustClaim(t, s, queued.ID, claimBy("a1", 0, time.Hour))
	mustCount(t, s, "a1", 2)
	mustCount(t, s, "nobody", 0)

	tk := mustTicket(t, s, queued.ID)
	tk.Status, tk.ClosedAt = handoff.StatusClosed, day.Add(2*time.Hour)
	mustUpdate(t, s, &tk)
	mustCount(t, s, "a1", 1)

	mustAppend(t, s, direct.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "在吗", At: day})
	tk = mustTicket(t, s, direct.ID)
	tk.AgentID = "a2"
	mustUpdate(t, s, &tk)
	mustCount(t, s, "a1", 0)
	mustCount(t, s, "a2", 1)
}

func mustBreached(t *testing.T, s handoff.Store, step, lane string, now time.Time, want int) {
	t.Helper()
	n, err := s.Breached(context.Background(), lane, now)
	if err != nil {
		t.Fatalf("%s: Breached(%s): %v", step, lane, err)
	}
	if n != want {
		t.Errorf("%s: Breached(%s, %v) = %d, want %d", step, lane, now, n, want)
	}
}

// testBreached checks the count of breached tickets through every write
// path: create, claim, release, transfer, update.
func testBreached(t *testing.T, s handoff.Store) {
	ctx := context.Background()
	mk := func(openID string, status handoff.Status, due time.Duration) *handoff.Ticket {
		tk := newTicket(openID, handoff.LaneNormal, status, 0)
		tk.SLADueAt = day.Add(due)
		return mustCreate(t, s, tk)
	}
	first := mk("o1", handoff.StatusQueued, time.Hour)
	mk("o2", handoff.StatusQueued, 2*time.Hour)
	third := mk("o3", handoff.StatusQueued, 3*time.Hour)
	mk("o4", handoff.StatusAssigned, 0)
	now := day.Add(2 * time.Hour)
	mustBreached(t, s, "created", handoff.LaneNormal, now, 1)
	mustBreached(t, s, "created", handoff.LaneCare, now, 0)

	mustClaim(t, s, first.ID, claimBy("a1", 0, time.Hour))
	mustBreached(t, s, "claimed", handoff.LaneNormal, now, 0)
	if _, err := s.ReleaseTicket(ctx, first.ID, note("release", "已退回队列", now)); err != nil {
		t.Fatal(err)
	}
	mustBreached(t, s, "released", handoff.LaneNormal, now, 1)
	if _, err := s.TransferTicket(ctx, first.ID, laneEmergency, note("transfer", "已转至紧急通道队列", now)); err != nil {
		t.Fatal(err)
	}
	// It keeps its deadline, an hour ago, earlier than the lane's SLA.
	mustBreached(t, s, "transferred", handoff.LaneNormal, now, 0)
	mustBreached(t, s, "transferred", handoff.LaneEmergency, now, 1)
	mustBreached(t, s, "transferred", handoff.LaneEmergency, day.Add(time.Hour), 0)

	tk := mustTicket(t, s, third.ID)
	tk.SLADueAt = day.Add(time.Minute)
	mustUpdate(t, s, &tk)
	mustBreached(t, s, "updated", handoff.LaneNormal, now, 1)
	tk.Status = handoff.StatusClosed
	mustUpdate(t, s, &tk)
	mustBreached(t, s, "closed", handoff.LaneNormal, now, 0)
}

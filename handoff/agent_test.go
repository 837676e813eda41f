package handoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

var (
	wang = handoff.Agent{ID: "a-wang", Name: "小王", Lanes: []string{handoff.LaneEmergency, handoff.LaneNormal}, Capacity: 2}
	li   = handoff.Agent{ID: "a-li", Name: "小李", Lanes: []string{handoff.LaneOverseas}, Capacity: 1}
)

// lastMessage returns the last message of the stored ticket's transcript.
func lastMessage(t *testing.T, st handoff.Store, id string) handoff.Message {
	t.Helper()
	tk, err := st.Ticket(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Messages[len(tk.Messages)-1]
}

// open opens a ticket at the user's request.
func open(t *testing.T, svc *handoff.Service, openID, lane string) handoff.Ticket {
	t.Helper()
	return mustHandoff(t, svc, handoff.Request{OpenID: openID, Lane: lane, Reason: "user_request"}).Ticket
}

func TestClaim(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := mustService(t, handoff.Options{}, nil)
	normal := open(t, svc, "o-1", handoff.LaneNormal)
	urgent := mustHandoff(t, svc, handoff.Request{OpenID: "o-2", Lane: handoff.LaneEmergency, Reason: "urgent:emergency"}).Ticket
	abroad := open(t, svc, "o-3", handoff.LaneOverseas)
	open(t, svc, "o-4", handoff.LaneNormal)

	if _, err := svc.Claim(ctx, abroad.ID, wang); !errors.Is(err, handoff.ErrNoSkill) {
		t.Errorf("Claim of a lane the agent does not serve: %v, want ErrNoSkill", err)
	}
	got, err := svc.ClaimNext(ctx, wang)
	if err != nil || got.ID != urgent.ID || got.AgentID != wang.ID {
		t.Fatalf("ClaimNext = %s to %q, %v; want the emergency ticket %s", got.ID, got.AgentID, err, urgent.ID)
	}
	if m := lastMessage(t, st, urgent.ID); m.From != handoff.FromSystem || m.Text != "坐席 小王 已接入" || !m.At.Equal(t0) {
		t.Errorf("claim note = %+v", m)
	}
	if _, err := svc.Claim(ctx, normal.ID, wang); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if _, err := svc.ClaimNext(ctx, wang); !errors.Is(err, handoff.ErrAtCapacity) {
		t.Errorf("ClaimNext at capacity: %v, want ErrAtCapacity", err)
	}
	if n, err := svc.Load(ctx, wang.ID); err != nil || n != 2 {
		t.Errorf("Load = %d, %v; want 2", n, err)
	}
	if _, err := svc.Claim(ctx, normal.ID, handoff.Agent{ID: "a-3", Lanes: wang.Lanes}); !errors.Is(err, handoff.ErrNotQueued) {
		t.Errorf("Claim of a claimed ticket: %v, want ErrNotQueued", err)
	}
	if _, err := svc.ClaimNext(ctx, li); err != nil {
		t.Errorf("ClaimNext overseas: %v", err)
	}
	if _, err := svc.ClaimNext(ctx, handoff.Agent{ID: "a-5", Lanes: []string{handoff.LaneOverseas}}); !errors.Is(err, handoff.ErrEmpty) {
		t.Errorf("ClaimNext on an empty lane: %v, want ErrEmpty", err)
	}
	if _, err := svc.ClaimNext(ctx, handoff.Agent{ID: "a-6", Lanes: []string{"nowhere"}}); !errors.Is(err, handoff.ErrNoSkill) {
		t.Errorf("ClaimNext with no configured lane: %v, want ErrNoSkill", err)
	}
}

func TestReleaseTransferNote(t *testing.T) {
	ctx := context.Background()
	svc, st, clock := mustService(t, handoff.Options{}, nil)
	tk := open(t, svc, "o-1", handoff.LaneNormal)
	if _, err := svc.Claim(ctx, tk.ID, wang); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := svc.AddNote(ctx, tk.ID, wang.ID, "用户情绪激动，注意安抚"); err != nil {
		t.Fatal(err)
	}
	if m := lastMessage(t, st, tk.ID); m.From != handoff.FromNote || m.Ref != "agent:a-wang" || m.Text != "用户情绪激动，注意安抚" {
		t.Errorf("note = %+v", m)
	}
	got, err := svc.Release(ctx, tk.ID)
	if err != nil || got.Status != handoff.StatusQueued || !got.SLADueAt.Equal(tk.SLADueAt) {
		t.Fatalf("Release = %s due %v, %v; want queued, due %v", got.Status, got.SLADueAt, err, tk.SLADueAt)
	}
	if m := lastMessage(t, st, tk.ID); m.Text != "已退回队列" {
		t.Errorf("release note = %+v", m)
	}
	if _, err := svc.Release(ctx, tk.ID); !errors.Is(err, handoff.ErrNotAssigned) {
		t.Errorf("second Release: %v, want ErrNotAssigned", err)
	}
	got, err = svc.TransferToLane(ctx, tk.ID, handoff.LaneEmergency)
	if err != nil || got.Lane != handoff.LaneEmergency || !got.SLADueAt.Equal(clock.Now().Add(15*time.Minute)) {
		t.Fatalf("TransferToLane = %s due %v, %v", got.Lane, got.SLADueAt, err)
	}
	if m := lastMessage(t, st, tk.ID); m.Text != "已转至紧急通道队列" {
		t.Errorf("transfer note = %+v", m)
	}
	if _, err := svc.TransferToLane(ctx, tk.ID, "nowhere"); !errors.Is(err, handoff.ErrUnknownLane) {
		t.Errorf("TransferToLane to an unknown lane: %v", err)
	}
	got, err = svc.TransferToAgent(ctx, tk.ID, li)
	if err != nil || got.AgentID != li.ID || got.Status != handoff.StatusAssigned {
		t.Fatalf("TransferToAgent = %s to %q, %v", got.Status, got.AgentID, err)
	}
	if m := lastMessage(t, st, tk.ID); m.Text != "已转给坐席 小李" {
		t.Errorf("transfer note = %+v", m)
	}
	if _, err := svc.Close(ctx, tk.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Load(ctx, li.ID); err != nil || n != 0 {
		t.Errorf("Load after close = %d, %v; want 0", n, err)
	}
	if _, err := svc.TransferToAgent(ctx, tk.ID, wang); !errors.Is(err, handoff.ErrClosed) {
		t.Errorf("TransferToAgent of a closed ticket: %v, want ErrClosed", err)
	}
}

func TestBreached(t *testing.T) {
	tk := handoff.Ticket{Status: handoff.StatusQueued, SLADueAt: t0}
	if tk.Breached(t0) || !tk.Breached(t0.Add(time.Second)) {
		t.Error("a queued ticket is breached after its deadline only")
	}
	tk.Status = handoff.StatusAssigned
	if tk.Breached(t0.Add(time.Hour)) {
		t.Error("an assigned ticket is not breached")
	}
}

func TestBreaches(t *testing.T) {
	svc, _, clock := mustService(t, handoff.Options{}, nil)
	open(t, svc, "o-1", handoff.LaneEmergency)
	open(t, svc, "o-2", handoff.LaneNormal)
	clock.Advance(16 * time.Minute)
	got, err := svc.Breaches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got[handoff.LaneEmergency] != 1 || got[handoff.LaneNormal] != 0 || len(got) != len(svc.Lanes().All()) {
		t.Errorf("Breaches = %v, want emergency 1, every other lane 0", got)
	}
}

func TestTimedOut(t *testing.T) {
	const agent, user = 30 * time.Minute, 20 * time.Minute
	msg := func(from handoff.Sender, offset time.Duration) handoff.Message {
		return handoff.Message{From: from, Kind: "text", Text: "…", At: t0.Add(offset)}
	}
	for _, tc := range []struct {
		name string
		msgs []handoff.Message
		at   time.Duration
		want handoff.Timeout
	}{
		{"Fresh", nil, 29 * time.Minute, handoff.NoTimeout},
		{"AgentNeverReplied", nil, 30 * time.Minute, handoff.AgentSilent},
		{"QueuedMessagesDoNotCount", []handoff.Message{msg(handoff.FromUser, -time.Hour)}, 29 * time.Minute, handoff.NoTimeout},
		{"UserWaits", []handoff.Message{msg(handoff.FromAgent, time.Minute)}, 20 * time.Minute, handoff.NoTimeout},
		{"UserSilent", []handoff.Message{msg(handoff.FromAgent, time.Minute)}, 21 * time.Minute, handoff.UserSilent},
		{"NotesDoNotCount", []handoff.Message{msg(handoff.FromAgent, time.Minute), msg(handoff.FromNote, 10*time.Minute)},
			21 * time.Minute, handoff.UserSilent},
		{"AgentWaitsFromUserReply", []handoff.Message{msg(handoff.FromAgent, time.Minute), msg(handoff.FromUser, 10*time.Minute),
			msg(handoff.FromUser, 15*time.Minute)}, 39 * time.Minute, handoff.NoTimeout},
		{"AgentSilentAfterUserReply", []handoff.Message{msg(handoff.FromAgent, time.Minute), msg(handoff.FromUser, 10*time.Minute),
			msg(handoff.FromUser, 15*time.Minute)}, 40 * time.Minute, handoff.AgentSilent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := handoff.Ticket{Status: handoff.StatusAssigned, AssignedAt: t0, UpdatedAt: t0, Messages: tc.msgs}
			if got := handoff.TimedOut(tk, t0.Add(tc.at), agent, user); got != tc.want {
				t.Errorf("TimedOut at +%v = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
	if got := handoff.TimedOut(handoff.Ticket{Status: handoff.StatusQueued}, t0.Add(time.Hour), agent, user); got != handoff.NoTimeout {
		t.Errorf("TimedOut of a queued ticket = %d", got)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	svc, st, clock := mustService(t, handoff.Options{}, nil)
	silentAgent := open(t, svc, "o-1", handoff.LaneNormal)
	silentUser := open(t, svc, "o-2", handoff.LaneNormal)
	talking := open(t, svc, "o-3", handoff.LaneNormal)
	for _, id := range []string{silentAgent.ID, silentUser.ID, talking.ID} {
		if _, err := svc.Claim(ctx, id, handoff.Agent{ID: "a-1", Name: "小王", Lanes: []string{handoff.LaneNormal}}); err != nil {
			t.Fatal(err)
		}
	}
	agentSays := func(id string) {
		t.Helper()
		if err := svc.Append(ctx, id, handoff.Message{From: handoff.FromAgent, Kind: "text", Text: "您好", At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(5 * time.Minute)
	agentSays(silentUser.ID)
	agentSays(talking.ID)
	clock.Advance(20 * time.Minute)
	if err := svc.Append(ctx, talking.ID, userText("还是不行", clock.Now())); err != nil {
		t.Fatal(err)
	}

	clock.Advance(4 * time.Minute) // +29 min
	if got, err := svc.Sweep(ctx); err != nil || len(got.Released)+len(got.Closed) != 0 {
		t.Fatalf("Sweep at +29 min = %+v, %v; want nothing", got, err)
	}
	clock.Advance(6 * time.Minute) // +35 min
	got, err := svc.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Released) != 1 || got.Released[0].ID != silentAgent.ID || got.Released[0].Status != handoff.StatusQueued {
		t.Errorf("released %v, want %s back in the queue", got.Released, silentAgent.ID)
	}
	if len(got.Closed) != 1 || got.Closed[0].ID != silentUser.ID || got.Closed[0].Status != handoff.StatusClosed {
		t.Errorf("closed %v, want %s", got.Closed, silentUser.ID)
	}
	if m := lastMessage(t, st, silentAgent.ID); m.Text != "坐席超时未回复，已退回队列" {
		t.Errorf("release note = %+v", m)
	}
	if m := lastMessage(t, st, silentUser.ID); m.Text != "工单关闭：user_silent" {
		t.Errorf("close note = %+v", m)
	}
	if h, _ := st.TicketHeader(ctx, talking.ID); h.Status != handoff.StatusAssigned {
		t.Errorf("the user of %s spoke at +25 min: %s, want still assigned", talking.ID, h.Status)
	}
	clock.Advance(20 * time.Minute) // +55 min: the agent has been silent 30 min since the user's message
	got, err = svc.Sweep(ctx)
	if err != nil || len(got.Released) != 1 || got.Released[0].ID != talking.ID {
		t.Errorf("Sweep at +55 min = %+v, %v; want %s released", got, err, talking.ID)
	}
}

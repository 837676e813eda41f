package handofftest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
)

// BenchCreateTicket measures opening a ticket for a new user, with a
// short transcript.
func BenchCreateTicket(b *testing.B, s handoff.Store) {
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		tk := newTicket("o-"+strconv.Itoa(i), handoff.LaneNormal, handoff.StatusQueued, time.Duration(i)*time.Millisecond)
		if err := s.CreateTicket(ctx, tk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchCreateTicketParallel measures opening tickets for new users from
// many goroutines at once, as handoffs arrive under load.
func BenchCreateTicketParallel(b *testing.B, s handoff.Store) {
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			tk := newTicket("o-"+strconv.FormatInt(i, 10), handoff.LaneNormal, handoff.StatusQueued, time.Duration(i)*time.Millisecond)
			if err := s.CreateTicket(ctx, tk); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchHandoffParallel measures what the bot pays for a handoff under
// load: Service.Handoff for new users from many goroutines at once, each
// with a transcript of eight messages (what the load generator's handoffs
// carry on average), so the store's lookups, the ticket, its transcript
// and the queue position are all in it.
func BenchHandoffParallel(b *testing.B, s handoff.Store) {
	lanes, err := handoff.NewLanes(handoff.DefaultLanes())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := handoff.NewService(handoff.Options{Store: s, Lanes: lanes})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	transcript := make([]handoff.Message, 0, 8)
	for i := range 4 {
		transcript = append(transcript,
			handoff.Message{From: handoff.FromUser, Kind: "text", Text: "账号被冻结了怎么解冻？", At: now.Add(time.Duration(i) * time.Second)},
			handoff.Message{From: handoff.FromBot, Kind: "answer", Text: "账号被冻结后，可在微信“我”-“设置”-“帮助与反馈”中申请解冻…",
				Ref: "kb:account-unfreeze", At: now.Add(time.Duration(i)*time.Second + time.Millisecond)})
	}
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := svc.Handoff(ctx, handoff.Request{OpenID: "o-" + strconv.FormatInt(i, 10), Lane: handoff.LaneNormal,
				Reason: "user_request", Transcript: transcript})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchAppendMessages measures adding one message to a ticket whose
// transcript holds 1,000 messages already (and more as it runs).
func BenchAppendMessages(b *testing.B, s handoff.Store) {
	ctx := context.Background()
	tk := newTicket("o-1", handoff.LaneNormal, handoff.StatusQueued, 0)
	tk.Messages = nil
	for i := range 1000 {
		tk.Messages = append(tk.Messages, handoff.Message{From: handoff.FromUser, Kind: "text",
			Text: fmt.Sprintf("第%d条：我的账号被盗了，怎么办？", i), At: day.Add(time.Duration(i) * time.Second)})
	}
	mustCreateB(b, s, tk)
	m := handoff.Message{From: handoff.FromUser, Kind: "text", Text: "还在吗？", At: day.Add(time.Hour)}
	for b.Loop() {
		if err := s.AppendMessages(ctx, tk.ID, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchQueuePosition measures a ticket's place among 100,000 queued
// tickets in the six default lanes: a random ticket ("Random") and the
// last of the longest lane ("Last"). Then, in a lane of its own holding
// another 100,000 queued tickets, the place of a ticket just opened —
// priority 0, due a lane's SLA after now: the last of the lane, as a
// handoff's ticket normally is ("New") —, of a ticket at the head of that
// lane ("Head"), and of the new ticket once 100 more have been opened
// behind it ("NearEnd"). createAll stores the tickets in bulk.
func BenchQueuePosition(b *testing.B, s handoff.Store, createAll func([]*handoff.Ticket) error) {
	const n = 100_000
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	ts := fillDefaultLanes(b, n, rng, createAll)
	byLane := map[string][]handoff.Ticket{}
	for _, tk := range ts {
		byLane[tk.Lane] = append(byLane[tk.Lane], *tk)
	}
	var longest []handoff.Ticket
	for _, q := range byLane {
		if len(q) > len(longest) {
			longest = q
		}
	}
	last := slices.MaxFunc(longest, handoff.QueueOrder)

	b.Run("Random", func(b *testing.B) {
		for b.Loop() {
			tk := ts[rng.IntN(n)]
			if pos, err := s.QueuePosition(ctx, *tk); err != nil || pos < 1 {
				b.Fatalf("QueuePosition(%s) = %d, %v", tk.ID, pos, err)
			}
		}
	})
	b.Run("Last", func(b *testing.B) {
		for b.Loop() {
			if pos, err := s.QueuePosition(ctx, last); err != nil || pos != len(longest) {
				b.Fatalf("QueuePosition(%s) = %d, %v; want %d", last.ID, pos, err, len(longest))
			}
		}
	})

	// The lane of 100,000, filled once, by the first subbenchmark that
	// needs it.
	var (
		filled   bool
		newTk    handoff.Ticket
		headTk   handoff.Ticket
		nextUser = 2 * n
	)
	fill := func(b *testing.B) {
		b.Helper()
		if filled {
			return
		}
		filled = true
		ts := make([]*handoff.Ticket, n)
		for i := range ts {
			tk := newTicket("o-"+strconv.Itoa(n+i), benchLane, handoff.StatusQueued, time.Duration(i)*time.Second)
			tk.Priority = rng.IntN(3)
			tk.SLADueAt = tk.CreatedAt.Add(benchLaneSLA)
			ts[i] = tk
		}
		start := time.Now()
		if err := createAll(ts); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d tickets stored in lane %s in %v", n, benchLane, time.Since(start))
		newTk = *openBench(b, s, &nextUser, n, 0)
		headTk = *openBench(b, s, &nextUser, n+1, 3)
	}
	b.Run("New", func(b *testing.B) {
		fill(b)
		for b.Loop() {
			if pos, err := s.QueuePosition(ctx, newTk); err != nil || pos != n+2 {
				b.Fatalf("QueuePosition(new %s) = %d, %v; want %d", newTk.ID, pos, err, n+2)
			}
		}
	})
	b.Run("Head", func(b *testing.B) {
		fill(b)
		for b.Loop() {
			if pos, err := s.QueuePosition(ctx, headTk); err != nil || pos != 1 {
				b.Fatalf("QueuePosition(head %s) = %d, %v; want 1", headTk.ID, pos, err)
			}
		}
	})
	const behind = 100
	nearEnd := false
	b.Run("NearEnd", func(b *testing.B) {
		fill(b)
		if !nearEnd { // once: with -count, b.Run runs this again on the same store
			nearEnd = true
			for i := range behind {
				openBench(b, s, &nextUser, n+2+i, 0)
			}
		}
		for b.Loop() {
			if pos, err := s.QueuePosition(ctx, newTk); err != nil || pos != n+2 {
				b.Fatalf("QueuePosition(%s, %d behind) = %d, %v; want %d", newTk.ID, behind, pos, err, n+2)
			}
		}
	})
}

// fillDefaultLanes stores n queued tickets with createAll, each in a
// random default lane with a random priority from 0 to 2, due the lane's
// SLA after its creation.
func fillDefaultLanes(b *testing.B, n int, rng *rand.Rand, createAll func([]*handoff.Ticket) error) []*handoff.Ticket {
	b.Helper()
	lanes := handoff.DefaultLanes()
	ts := make([]*handoff.Ticket, n)
	for i := range ts {
		l := lanes[rng.IntN(len(lanes))]
		tk := newTicket("o-"+strconv.Itoa(i), l.Name, handoff.StatusQueued, time.Duration(i)*time.Second)
		tk.Priority = rng.IntN(3)
		tk.SLADueAt = tk.CreatedAt.Add(l.SLA)
		ts[i] = tk
	}
	start := time.Now()
	if err := createAll(ts); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tickets stored in %v", n, time.Since(start))
	return ts
}

// benchLane is the lane of the benchmarks' 100,000-ticket queue, apart
// from the default lanes; benchLaneSLA is its SLA.
const (
	benchLane    = "bench-100k"
	benchLaneSLA = 24 * time.Hour
)

// openBench opens a ticket in benchLane for a new user as the Service
// does — the deadline its SLA after its creation —, created at the
// offset'th second, with this priority.
func openBench(b *testing.B, s handoff.Store, user *int, offset, priority int) *handoff.Ticket {
	b.Helper()
	*user++
	tk := newTicket("o-"+strconv.Itoa(*user), benchLane, handoff.StatusQueued, time.Duration(offset)*time.Second)
	tk.Priority = priority
	tk.SLADueAt = tk.CreatedAt.Add(benchLaneSLA)
	mustCreateB(b, s, tk)
	return tk
}

func mustCreateB(b *testing.B, s handoff.Store, tk *handoff.Ticket) {
	b.Helper()
	if err := s.CreateTicket(context.Background(), tk); err != nil {
		b.Fatal(err)
	}
}

// BenchQueueLength measures the length of a lane's queue holding 100,000
// tickets. createAll stores the tickets in bulk.
func BenchQueueLength(b *testing.B, s handoff.Store, createAll func([]*handoff.Ticket) error) {
	const n = 100_000
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	ts := make([]*handoff.Ticket, n)
	for i := range ts {
		tk := newTicket("o-"+strconv.Itoa(i), benchLane, handoff.StatusQueued, time.Duration(i)*time.Second)
		tk.Priority = rng.IntN(3)
		tk.SLADueAt = tk.CreatedAt.Add(benchLaneSLA)
		ts[i] = tk
	}
	start := time.Now()
	if err := createAll(ts); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tickets stored in %v", n, time.Since(start))
	for b.Loop() {
		if got, err := s.QueueLength(ctx, benchLane); err != nil || got != n {
			b.Fatalf("QueueLength(%s) = %d, %v; want %d", benchLane, got, err, n)
		}
	}
}

// BenchQueueClaim measures the queue's operations with 100,000 tickets
// waiting in the six default lanes: opening a ticket ("Enqueue"),
// claiming the next one for an agent serving every lane ("ClaimNext"),
// and claiming a given one ("ClaimTicket", a random waiting ticket).
// Each claim takes a ticket out, so the queue shrinks by the number of
// iterations (a few thousand of the 100,000). Besides the mean, each
// reports its median and 99th percentile latency (p50-ns, p99-ns).
// createAll stores the tickets in bulk.
func BenchQueueClaim(b *testing.B, s handoff.Store, createAll func([]*handoff.Ticket) error) {
	const n = 100_000
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	ts := fillDefaultLanes(b, n, rng, createAll)
	lanes := handoff.DefaultLanes()
	claim := func(i int) handoff.Claim {
		return handoff.Claim{AgentID: "a-" + strconv.Itoa(i%50), Note: handoff.Message{From: handoff.FromSystem,
			Kind: "claim", Text: "坐席已接入", At: day.Add(time.Hour)}}
	}
	user := 2 * n
	b.Run("Enqueue", func(b *testing.B) {
		var lat latencies
		for i := 0; b.Loop(); i++ {
			user++
			l := lanes[i%len(lanes)]
			tk := newTicket("o-"+strconv.Itoa(user), l.Name, handoff.StatusQueued, time.Duration(user)*time.Second)
			tk.SLADueAt = tk.CreatedAt.Add(l.SLA)
			t0 := time.Now()
			err := s.CreateTicket(ctx, tk)
			lat.add(time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
		}
		lat.report(b)
	})
	b.Run("ClaimNext", func(b *testing.B) {
		var lat latencies
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			_, err := s.ClaimNext(ctx, lanes, claim(i))
			lat.add(time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
		}
		lat.report(b)
	})
	order := rng.Perm(n)
	next := 0
	b.Run("ClaimTicket", func(b *testing.B) {
		var lat latencies
		for i := 0; b.Loop(); i++ {
			tk := ts[order[next%n]]
			next++
			t0 := time.Now()
			_, err := s.ClaimTicket(ctx, tk.ID, claim(i))
			lat.add(time.Since(t0))
			if err != nil && !errors.Is(err, handoff.ErrNotQueued) { // ClaimNext took it
				b.Fatal(err)
			}
		}
		lat.report(b)
	})
}

// latencies collects the durations of single operations of a benchmark.
type latencies []time.Duration

func (l *latencies) add(d time.Duration) { *l = append(*l, d) }

// report adds the median and the 99th percentile to the benchmark's
// results.
func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), "p99-ns")
}

package handoff

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// AssignEvery is how often an Assigner given no interval fills the free
// capacity of the online agents, catching agents who just came online and
// events it missed.
const AssignEvery = 10 * time.Second

// AssignerOptions configures an Assigner.
type AssignerOptions struct {
	// Service assigns (its Claim and ClaimNext) and, through its Events,
	// tells the Assigner what changed. Required.
	Service *Service
	// Presence tells who is online: nobody else gets a ticket. Required.
	Presence Presence
	// Agents returns the agents who may take tickets, with their lanes
	// and capacity. Agents without a capacity (0 = no limit) are never
	// auto-assigned: the Assigner would hand them every ticket. Required.
	Agents func(ctx context.Context) ([]Agent, error)
	// Every is the interval of the periodic fill; 0 = AssignEvery.
	Every time.Duration
	// Logger; nil = discard.
	Logger *slog.Logger
}

// Assigner hands waiting tickets to online agents (auto-assign, DESIGN §4):
// a ticket goes to the least busy online agent who serves its lane and has
// room below their capacity, ties to the smallest agent id. It acts on the
// service's events (a ticket queued, released or transferred to a lane; a
// ticket closed, which frees a slot) and every AssignerOptions.Every.
//
// Every instance of the shared mode runs one. They may try the same
// ticket or agent at once: the store's atomic claim, which checks the
// ticket's status, the lane and the agent's capacity, lets one win, so a
// ticket is never assigned twice nor an agent past capacity. The only cost
// is the losers' wasted attempts.
type Assigner struct {
	svc      *Service
	presence Presence
	agents   func(ctx context.Context) ([]Agent, error)
	every    time.Duration
	log      *slog.Logger
}

// NewAssigner returns an Assigner; see AssignerOptions for what is
// required.
func NewAssigner(opts AssignerOptions) (*Assigner, error) {
	if opts.Service == nil || opts.Presence == nil || opts.Agents == nil {
		return nil, errors.New("handoff: an assigner needs a service, presence and agents")
	}
	every := opts.Every
	if every <= 0 {
		every = AssignEvery
	}
	return &Assigner{svc: opts.Service, presence: opts.Presence, agents: opts.Agents, every: every,
		log: cmp.Or(opts.Logger, discardLogger)}, nil
}

// Run assigns until ctx is done. It subscribes to the service's events
// (when it has any), fills the online agents' free capacity once, then
// acts on each event and every interval; should the events stop, it goes
// on filling every interval.
func (a *Assigner) Run(ctx context.Context) {
	var events <-chan Event
	if a.svc.events != nil {
		ch, err := a.svc.events.Subscribe(ctx)
		if err != nil {
			a.log.Error("auto-assign: subscribe to events", "err", err)
		} else {
			events = ch
		}
	}
	tick := time.NewTicker(a.every)
	defer tick.Stop()
	a.Fill(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if ok {
				a.handle(ctx, ev)
			} else {
				events = nil // the bus closed: fill on the ticker only
			}
		case <-tick.C:
			a.Fill(ctx)
		}
	}
}

// handle acts on one event: a ticket that waits in a lane is assigned; a
// freed slot or missed events call for a fill.
func (a *Assigner) handle(ctx context.Context, ev Event) {
	switch ev.Type {
	case EventTicketCreated, EventReleased, EventTransferred:
		if ev.AgentID == "" { // a transfer to an agent names them: nothing waits
			a.Assign(ctx, ev.TicketID, ev.Lane)
		}
	case EventClosed, EventResync:
		a.Fill(ctx)
	}
}

// candidate is an online agent with their load.
type candidate struct {
	Agent
	load int
}

// candidates returns the online agents with a capacity, and room below
// it, who serve lane (any lane when lane is ""), least busy first, ties
// by id.
func (a *Assigner) candidates(ctx context.Context, lane string) ([]candidate, error) {
	agents, err := a.agents(ctx)
	if err != nil {
		return nil, err
	}
	online, err := a.presence.OnlineAgents(ctx)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, ag := range agents {
		if ag.Capacity <= 0 || (lane != "" && !ag.Serves(lane)) {
			continue
		}
		if _, on := slices.BinarySearch(online, ag.ID); !on {
			continue
		}
		load, err := a.svc.Load(ctx, ag.ID)
		if err != nil {
			return nil, err
		}
		if load < ag.Capacity {
			out = append(out, candidate{Agent: ag, load: load})
		}
	}
	slices.SortFunc(out, lessBusy)
	return out, nil
}

// lessBusy orders candidates least busy first, ties by id.
func lessBusy(x, y candidate) int {
	return cmp.Or(cmp.Compare(x.load, y.load), cmp.Compare(x.ID, y.ID))
}

// Assign gives the queued ticket, of the lane, to the least busy online
// agent who serves the lane and has room. It reports whether it assigned
// it; a ticket nobody can take stays queued, and one that is no longer
// queued (an agent or another instance was first) is left alone.
func (a *Assigner) Assign(ctx context.Context, ticketID, lane string) bool {
	cands, err := a.candidates(ctx, lane)
	if err != nil {
		a.log.Warn("auto-assign: candidates", "ticket_id", ticketID, "err", err)
		return false
	}
	for _, c := range cands {
		_, err := a.svc.Claim(ctx, ticketID, c.Agent)
		switch {
		case err == nil:
			a.log.Debug("auto-assign", "ticket_id", ticketID, "agent_id", c.ID, "load", c.load+1)
			return true
		case errors.Is(err, ErrAtCapacity), errors.Is(err, ErrNoSkill):
			continue // lost a race for the agent's last slot, or the ticket moved lanes
		case errors.Is(err, ErrNotQueued), errors.Is(err, ErrNotFound), errors.Is(err, ErrClosed):
			return false
		default:
			a.log.Warn("auto-assign: claim", "ticket_id", ticketID, "agent_id", c.ID, "err", err)
			return false
		}
	}
	return false
}

// Fill claims waiting tickets on behalf of the online agents with room,
// one ticket at a time to the least busy, until nobody has room or no
// ticket waits in their lanes. It returns the number of tickets assigned.
func (a *Assigner) Fill(ctx context.Context) int {
	cands, err := a.candidates(ctx, "")
	if err != nil {
		a.log.Warn("auto-assign: candidates", "err", err)
		return 0
	}
	n := 0
	// The lanes found empty in this fill. A ticket that arrives in one
	// meanwhile comes with its own event, and Assign picks the least busy
	// agent for it: a busier agent's ClaimNext later in this fill must not
	// take it first, so it looks only in the lanes not yet found empty.
	var empty []string
	for len(cands) > 0 && ctx.Err() == nil {
		c := &cands[0]
		ag := c.Agent
		ag.Lanes = slices.DeleteFunc(slices.Clone(c.Lanes), func(l string) bool { return slices.Contains(empty, l) })
		if len(ag.Lanes) == 0 {
			cands = cands[1:]
			continue
		}
		t, err := a.svc.ClaimNext(ctx, ag)
		if errors.Is(err, ErrEmpty) {
			empty = append(empty, ag.Lanes...)
			cands = cands[1:]
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrAtCapacity) && !errors.Is(err, ErrNoSkill) {
				// A store error (a busy database, a lost connection):
				// passing to the next agent would give a busier one the
				// ticket. Stop; the next event or interval fills again.
				a.log.Warn("auto-assign: claim next", "agent_id", c.ID, "err", err)
				return n
			}
			cands = cands[1:]
			continue
		}
		n++
		c.load++
		a.log.Debug("auto-assign", "ticket_id", t.ID, "agent_id", c.ID, "load", c.load)
		if c.load >= c.Capacity {
			cands = cands[1:]
			continue
		}
		// Keep the least busy first: move c past the agents now less busy.
		i := 1
		for i < len(cands) && lessBusy(cands[i], *c) < 0 {
			i++
		}
		moved := *c
		copy(cands, cands[1:i])
		cands[i-1] = moved
	}
	return n
}

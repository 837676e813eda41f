package handoff

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// EventType names what happened to a ticket.
type EventType string

// Event types. EventResync is not about a ticket: it tells a subscriber
// that it missed events (it fell behind, or the bus reconnected) and is to
// reload what it shows.
const (
	EventTicketCreated EventType = "ticket_created"
	EventTicketMerged  EventType = "ticket_merged"
	EventMergeUndone   EventType = "merge_undone"
	EventMessage       EventType = "message"
	EventClaimed       EventType = "claimed"
	EventReleased      EventType = "released"
	EventTransferred   EventType = "transferred"
	EventNote          EventType = "note"
	EventClosed        EventType = "closed"
	EventBreached      EventType = "breached"
	EventResync        EventType = "resync"
)

// PreviewRunes bounds Event.Text.
const PreviewRunes = 80

// Event is a change to a ticket, published after the change is stored, for
// the agents' panels. OpenID identifies the user to agents; it is personal
// data and never logged.
type Event struct {
	Type     EventType `json:"type"`
	TicketID string    `json:"ticket_id,omitempty"`
	// Lane and AgentID are the ticket's after the change: panels show
	// the events of the lanes their agent serves and of their tickets.
	Lane    string    `json:"lane,omitempty"`
	OpenID  string    `json:"open_id,omitempty"`
	AgentID string    `json:"agent_id,omitempty"`
	At      time.Time `json:"at"`
	// Text previews a message or note (at most PreviewRunes runes), and
	// From says who wrote it.
	Text string `json:"text,omitempty"`
	From Sender `json:"from,omitempty"`
	// Count is the number of breached tickets of Lane (EventBreached,
	// published once for each ticket, when a sweep marks it breached).
	Count int `json:"count,omitempty"`
	// Seq orders the events of a bus: it increases with every publish,
	// across the instances of the shared mode. The bus sets it.
	Seq int64 `json:"seq,omitempty"`
}

// Events carries Events from the services that publish them to every
// subscriber: in the embedded mode in-process (LocalEvents), in the shared
// mode to every instance (handoff/redisstore.Events).
type Events interface {
	// Publish sends ev to the current subscribers, setting its Seq. It
	// does not wait for them.
	Publish(ctx context.Context, ev Event) error
	// Subscribe returns the events published from now on, until ctx is
	// done; then the channel closes. A subscriber that does not keep up
	// loses events and receives an EventResync instead.
	Subscribe(ctx context.Context) (<-chan Event, error)
}

// SubscriberBuffer is how many events a subscriber of LocalEvents may fall
// behind before it loses events.
const SubscriberBuffer = 64

// LocalEvents is the in-process Events of the embedded mode. The shared
// mode uses it too, to fan out what one Redis subscription receives. It
// is safe for concurrent use.
type LocalEvents struct {
	mu   sync.Mutex
	seq  int64
	subs map[*subscriber]struct{}
}

var _ Events = (*LocalEvents)(nil)

type subscriber struct {
	ch   chan Event
	lost bool // an EventResync is queued for the events dropped since
}

// NewLocalEvents returns a LocalEvents without subscribers.
func NewLocalEvents() *LocalEvents {
	return &LocalEvents{subs: make(map[*subscriber]struct{})}
}

// Publish hands ev to every subscriber without blocking: a subscriber
// whose buffer is full loses it, and gets an EventResync in the slot kept
// for it. An ev with a Seq (from another bus) keeps it; otherwise the
// next local number is set.
func (b *LocalEvents) Publish(_ context.Context, ev Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev.Seq == 0 {
		b.seq++
		ev.Seq = b.seq
	}
	for s := range b.subs {
		switch {
		case len(s.ch) < cap(s.ch)-1:
			s.ch <- ev
			s.lost = false
		case !s.lost:
			// Only Publish sends, under b.mu: the last slot is free.
			s.ch <- Event{Type: EventResync, At: ev.At, Seq: ev.Seq}
			s.lost = true
		}
	}
	return nil
}

// Subscribe returns a channel of the events published from now on; it is
// closed when ctx is done.
func (b *LocalEvents) Subscribe(ctx context.Context) (<-chan Event, error) {
	s := &subscriber{ch: make(chan Event, SubscriberBuffer)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, s)
		close(s.ch)
		b.mu.Unlock()
	})
	return s.ch, nil
}

// Preview cuts text to PreviewRunes runes, marking a cut with "…".
func Preview(text string) string {
	if utf8.RuneCountInString(text) <= PreviewRunes {
		return text
	}
	n := 0
	for i := range text {
		if n == PreviewRunes-1 {
			return text[:i] + "…"
		}
		n++
	}
	return text
}

// ticketEvent is the event of type typ about t, at the service's now.
func (s *Service) ticketEvent(typ EventType, t Ticket) Event {
	return Event{Type: typ, TicketID: t.ID, Lane: t.Lane, OpenID: t.OpenID, AgentID: t.AgentID, At: s.now()}
}

// publish publishes ev when the service has Events. A failure is logged
// (without the user's openid) and does not fail the operation, which is
// stored already: panels catch up on their next resync or reload.
func (s *Service) publish(ctx context.Context, ev Event) {
	if s.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := s.events.Publish(ctx, ev); err != nil {
		s.log.Warn("handoff: publish event", "type", string(ev.Type), "ticket_id", ev.TicketID, "err", err)
	}
}

// publishTimeout bounds one publish.
const publishTimeout = 2 * time.Second

// publishTicket publishes the event of type typ about t.
func (s *Service) publishTicket(ctx context.Context, typ EventType, t Ticket) {
	s.publish(ctx, s.ticketEvent(typ, t))
}

// publishAppended publishes the event of messages appended to the ticket
// id: its header is read for the lane and agent the panels filter on.
func (s *Service) publishAppended(ctx context.Context, typ EventType, id string, last Message) {
	if s.events == nil {
		return
	}
	t, err := s.store.TicketHeader(ctx, id)
	if err != nil {
		s.log.Warn("handoff: publish event: read ticket", "type", string(typ), "ticket_id", id, "err", err)
		return
	}
	ev := s.ticketEvent(typ, t)
	ev.Text, ev.From = Preview(last.Text), last.From
	if ev.Text == "" && last.Kind != "" {
		ev.Text = "[" + last.Kind + "]"
	}
	s.publish(ctx, ev)
}

// publishSwept publishes what a Sweep did: releases, closes, and the
// tickets it marked breached, each with its lane's breached count.
func (s *Service) publishSwept(ctx context.Context, out Swept) {
	if s.events == nil {
		return
	}
	for _, t := range out.Released {
		s.publishTicket(ctx, EventReleased, t)
	}
	for _, t := range slices.Concat(out.Closed, out.Expired) {
		s.publishTicket(ctx, EventClosed, t)
	}
	counts := map[string]int{}
	for _, t := range out.Breached {
		n, ok := counts[t.Lane]
		if !ok {
			var err error
			if n, err = s.store.Breached(ctx, t.Lane, s.now()); err != nil {
				s.log.Warn("handoff: publish breach", "lane", t.Lane, "err", err)
			}
			counts[t.Lane] = n
		}
		ev := s.ticketEvent(EventBreached, t)
		ev.Count = n
		s.publish(ctx, ev)
	}
}

// discardLogger is the logger of a Service given none.
var discardLogger = slog.New(slog.DiscardHandler)

// Package handoff is the human tier: tickets in priority lanes with SLAs,
// created when the bot hands a session to a person.
package handoff

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"
)

// Errors returned by a Store.
var (
	// ErrNotFound: there is no ticket with that id (or the user has no
	// open ticket).
	ErrNotFound = errors.New("handoff: ticket not found")
	// ErrConflict: the write lost to another one — the ticket changed
	// since it was read, its id is taken, or its user already has another
	// open ticket.
	ErrConflict = errors.New("handoff: ticket conflict")
	// ErrInvalid: the ticket cannot be stored as given, e.g. an update
	// whose transcript is shorter than the stored one.
	ErrInvalid = errors.New("handoff: invalid ticket")
)

// Status is where a ticket is in its life.
type Status string

// Ticket statuses. Queued and assigned tickets are open.
const (
	StatusQueued   Status = "queued"
	StatusAssigned Status = "assigned"
	StatusClosed   Status = "closed"
)

// Open reports whether a ticket in this status still needs work.
func (s Status) Open() bool { return s == StatusQueued || s == StatusAssigned }

// Sender says who wrote a transcript message.
type Sender string

// Transcript senders.
const (
	FromUser   Sender = "user"
	FromBot    Sender = "bot"
	FromAgent  Sender = "agent"
	FromNote   Sender = "note"
	FromSystem Sender = "system"
)

// Message is one line of a transcript. Kind is the WeChat message kind for
// user messages ("text", "image", "voice", "location", …); non-text messages
// keep what identifies them (media id, URL, place) in Media.
type Message struct {
	From  Sender `json:"from"`
	Kind  string `json:"kind,omitempty"`
	Text  string `json:"text"`
	Media string `json:"media,omitempty"`
	// Ref names what a bot message came from, e.g. "kb:overseas-contact"
	// for an answer from that knowledge-base article.
	Ref string    `json:"ref,omitempty"`
	At  time.Time `json:"at"`
}

// Ticket is one user's request for a person. A user has at most one open
// ticket: later handoffs merge into it.
type Ticket struct {
	ID        string    `json:"id"`
	OpenID    string    `json:"open_id"`
	UnionID   string    `json:"union_id,omitempty"`
	Lane      string    `json:"lane"`
	Reasons   []string  `json:"reasons"`
	Status    Status    `json:"status"`
	AgentID   string    `json:"agent_id,omitempty"`
	Merged    int       `json:"merged"`
	Priority  int       `json:"priority"`
	SLADueAt  time.Time `json:"sla_due_at"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	// AssignedAt is when the ticket was last assigned to AgentID; zero
	// while it is not assigned.
	AssignedAt time.Time `json:"assigned_at,omitzero"`
	// Messages is the transcript: what the user and the bot said before the
	// handoff, then everything after it.
	Messages []Message `json:"messages"`
	// Evidence holds the attachments (images, video, locations, links) the
	// user sent, also kept in Messages.
	Evidence []Message `json:"evidence,omitempty"`
	// SLA is the lane SLA the deadline was last set with: the deadline's
	// clock started at SLADueAt − SLA (the creation, for a ticket that
	// never changed lanes). RecomputeSLAs moves the deadline when the
	// lane's SLA changes. Zero on tickets stored before it was kept.
	SLA time.Duration `json:"sla,omitempty"`
	// QueuedAt is when the ticket last entered a queue (opened, released,
	// transferred to a lane); the queue timeout counts from it. Zero on
	// tickets stored before it was kept: CreatedAt counts.
	QueuedAt time.Time `json:"queued_at,omitzero"`
	// BreachedAt is when a sweep found the queued ticket past its
	// deadline (Store.MarkBreached); zero until then, and again when its
	// deadline moves past now.
	BreachedAt time.Time `json:"breached_at,omitzero"`
	// Merges are the audit records of the handoffs merged into the
	// ticket, in order: what each added, so an agent can undo it.
	Merges []Merge `json:"merges,omitempty"`
	// SplitFrom names the ticket this one was split out of by undoing a
	// merge (Service.UndoMerge). A split ticket is worked like any other
	// but is not its user's open ticket: later handoffs and the user's
	// messages go to the user's own ticket.
	SplitFrom string `json:"split_from,omitempty"`
	// Version increases with every update; UpdateTicket compares it.
	Version int64 `json:"version"`
}

// Merge is the audit record of one handoff merged into a ticket (DESIGN
// §3), kept in Ticket.Merges: enough to split it back out.
type Merge struct {
	// N numbers the ticket's merges from 1.
	N      int    `json:"n"`
	Reason string `json:"reason"`
	// Lane is the lane the merged request asked for.
	Lane string    `json:"lane"`
	At   time.Time `json:"at"`
	// Messages and Evidence are the index ranges [from, to) of what the
	// merge added to Ticket.Messages (its system line and the request's
	// new lines) and to Ticket.Evidence.
	Messages [2]int `json:"messages"`
	Evidence [2]int `json:"evidence"`
	// PrevLane, PrevDue and PrevSLA are the ticket's lane, deadline and
	// SLA before the merge, set when the merge moved it to a faster lane.
	PrevLane string        `json:"prev_lane,omitempty"`
	PrevDue  time.Time     `json:"prev_due,omitzero"`
	PrevSLA  time.Duration `json:"prev_sla,omitempty"`
	// UndoneAt and UndoneBy (an agent id) say when and by whom the merge
	// was undone; SplitTo is the ticket that holds its part since.
	UndoneAt time.Time `json:"undone_at,omitzero"`
	UndoneBy string    `json:"undone_by,omitempty"`
	SplitTo  string    `json:"split_to,omitempty"`
}

// Undone reports whether the merge was undone.
func (m Merge) Undone() bool { return !m.UndoneAt.IsZero() }

// queuedSince is when the queued ticket entered its queue.
func (t Ticket) queuedSince() time.Time {
	if t.QueuedAt.IsZero() {
		return t.CreatedAt
	}
	return t.QueuedAt
}

// Reason is the first handoff reason, the one that opened the ticket.
func (t Ticket) Reason() string {
	if len(t.Reasons) == 0 {
		return ""
	}
	return t.Reasons[0]
}

// IsEvidence reports whether a message is an attachment kept as evidence:
// an image, video, voice message, location, link or file from the user.
func IsEvidence(m Message) bool {
	switch m.Kind {
	case "image", "video", "shortvideo", "voice", "location", "link", "file":
		return m.From == FromUser
	}
	return false
}

// QueueOrder compares two queued tickets of one lane by the order in which
// agents are to take them: higher Priority first, then the earlier
// SLADueAt, then the earlier CreatedAt, then the smaller ID. Times compare
// to the microsecond, as the stores keep them. Ordering by deadline puts
// the breached tickets of a priority (deadline passed) first (DESIGN §3).
// It returns a negative number when a goes first, a positive one when b
// does, and 0 for the same ticket.
func QueueOrder(a, b Ticket) int {
	if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
		return c
	}
	if c := cmp.Compare(a.SLADueAt.UnixMicro(), b.SLADueAt.UnixMicro()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.CreatedAt.UnixMicro(), b.CreatedAt.UnixMicro()); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Filter selects tickets in Store.Tickets. Zero fields match everything.
type Filter struct {
	Statuses []Status
	Lane     string
	OpenID   string
	// Newest lists the newest tickets first (by CreatedAt, then ID,
	// descending) instead of the oldest.
	Newest bool
	// CreatedBefore, when not zero, selects the tickets created before it.
	CreatedBefore time.Time
	// Summary leaves the transcript out: Messages and Evidence are nil,
	// as from Store.TicketHeader.
	Summary bool
	// Limit bounds the number of tickets, taken in the order above; 0 =
	// no limit.
	Limit int
}

// Store keeps tickets. Implementations: handoff/sqlitestore (embedded) and
// handoff/redisstore (shared); both pass handoff/handofftest.
//
// A ticket is stored in two parts: its header (every field but Messages and
// Evidence) and its transcript (Messages and Evidence), which only grows.
// The operations that run on every message of a queued user —
// TicketHeader and AppendMessages — cost the same however many tickets
// there are (up to a logarithm) and however long the transcripts grow.
// QueueLength costs the same however long the queue. QueuePosition reads
// no transcript and no ticket outside the lane's queue: the shared store
// ranks in logarithmic time; the embedded one takes the queue's length
// less the tickets behind the ticket when they are few — a new ticket,
// normally last in its lane, has none, which costs a logarithm —, else
// counts the tickets ahead in an index. Only Ticket, OpenTicket and
// Tickets without Summary read whole transcripts.
//
// A user has at most one open (queued or assigned) ticket: CreateTicket
// and UpdateTicket refuse a second one with ErrConflict. Split tickets
// (Ticket.SplitFrom set) do not count: they are never the user's open
// ticket, and OpenTicket does not return them.
type Store interface {
	// CreateTicket stores a new ticket. When t.ID is empty it assigns one,
	// "T" + CreatedAt as YYYYMMDD + "-" + a store-wide sequence number of at
	// least five digits, e.g. T20261125-00042. It sets t.Version to 1.
	// It returns ErrConflict when t.ID is taken or when t is open and its
	// user already has an open ticket, and ErrInvalid when t.CreatedAt is
	// zero.
	CreateTicket(ctx context.Context, t *Ticket) error
	// Ticket returns the ticket with this id, transcript included, or
	// ErrNotFound.
	Ticket(ctx context.Context, id string) (Ticket, error)
	// TicketHeader returns the ticket with this id without its transcript
	// (Messages and Evidence are nil), or ErrNotFound. It is the cheap way
	// to learn a ticket's status, lane or agent.
	TicketHeader(ctx context.Context, id string) (Ticket, error)
	// UpdateTicket replaces the ticket's header if the stored version
	// equals t.Version, and appends to the stored transcript the messages
	// of t.Messages beyond its stored length (likewise t.Evidence), then
	// increments t.Version. Stored messages are immutable: changes to
	// them in t are ignored. It returns ErrConflict when another writer
	// got there first or when t is open and its user has another open
	// ticket, ErrNotFound when there is no such ticket, and an error
	// wrapping ErrInvalid when t.Messages or t.Evidence is shorter than
	// what is stored (t was read with TicketHeader, or cut).
	UpdateTicket(ctx context.Context, t *Ticket) error
	// AppendMessages adds messages to the transcript, and those that
	// IsEvidence selects (the user's attachments) to Evidence as well,
	// atomically, without a version check, and increments the version. It
	// costs the same however long the transcript is. Appending nothing
	// changes nothing. ErrNotFound when there is no such ticket.
	AppendMessages(ctx context.Context, id string, msgs ...Message) error
	// OpenTicket returns the user's open (queued or assigned) ticket that
	// is not a split one, transcript included, or ErrNotFound.
	OpenTicket(ctx context.Context, openID string) (Ticket, error)
	// QueuePosition returns the 1-based place of the stored ticket t.ID
	// among the queued tickets of its lane, in QueueOrder, or 0 when it is
	// not queued. Only t.ID is used: the place is that of the stored
	// ticket, however stale t is. ErrNotFound when there is no such
	// ticket.
	QueuePosition(ctx context.Context, t Ticket) (int, error)
	// QueueLength returns the number of queued tickets in the lane, 0 for
	// a lane that has none (or is unknown to the store), at a cost that
	// does not grow with their number. It moves with every create and
	// update that puts a ticket in or out of the lane's queue.
	QueueLength(ctx context.Context, lane string) (int, error)
	// Tickets lists the tickets matching f, oldest first (by CreatedAt,
	// then ID) or newest first with f.Newest, at most f.Limit of them.
	Tickets(ctx context.Context, f Filter) ([]Ticket, error)
	// CountSince counts the tickets the user opened at or after since.
	CountSince(ctx context.Context, openID string, since time.Time) (int, error)

	// The agent-side operations. Each changes the ticket's header as the
	// function of the same meaning in this package (Claimed, Assigned,
	// Released, Transferred) does, moves its queue and index entries,
	// appends the note (a system message) to the transcript and
	// increments the version, all atomically: of two agents, on one
	// instance or two, claiming the same ticket, exactly one wins. They
	// return the ticket's new header (Messages and Evidence nil),
	// ErrNotFound when there is no such ticket, and the error of that
	// function when the ticket is not in a state that allows the
	// operation.

	// ClaimTicket assigns the queued ticket id to c.AgentID at c.Note.At
	// and takes it out of its lane's queue. ErrNotQueued when it is not
	// queued (another agent won), ErrAtCapacity when c.Capacity is
	// positive and the agent already holds that many tickets.
	ClaimTicket(ctx context.Context, id string, c Claim) (Ticket, error)
	// ClaimNext claims, as ClaimTicket, the ticket agents are to take
	// first among the queues of lanes (FirstInQueue): the lowest
	// Lane.Order, then QueueOrder (priority, then deadline) among the
	// heads of the lanes of that order. ErrEmpty when those queues are
	// empty, ErrAtCapacity as ClaimTicket.
	ClaimNext(ctx context.Context, lanes []Lane, c Claim) (Ticket, error)
	// AssignTicket assigns the open ticket id to c.AgentID (a transfer to
	// that agent), from the queue or from another agent. ErrClosed when
	// it is closed, ErrAtCapacity as ClaimTicket.
	AssignTicket(ctx context.Context, id string, c Claim) (Ticket, error)
	// ReleaseTicket puts the assigned ticket id back in its lane's queue
	// at note.At, keeping its deadline. ErrNotAssigned when it is not
	// assigned.
	ReleaseTicket(ctx context.Context, id string, note Message) (Ticket, error)
	// TransferTicket queues the open ticket id in lane at note.At, with
	// the deadline Transferred gives it. ErrClosed when it is closed.
	TransferTicket(ctx context.Context, id string, lane Lane, note Message) (Ticket, error)
	// AssignedCount returns the number of tickets assigned to the agent,
	// at a cost that grows with that number only.
	AssignedCount(ctx context.Context, agentID string) (int, error)
	// Breached returns the number of queued tickets of the lane that are
	// Breached at now (deadline before now), at a cost logarithmic in the
	// length of the queue (the embedded store adds the number counted).
	Breached(ctx context.Context, lane string, now time.Time) (int, error)
	// MarkBreached sets BreachedAt to now on each queued ticket of the
	// lane that is Breached at now and has no BreachedAt yet, incrementing
	// its version, and returns the headers of the tickets it marked. Each
	// mark is atomic: of several instances marking at once, each ticket
	// is marked, and returned, by exactly one.
	MarkBreached(ctx context.Context, lane string, now time.Time) ([]Ticket, error)
}

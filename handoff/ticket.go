// Package handoff is the human tier: tickets in priority lanes with SLAs,
// created when the bot hands a session to a person.
package handoff

import (
	"context"
	"errors"
	"time"
)

// Errors returned by a Store.
var (
	ErrNotFound = errors.New("handoff: ticket not found")
	ErrConflict = errors.New("handoff: ticket changed concurrently")
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
	From  Sender    `json:"from"`
	Kind  string    `json:"kind,omitempty"`
	Text  string    `json:"text"`
	Media string    `json:"media,omitempty"`
	At    time.Time `json:"at"`
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
	// Messages is the transcript: what the user and the bot said before the
	// handoff, then everything after it.
	Messages []Message `json:"messages"`
	// Evidence holds the attachments (images, video, locations, links) the
	// user sent, also kept in Messages.
	Evidence []Message `json:"evidence,omitempty"`
	// Version increases with every update; UpdateTicket compares it.
	Version int64 `json:"version"`
}

// Reason is the first handoff reason, the one that opened the ticket.
func (t Ticket) Reason() string {
	if len(t.Reasons) == 0 {
		return ""
	}
	return t.Reasons[0]
}

// Filter selects tickets in Store.Tickets. Zero fields match everything.
type Filter struct {
	Statuses []Status
	Lane     string
	OpenID   string
	Limit    int // 0 = no limit
}

// Store keeps tickets. Implementations: handoff/sqlitestore (embedded) and
// handoff/redisstore (shared); both pass handoff/handofftest.
type Store interface {
	// CreateTicket stores a new ticket. When t.ID is empty it assigns one,
	// "T" + CreatedAt as YYYYMMDD + "-" + a store-wide sequence number of at
	// least five digits, e.g. T20261125-00042. It sets t.Version to 1.
	CreateTicket(ctx context.Context, t *Ticket) error
	// Ticket returns the ticket with this id, or ErrNotFound.
	Ticket(ctx context.Context, id string) (Ticket, error)
	// UpdateTicket replaces the ticket if the stored version equals
	// t.Version, then increments t.Version. It returns ErrConflict when
	// another writer got there first and ErrNotFound when there is no such
	// ticket.
	UpdateTicket(ctx context.Context, t *Ticket) error
	// AppendMessages adds messages to the transcript (and those with a
	// non-text Kind to Evidence) atomically, without a version check, and
	// increments the version. ErrNotFound when there is no such ticket.
	AppendMessages(ctx context.Context, id string, msgs ...Message) error
	// OpenTicket returns the user's open (queued or assigned) ticket, or
	// ErrNotFound.
	OpenTicket(ctx context.Context, openID string) (Ticket, error)
	// Tickets lists the tickets matching f, oldest first.
	Tickets(ctx context.Context, f Filter) ([]Ticket, error)
	// CountSince counts the tickets the user opened at or after since.
	CountSince(ctx context.Context, openID string, since time.Time) (int, error)
}

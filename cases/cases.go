// Package cases keeps the cases of the self-service tier: what a flow
// collected from a user, under a number the user can quote later
// (KF20261125-7Q4M), with the history of its status — submitted,
// processing, resolved, rejected — and the notes of the agents who worked
// it.
//
// A Service opens cases, changes their status and lists them, over a
// Store. Stores live beside this package (cases/sqlitestore,
// cases/redisstore) and pass the suite of cases/casestest.
package cases

import (
	"context"
	"errors"
	"time"
)

// Status is where a case stands.
type Status string

// The statuses of a case. Any status may follow any other: an agent may
// reopen a resolved case by setting it to processing again.
const (
	StatusSubmitted  Status = "submitted"
	StatusProcessing Status = "processing"
	StatusResolved   Status = "resolved"
	StatusRejected   Status = "rejected"
)

// Statuses are the valid statuses, in the order a case usually moves
// through them.
var Statuses = []Status{StatusSubmitted, StatusProcessing, StatusResolved, StatusRejected}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusSubmitted, StatusProcessing, StatusResolved, StatusRejected:
		return true
	}
	return false
}

// Title names the status for people: 已提交, 处理中, 已解决, 已驳回, or in
// English when english is set. An unknown status is returned as it is.
func (s Status) Title(english bool) string {
	t, ok := statusTitles[s]
	if !ok {
		return string(s)
	}
	if english {
		return t[1]
	}
	return t[0]
}

// Field is one piece of data a flow collected, as the user gave it.
type Field struct {
	// Name is the flow's key for it, e.g. "police_receipt".
	Name string `json:"name"`
	// Label is what the flow asked for, e.g. "报案回执编号".
	Label string `json:"label"`
	Value string `json:"value"`
}

// Change is one entry of a case's history: a change of status or, when
// the status stays the same, a note.
type Change struct {
	Status Status `json:"status"`
	Note   string `json:"note,omitempty"`
	// By is who made it: "kefu" for the bot, an agent's username.
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Case is one submission of a self-service flow.
type Case struct {
	// ID is the case number, e.g. "KF20261125-7Q4M"; see NewID.
	ID     string `json:"id"`
	OpenID string `json:"open_id"`
	// Flow is the ID of the flow that opened it, e.g. "fraud_report".
	Flow string `json:"flow"`
	// Title names the flow for people, e.g. "诈骗举报".
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Fields are the data the flow collected, in the order it asked.
	Fields []Field `json:"fields"`
	// TicketID is the handoff ticket of the case, if the flow also queued
	// the user for a person.
	TicketID string `json:"ticket_id,omitempty"`
	// ExternalID is the business backend's own reference, if any.
	ExternalID string `json:"external_id,omitempty"`
	// History is every change, oldest first; the first is the submission.
	History   []Change  `json:"history"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version counts the case's writes, from 1; stores compare and swap
	// on it.
	Version int64 `json:"version"`
}

// Last returns the latest entry of the history (the zero Change when
// there is none).
func (c Case) Last() Change {
	if len(c.History) == 0 {
		return Change{}
	}
	return c.History[len(c.History)-1]
}

// NewCase is what Service.Open needs to open a case.
type NewCase struct {
	// OpenID is the user's; required.
	OpenID string
	// Flow is the ID of the flow; required.
	Flow string
	// Title names the flow; empty = Flow.
	Title  string
	Fields []Field
	// TicketID and ExternalID: see Case.
	TicketID, ExternalID string
	// Status is the first status; empty = StatusSubmitted.
	Status Status
	// Note is the note of the first history entry, e.g. "已由 kefu 记录
	// （未配置业务后台）".
	Note string
	// By is who opened it; empty = "kefu".
	By string
	// Key, when set, makes Open idempotent: the number is drawn from the
	// key first (the same key gives the same number on the same day), and
	// a case already stored under that number for the same user and flow
	// is returned instead of a second one. Flows use their run's id, so a
	// turn processed again (a platform retry after a failed save) does not
	// open the case twice.
	Key string
	// KeyDay is the day of the number drawn from Key; zero = today. Flows
	// pass the day their run started, so a turn processed again after
	// midnight still finds the case the first one opened.
	KeyDay time.Time
}

// Filter selects cases for Service.List and Store.Cases. Empty fields
// select everything.
type Filter struct {
	Status Status
	Flow   string
	OpenID string
	// Limit is the most cases to return, newest first. Service.List
	// makes it 1…MaxLimit (0 = DefaultLimit); a store takes 0 as no limit.
	Limit int
}

// Errors of the package and of its stores; match them with errors.Is.
var (
	// ErrNotFound: no case has the ID.
	ErrNotFound = errors.New("cases: not found")
	// ErrExists: a case with the ID exists already (Store.Create).
	ErrExists = errors.New("cases: case exists")
	// ErrConflict: the case changed since it was read (Store.Update). The
	// Service retries; it returns ErrConflict only when writers keep
	// overtaking it.
	ErrConflict = errors.New("cases: changed meanwhile")
	// ErrBadStatus: the status is not one of Statuses.
	ErrBadStatus = errors.New("cases: unknown status")
	// ErrInvalid: a required field is missing.
	ErrInvalid = errors.New("cases: invalid")
)

// Store keeps cases. Implementations must be safe for concurrent use, by
// several processes sharing one store too.
type Store interface {
	// Create stores c, a new case with Version 1, unless a case with its
	// ID exists (ErrExists).
	Create(ctx context.Context, c Case) error
	// Case returns the case id (ErrNotFound). IDs are matched exactly:
	// callers normalise them.
	Case(ctx context.Context, id string) (Case, error)
	// Update replaces the stored case c.ID with c, if its version is still
	// c.Version, and returns it as stored, with Version one more. It
	// returns ErrConflict when the stored version differs and ErrNotFound
	// when there is no such case. OpenID, Flow and CreatedAt never change.
	Update(ctx context.Context, c Case) (Case, error)
	// Cases returns the cases f selects, newest first (by CreatedAt, then
	// by ID, both descending), at most f.Limit of them (all when 0).
	Cases(ctx context.Context, f Filter) ([]Case, error)
}

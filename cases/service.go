package cases

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Limits of Service.List.
const (
	// DefaultLimit is how many cases List returns when the filter's limit
	// is 0.
	DefaultLimit = 100
	// MaxLimit is the most cases List returns.
	MaxLimit = 1000
)

// maxIDTries bounds how often Open draws a new number when the store has
// the one drawn.
const maxIDTries = 8

// maxWriteTries bounds how often a change is retried when other writers
// overtake it (ErrConflict).
const maxWriteTries = 16

// Service opens cases, changes their status and lists them.
type Service struct {
	store Store
	now   func() time.Time
	rand  io.Reader // of NewID; nil = crypto/rand
}

// NewService returns a Service over store; now is its clock (nil =
// time.Now).
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Store returns the store the service works on.
func (s *Service) Store() Store { return s.store }

// Open opens a case with a new number: its history starts with the
// submission, n.Status (submitted by default) with n.Note. It returns
// ErrInvalid without an OpenID or a Flow and ErrBadStatus for an unknown
// status.
func (s *Service) Open(ctx context.Context, n NewCase) (Case, error) {
	if strings.TrimSpace(n.OpenID) == "" || strings.TrimSpace(n.Flow) == "" {
		return Case{}, fmt.Errorf("cases: open: open_id and flow are required: %w", ErrInvalid)
	}
	status := cmp.Or(n.Status, StatusSubmitted)
	if !status.Valid() {
		return Case{}, fmt.Errorf("cases: open: %q: %w", n.Status, ErrBadStatus)
	}
	now := s.now()
	c := Case{
		OpenID: n.OpenID, Flow: n.Flow, Title: cmp.Or(n.Title, n.Flow), Status: status,
		Fields: append([]Field{}, n.Fields...), TicketID: n.TicketID, ExternalID: n.ExternalID,
		History:   []Change{{Status: status, Note: n.Note, By: cmp.Or(n.By, byKefu), At: now}},
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	for try := range maxIDTries {
		r, day := s.rand, now
		if try == 0 && n.Key != "" {
			sum := sha256.Sum256([]byte(n.Key))
			r = bytes.NewReader(sum[:])
			if !n.KeyDay.IsZero() {
				day = n.KeyDay
			}
		}
		id, err := NewID(day, r)
		if err != nil {
			return Case{}, err
		}
		c.ID = id
		err = s.store.Create(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrExists) {
			return Case{}, fmt.Errorf("cases: open: %w", err)
		}
		if try == 0 && n.Key != "" {
			if old, err := s.store.Case(ctx, id); err == nil && old.OpenID == c.OpenID && old.Flow == c.Flow {
				return old, nil // opened before under this key
			}
		}
	}
	return Case{}, fmt.Errorf("cases: open: %d numbers drawn were all taken: %w", maxIDTries, ErrExists)
}

// Get returns the case id, which it normalises first (NormalizeID), so
// "kf20261125-7q4m " finds KF20261125-7Q4M.
func (s *Service) Get(ctx context.Context, id string) (Case, error) {
	c, err := s.store.Case(ctx, NormalizeID(id))
	if err != nil {
		return Case{}, fmt.Errorf("cases: %s: %w", id, err)
	}
	return c, nil
}

// UserCase returns the case id if it is the user's, and ErrNotFound
// otherwise: the bot answers a user's 查询进度 with it, so that nobody
// learns of another's case by guessing its number.
func (s *Service) UserCase(ctx context.Context, openID, id string) (Case, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Case{}, err
	}
	if openID == "" || c.OpenID != openID {
		return Case{}, fmt.Errorf("cases: %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// ForUser returns the user's cases, newest first, at most limit of them
// (0 = DefaultLimit). An empty openID is ErrInvalid: it never lists
// everyone's cases.
func (s *Service) ForUser(ctx context.Context, openID string, limit int) ([]Case, error) {
	if openID == "" {
		return nil, fmt.Errorf("cases: cases of a user: no open_id: %w", ErrInvalid)
	}
	return s.List(ctx, Filter{OpenID: openID, Limit: limit})
}

// List returns the cases f selects, newest first. It returns ErrBadStatus
// when f.Status is set and unknown.
func (s *Service) List(ctx context.Context, f Filter) ([]Case, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, fmt.Errorf("cases: list: %q: %w", f.Status, ErrBadStatus)
	}
	f.Limit = min(max(f.Limit, 0), MaxLimit)
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	list, err := s.store.Cases(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	return list, nil
}

// SetStatus sets the status of case id to to, appending a Change with
// note by by. Setting the status the case has, with a note, adds the note;
// without one it changes nothing. It returns ErrBadStatus for an unknown
// status and ErrNotFound for an unknown case. Concurrent changes are all
// kept, in the order the store took them.
func (s *Service) SetStatus(ctx context.Context, id string, to Status, note, by string) (Case, error) {
	if !to.Valid() {
		return Case{}, fmt.Errorf("cases: set status of %s: %q: %w", id, to, ErrBadStatus)
	}
	note = strings.TrimSpace(note)
	return s.update(ctx, id, func(c *Case) bool {
		if c.Status == to && note == "" {
			return false
		}
		now := s.now()
		c.Status, c.UpdatedAt = to, now
		c.History = append(c.History, Change{Status: to, Note: note, By: cmp.Or(by, byKefu), At: now})
		return true
	})
}

// AttachTicket records the handoff ticket of case id.
func (s *Service) AttachTicket(ctx context.Context, id, ticketID string) error {
	_, err := s.update(ctx, id, func(c *Case) bool {
		if c.TicketID == ticketID {
			return false
		}
		c.TicketID, c.UpdatedAt = ticketID, s.now()
		return true
	})
	return err
}

// update reads case id, lets change edit it, and stores it with a compare
// and swap, again from the read when another writer came first. change
// returns false when there is nothing to store.
func (s *Service) update(ctx context.Context, id string, change func(*Case) bool) (Case, error) {
	id = NormalizeID(id)
	for range maxWriteTries {
		c, err := s.store.Case(ctx, id)
		if err != nil {
			return Case{}, fmt.Errorf("cases: %s: %w", id, err)
		}
		if !change(&c) {
			return c, nil
		}
		c, err = s.store.Update(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Case{}, fmt.Errorf("cases: update %s: %w", id, err)
		}
	}
	return Case{}, fmt.Errorf("cases: update %s: overtaken %d times: %w", id, maxWriteTries, ErrConflict)
}

// Describe answers a user who asks how the case stands: its number, title,
// status and when it last changed (in local time), and the note of the
// last change, if any. english picks the language.
func (c Case) Describe(english bool) string {
	lang := 0
	if english {
		lang = 1
	}
	last := c.Last()
	at := cmp.Or(last.At, c.UpdatedAt)
	status := c.Status.Title(english)
	if english {
		status = strings.ToLower(status) // mid-sentence
	}
	s := fmt.Sprintf(msgDescribe[lang], c.ID, c.Title, status, at.Local().Format("2006-01-02 15:04"))
	if last.Note != "" {
		s += fmt.Sprintf(msgDescribeNote[lang], last.Note)
	}
	return s
}

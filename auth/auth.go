// Package auth is who may use kefu's panel, editor and JSON API: accounts
// with roles (agent, editor, admin), their skills (the lanes they serve)
// and capacity, passwords hashed with bcrypt, sign-in sessions held as
// bearer tokens, and a sign-in rate limit shared by every instance.
//
// The Service holds the rules; a Store (auth/sqlitestore, auth/redisstore)
// keeps the data, and auth/ginauth serves it over HTTP.
package auth

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors returned by the Service and the Store.
var (
	// ErrNotFound: there is no such account (or session).
	ErrNotFound = errors.New("auth: not found")
	// ErrConflict: the write lost to another one — the username or id is
	// taken, or the account changed since it was read.
	ErrConflict = errors.New("auth: conflict")
	// ErrInvalid: the input breaks a rule (username, role, password
	// length, lane, capacity); the wrapping error says which.
	ErrInvalid = errors.New("auth: invalid")
	// ErrInvalidCredentials: the username or the password is wrong. The
	// two cases are not told apart.
	ErrInvalidCredentials = errors.New("auth: wrong username or password")
	// ErrUnauthenticated: no session, or one that expired or was revoked.
	ErrUnauthenticated = errors.New("auth: not signed in, or the session expired")
	// ErrDisabled: the account is disabled.
	ErrDisabled = errors.New("auth: account disabled")
	// ErrForbidden: the account's role does not allow this.
	ErrForbidden = errors.New("auth: not allowed for this role")
	// ErrRateLimited: too many failed sign-ins; a *RateLimitError says
	// when to try again.
	ErrRateLimited = errors.New("auth: too many failed sign-ins")
)

// RateLimitError refuses a sign-in attempt until RetryAt. It wraps
// ErrRateLimited.
type RateLimitError struct {
	RetryAt time.Time
	// RetryAfter is RetryAt less the time of the refusal, rounded up to
	// whole seconds.
	RetryAfter time.Duration
}

// Error says when to try again.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: try again in %s (at %s UTC)", ErrRateLimited, e.RetryAfter, e.RetryAt.UTC().Format(time.DateTime))
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Role is what an account is for.
type Role string

// Roles. An admin may do everything.
const (
	// RoleAgent serves tickets in the lanes of its skills.
	RoleAgent Role = "agent"
	// RoleEditor maintains the knowledge base.
	RoleEditor Role = "editor"
	// RoleAdmin manages accounts and may do what every other role may.
	RoleAdmin Role = "admin"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleEditor || r == RoleAdmin }

// Perm is something a role may do.
type Perm string

// Permissions, checked with Can.
const (
	// PermServe: see, claim, answer, transfer and close tickets in the
	// account's lanes.
	PermServe Perm = "serve"
	// PermAllLanes: PermServe in every lane, whatever the skills.
	PermAllLanes Perm = "all_lanes"
	// PermEditKB: edit the knowledge base and work the unanswered queue.
	PermEditKB Perm = "edit_kb"
	// PermManageAccounts: create, list and change accounts.
	PermManageAccounts Perm = "manage_accounts"
)

// perms lists what each role other than admin may do.
var perms = map[Role][]Perm{
	RoleAgent:  {PermServe},
	RoleEditor: {PermEditKB},
}

// Can reports whether role may do perm. An admin may do everything; an
// unknown role nothing.
func Can(role Role, perm Perm) bool {
	return role == RoleAdmin || slices.Contains(perms[role], perm)
}

// DefaultCapacity is the capacity of an account created without one.
const DefaultCapacity = 5

// Account is a person who signs in: an agent, an editor or an admin.
type Account struct {
	ID string `json:"id"`
	// Username signs in; lower case, unique, never changed.
	Username string `json:"username"`
	// Name is shown in the panel and in transcripts.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Lanes are the agent's skills: the lanes it serves.
	Lanes []string `json:"lanes"`
	// Capacity is the most sessions the agent serves at once; 0 takes no
	// new ones.
	Capacity int  `json:"capacity"`
	Disabled bool `json:"disabled"`
	// PasswordHash is the bcrypt hash of the password. It never leaves
	// the server.
	PasswordHash []byte `json:"-"`
	// Version counts the account's writes; UpdateAccount compares it.
	Version   int64     `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Can reports whether the account may do perm: its role allows it and it
// is not disabled.
func (a Account) Can(perm Perm) bool { return !a.Disabled && Can(a.Role, perm) }

// ServesLane reports whether the account may serve tickets of the lane:
// an admin every lane, an agent those of its skills.
func (a Account) ServesLane(lane string) bool {
	return a.Can(PermAllLanes) || (a.Can(PermServe) && slices.Contains(a.Lanes, lane))
}

// Session is a sign-in: a bearer token, kept only as its hash.
type Session struct {
	// Hash is the hex SHA-256 of the token (HashToken).
	Hash      string    `json:"-"`
	AccountID string    `json:"account_id"`
	ClientIP  string    `json:"client_ip,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Hits is the state of a rate-limit counter: Count attempts in the window
// that ends at ResetAt.
type Hits struct {
	Count   int
	ResetAt time.Time
}

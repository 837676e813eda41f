package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Limits of the account fields.
const (
	MinPasswordLen = 8  // characters
	MaxPasswordLen = 72 // bytes: bcrypt reads no further
	MaxNameLen     = 64 // characters
	MaxCapacity    = 1000
	maxLanes       = 64
)

// AdminUsername is the username of the first admin, created by
// EnsureAdmin.
const AdminUsername = "admin"

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Store Store
	// Now returns the current time; time.Now by default. Give the Store
	// the same clock.
	Now func() time.Time
	// BcryptCost is the cost of new password hashes; bcrypt.DefaultCost
	// (10) by default. Tests use bcrypt.MinCost.
	BcryptCost int
	// SessionTTL is how long a sign-in lasts; 12 h (a shift) by default.
	SessionTTL time.Duration
	// MaxFailures is how many sign-in attempts a username may fail within
	// FailureWindow before the next ones are refused until the window
	// ends; 5 by default.
	MaxFailures int
	// MaxIPFailures is the same limit per client address, higher because
	// an office signs in from one address; 20 by default.
	MaxIPFailures int
	// FailureWindow is the window of both limits; 15 min by default.
	FailureWindow time.Duration
	// ValidLane reports whether a lane exists, for the skills of an
	// account; nil accepts every well-formed lane name.
	ValidLane func(lane string) bool
}

// Service creates accounts, signs people in and out, and checks sessions.
type Service struct {
	store         Store
	now           func() time.Time
	cost          int
	ttl           time.Duration
	maxFailures   int
	maxIPFailures int
	window        time.Duration
	validLane     func(string) bool

	// dummy is a hash of the service's cost that sign-ins of unknown
	// users are compared with, so they take as long as those of known
	// ones. It is made on first use.
	dummyOnce sync.Once
	dummy     []byte
}

// NewService returns a Service over opts.Store.
func NewService(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("auth: a store is required")
	}
	s := &Service{store: opts.Store, now: opts.Now, cost: opts.BcryptCost, ttl: opts.SessionTTL,
		maxFailures: opts.MaxFailures, maxIPFailures: opts.MaxIPFailures, window: opts.FailureWindow,
		validLane: opts.ValidLane}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", s.cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	if s.maxFailures <= 0 {
		s.maxFailures = 5
	}
	if s.maxIPFailures <= 0 {
		s.maxIPFailures = 20
	}
	if s.window <= 0 {
		s.window = 15 * time.Minute
	}
	return s, nil
}

// SessionTTL returns how long a sign-in lasts.
func (s *Service) SessionTTL() time.Duration { return s.ttl }

// NewAccount is what CreateAccount needs.
type NewAccount struct {
	Username string
	Password string
	// Name defaults to the username.
	Name  string
	Role  Role
	Lanes []string
	// Capacity 0 means DefaultCapacity.
	Capacity int
}

// CreateAccount checks and stores a new account. The username is folded
// to lower case. It returns an error wrapping ErrInvalid when a field breaks
// a rule, and ErrConflict when the username is taken.
func (s *Service) CreateAccount(ctx context.Context, n NewAccount) (Account, error) {
	username, err := checkUsername(n.Username)
	if err != nil {
		return Account{}, err
	}
	if !n.Role.Valid() {
		return Account{}, fmt.Errorf("%w: role %q: must be agent, editor or admin", ErrInvalid, n.Role)
	}
	if n.Name == "" {
		n.Name = username
	}
	name, err := checkName(n.Name)
	if err != nil {
		return Account{}, err
	}
	lanes, err := s.checkLanes(n.Lanes)
	if err != nil {
		return Account{}, err
	}
	if n.Capacity == 0 {
		n.Capacity = DefaultCapacity
	}
	if err := checkCapacity(n.Capacity); err != nil {
		return Account{}, err
	}
	// Refuse a taken username before spending a hash on it; the store
	// refuses it again if it is taken meanwhile.
	if _, err := s.store.AccountByUsername(ctx, username); err == nil {
		return Account{}, fmt.Errorf("%w: username %q is taken", ErrConflict, username)
	}
	hash, err := s.hash(n.Password)
	if err != nil {
		return Account{}, err
	}
	now := s.now().Truncate(time.Millisecond)
	a := Account{Username: username, Name: name, Role: n.Role, Lanes: lanes, Capacity: n.Capacity,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	for range maxCASRetries {
		if a.ID, err = newID(); err != nil {
			return Account{}, err
		}
		err = s.store.CreateAccount(ctx, &a)
		if !errors.Is(err, ErrConflict) {
			break
		}
		// A taken username, or (improbably) a taken id: only the first
		// is final.
		if _, err := s.store.AccountByUsername(ctx, username); err == nil {
			return Account{}, fmt.Errorf("%w: username %q is taken", ErrConflict, username)
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("auth: create account %s: %w", username, err)
	}
	return a, nil
}

// Account returns the account with this id, or ErrNotFound.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return s.store.Account(ctx, id)
}

// AccountByUsername returns the account with this username (folded to
// lower case), or ErrNotFound.
func (s *Service) AccountByUsername(ctx context.Context, username string) (Account, error) {
	return s.store.AccountByUsername(ctx, normalizeUsername(username))
}

// Accounts lists every account, by username.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	return s.store.Accounts(ctx)
}

// Patch changes some fields of an account; nil fields stay as they are.
type Patch struct {
	Name     *string
	Role     *Role
	Lanes    *[]string
	Capacity *int
	Disabled *bool
	// Password sets a new password and signs the account out everywhere.
	Password *string
}

// maxCASRetries bounds the compare-and-swap retries of one update.
const maxCASRetries = 8

// UpdateAccount applies p to the account. Disabling it or setting its
// password signs it out everywhere. It refuses (ErrConflict) to demote or
// disable the last enabled admin, and returns ErrInvalid for a field that
// breaks a rule and ErrNotFound for a missing account.
func (s *Service) UpdateAccount(ctx context.Context, id string, p Patch) (Account, error) {
	var hash []byte
	if p.Password != nil {
		var err error
		if hash, err = s.hash(*p.Password); err != nil {
			return Account{}, err
		}
	}
	for range maxCASRetries {
		a, err := s.store.Account(ctx, id)
		if err != nil {
			return Account{}, err
		}
		wasAdmin := a.Role == RoleAdmin && !a.Disabled
		if err := s.apply(&a, p); err != nil {
			return Account{}, err
		}
		if hash != nil {
			a.PasswordHash = hash
		}
		if wasAdmin && (a.Role != RoleAdmin || a.Disabled) {
			if err := s.keepAnAdmin(ctx, a.ID); err != nil {
				return Account{}, err
			}
		}
		a.UpdatedAt = s.now().Truncate(time.Millisecond)
		err = s.store.UpdateAccount(ctx, &a)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("auth: update account %s: %w", id, err)
		}
		if a.Disabled || hash != nil {
			if err := s.store.DeleteSessions(ctx, a.ID); err != nil {
				return a, fmt.Errorf("auth: sign out %s: %w", a.Username, err)
			}
		}
		return a, nil
	}
	return Account{}, fmt.Errorf("%w: account %s: too many concurrent writes, try again", ErrConflict, id)
}

// apply checks the fields of p and sets them on a.
func (s *Service) apply(a *Account, p Patch) error {
	if p.Name != nil {
		name, err := checkName(*p.Name)
		if err != nil {
			return err
		}
		a.Name = name
	}
	if p.Role != nil {
		if !p.Role.Valid() {
			return fmt.Errorf("%w: role %q: must be agent, editor or admin", ErrInvalid, *p.Role)
		}
		a.Role = *p.Role
	}
	if p.Lanes != nil {
		lanes, err := s.checkLanes(*p.Lanes)
		if err != nil {
			return err
		}
		a.Lanes = lanes
	}
	if p.Capacity != nil {
		if err := checkCapacity(*p.Capacity); err != nil {
			return err
		}
		a.Capacity = *p.Capacity
	}
	if p.Disabled != nil {
		a.Disabled = *p.Disabled
	}
	return nil
}

// keepAnAdmin returns ErrConflict unless an enabled admin other than id
// exists.
func (s *Service) keepAnAdmin(ctx context.Context, id string) error {
	all, err := s.store.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("auth: count admins: %w", err)
	}
	for _, o := range all {
		if o.ID != id && o.Role == RoleAdmin && !o.Disabled {
			return nil
		}
	}
	return fmt.Errorf("%w: the last enabled admin cannot be demoted or disabled", ErrConflict)
}

// EnsureAdmin creates the first admin, username admin, with this password,
// unless an account named admin exists: then it changes nothing (its
// password is the one it was given, or changed to since). It reports
// whether it created the account. A password too short or too long is
// ErrInvalid even when the admin exists.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (bool, error) {
	if err := checkPassword(password); err != nil {
		return false, err // also when the admin exists: the setting is wrong
	}
	_, err := s.store.AccountByUsername(ctx, AdminUsername)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("auth: look up %s: %w", AdminUsername, err)
	}
	_, err = s.CreateAccount(ctx, NewAccount{Username: AdminUsername, Password: password, Name: "Administrator", Role: RoleAdmin})
	if errors.Is(err, ErrConflict) {
		return false, nil // another instance made it meanwhile
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// SignedIn is the result of a successful Login.
type SignedIn struct {
	// Token is the bearer token, shown this once; the store keeps only
	// its hash.
	Token   string
	Session Session
	Account Account
}

// Login checks a username and password and opens a session. Wrong
// credentials are ErrInvalidCredentials, whether the user exists or not,
// and take the same time. After MaxFailures failed attempts for the
// username, or MaxIPFailures from clientIP, within FailureWindow, the
// next attempts are refused with a *RateLimitError until the window ends;
// a successful sign-in clears the username's count. A disabled account is
// ErrDisabled, said only to who knows its password.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (SignedIn, error) {
	username = normalizeUsername(username)
	_, nameErr := checkUsername(username)
	var limits []limit
	if nameErr == nil {
		limits = append(limits, limit{key: "user:" + username, max: s.maxFailures})
	}
	if clientIP != "" {
		limits = append(limits, limit{key: "ip:" + clientIP, max: s.maxIPFailures})
	}
	if err := s.hit(ctx, limits); err != nil {
		return SignedIn{}, err
	}
	var (
		a   Account
		err error
	)
	if nameErr == nil {
		a, err = s.store.AccountByUsername(ctx, username)
	}
	if nameErr != nil || errors.Is(err, ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return SignedIn{}, ErrInvalidCredentials
	}
	if err != nil {
		return SignedIn{}, fmt.Errorf("auth: login %s: %w", username, err)
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(password)) != nil {
		return SignedIn{}, ErrInvalidCredentials
	}
	// The password is right: this attempt is not a failure.
	if err := s.forgive(ctx, limits); err != nil {
		return SignedIn{}, err
	}
	if a.Disabled {
		return SignedIn{}, ErrDisabled
	}
	token, err := newToken()
	if err != nil {
		return SignedIn{}, err
	}
	hash, _ := ParseToken(token)
	now := s.now().Truncate(time.Millisecond)
	sess := Session{Hash: hash, AccountID: a.ID, ClientIP: clientIP, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return SignedIn{}, fmt.Errorf("auth: login %s: %w", username, err)
	}
	return SignedIn{Token: token, Session: sess, Account: a}, nil
}

// limit is one counter of failed sign-ins and its maximum.
type limit struct {
	key string
	max int
}

// hit counts an attempt against each limit. When one is over its maximum,
// the attempt is taken back from all of them and refused with a
// *RateLimitError naming the latest end of the windows exceeded.
func (s *Service) hit(ctx context.Context, limits []limit) error {
	var (
		done    int
		retryAt time.Time
		err     error
	)
	for _, l := range limits {
		var h Hits
		if h, err = s.store.Hit(ctx, l.key, s.window); err != nil {
			err = fmt.Errorf("auth: count sign-in attempt: %w", err)
			break
		}
		done++
		if h.Count > l.max && h.ResetAt.After(retryAt) {
			retryAt = h.ResetAt
		}
	}
	if err == nil && retryAt.IsZero() {
		return nil
	}
	for _, l := range limits[:done] {
		if uerr := s.store.UndoHit(ctx, l.key); uerr != nil && err == nil {
			err = fmt.Errorf("auth: count sign-in attempt: %w", uerr)
		}
	}
	if err != nil {
		return err
	}
	wait := retryAt.Sub(s.now())
	wait = max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
	return &RateLimitError{RetryAt: retryAt, RetryAfter: wait}
}

// forgive takes back the attempt of a sign-in with the right password:
// the username's count starts again from zero, the address's loses one.
func (s *Service) forgive(ctx context.Context, limits []limit) error {
	for _, l := range limits {
		var err error
		if strings.HasPrefix(l.key, "user:") {
			err = s.store.ResetHits(ctx, l.key)
		} else {
			err = s.store.UndoHit(ctx, l.key)
		}
		if err != nil {
			return fmt.Errorf("auth: clear sign-in attempts: %w", err)
		}
	}
	return nil
}

// Authenticate returns the account and session of a bearer token. A
// malformed, unknown, expired or revoked token, or one of an account that
// is now disabled or deleted, is ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Account, Session, error) {
	hash, err := ParseToken(token)
	if err != nil {
		return Account{}, Session{}, err
	}
	sess, err := s.store.Session(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return Account{}, Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, Session{}, fmt.Errorf("auth: session: %w", err)
	}
	a, err := s.store.Account(ctx, sess.AccountID)
	if errors.Is(err, ErrNotFound) || (err == nil && a.Disabled) {
		return Account{}, Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, Session{}, fmt.Errorf("auth: account of session: %w", err)
	}
	return a, sess, nil
}

// Logout ends the session of the token. A malformed token is
// ErrUnauthenticated; an unknown one is already signed out.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash, err := ParseToken(token)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSession(ctx, hash); err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	return nil
}

// ChangePassword sets the account's password after checking the current
// one, and ends its other sessions: every one but keep (a session hash,
// normally the caller's own; empty ends all). A wrong current password is
// ErrInvalidCredentials and counts against the username's sign-in limit.
func (s *Service) ChangePassword(ctx context.Context, id, current, password, keep string) error {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return err
	}
	limits := []limit{{key: "user:" + a.Username, max: s.maxFailures}}
	if err := s.hit(ctx, limits); err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(current)) != nil {
		return ErrInvalidCredentials
	}
	if err := s.forgive(ctx, limits); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	for range maxCASRetries {
		a.PasswordHash, a.UpdatedAt = hash, s.now().Truncate(time.Millisecond)
		err = s.store.UpdateAccount(ctx, &a)
		if !errors.Is(err, ErrConflict) {
			break
		}
		if a, err = s.store.Account(ctx, id); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("auth: change password of %s: %w", a.Username, err)
	}
	sessions, err := s.store.Sessions(ctx, id)
	if err != nil {
		return fmt.Errorf("auth: sign out %s: %w", a.Username, err)
	}
	for _, sess := range sessions {
		if sess.Hash != keep {
			if err := s.store.DeleteSession(ctx, sess.Hash); err != nil {
				return fmt.Errorf("auth: sign out %s: %w", a.Username, err)
			}
		}
	}
	return nil
}

// Sessions lists the account's open sessions, oldest first.
func (s *Service) Sessions(ctx context.Context, accountID string) ([]Session, error) {
	return s.store.Sessions(ctx, accountID)
}

// RevokeSessions signs the account out everywhere.
func (s *Service) RevokeSessions(ctx context.Context, accountID string) error {
	return s.store.DeleteSessions(ctx, accountID)
}

// hash checks a new password's length and hashes it.
func (s *Service) hash(password string) ([]byte, error) {
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// checkPassword checks the length of a new password.
func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return fmt.Errorf("%w: password: at least %d characters", ErrInvalid, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("%w: password: at most %d bytes", ErrInvalid, MaxPasswordLen)
	}
	return nil
}

// dummyHash returns the hash unknown users' passwords are compared with.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("kefu: no such user"), s.cost)
	})
	return s.dummy
}

// newID returns a new account id: "A" and 12 random hexadecimal digits.
func newID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: new account id: %w", err)
	}
	return "A" + hex.EncodeToString(b[:]), nil
}

func normalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// checkUsername folds u to lower case and checks it: 2 to 32 of a–z, 0–9,
// '.', '_', '-', starting with a letter or digit.
func checkUsername(u string) (string, error) {
	u = normalizeUsername(u)
	ok := len(u) >= 2 && len(u) <= 32
	for i, r := range u {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '.' && r != '_' && r != '-') {
			ok = false
			break
		}
	}
	if !ok {
		return "", fmt.Errorf("%w: username %q: 2 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrInvalid, u)
	}
	return u, nil
}

// checkName trims a display name and checks its length and characters.
func checkName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNameLen ||
		strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: name: 1 to %d characters, no control characters", ErrInvalid, MaxNameLen)
	}
	return n, nil
}

// checkLanes checks lane names, drops repeats and keeps the order.
func (s *Service) checkLanes(lanes []string) ([]string, error) {
	if len(lanes) > maxLanes {
		return nil, fmt.Errorf("%w: lanes: at most %d", ErrInvalid, maxLanes)
	}
	out := make([]string, 0, len(lanes))
	for _, l := range lanes {
		l = strings.TrimSpace(l)
		valid := laneName
		if s.validLane != nil {
			valid = s.validLane
		}
		if !valid(l) {
			return nil, fmt.Errorf("%w: lane %q does not exist", ErrInvalid, l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// laneName reports whether l is a well-formed lane name: 1 to 32 of a–z,
// 0–9, '_', '-'. It checks lanes when no ValidLane is given.
func laneName(l string) bool {
	if l == "" || len(l) > 32 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func checkCapacity(c int) error {
	if c < 0 || c > MaxCapacity {
		return fmt.Errorf("%w: capacity %d: 0 to %d", ErrInvalid, c, MaxCapacity)
	}
	return nil
}

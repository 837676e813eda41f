package wxapi

import (
	"errors"
	"fmt"
)

// APIError is an errcode answered by the WeChat API. errors.Is matches it
// against the sentinels below by Code, so callers can write
// errors.Is(err, wxapi.ErrWindowClosed) and still read Msg with errors.As.
type APIError struct {
	Code int
	Msg  string
}

// Error returns the code and the platform's message.
func (e *APIError) Error() string {
	return fmt.Sprintf("errcode %d: %s", e.Code, e.Msg)
}

// Is reports whether target is an *APIError with the same Code.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// Sentinels for the errcodes callers branch on (WECHAT.md §5). None of them
// is retried by the Client.
var (
	// ErrBusy (-1) is returned once the busy retries are used up.
	ErrBusy = &APIError{Code: -1, Msg: "system busy"}
	// ErrWindowClosed (45015): the user is outside the 48 h window or has
	// unsubscribed. Mark the conversation closed.
	ErrWindowClosed = &APIError{Code: 45015, Msg: "response out of time limit or subscription is canceled"}
	// ErrQuotaExhausted (45047): the sends this user's last interaction
	// allowed are used up; wait for the next one.
	ErrQuotaExhausted = &APIError{Code: 45047, Msg: "out of response count limit"}
	// ErrDailyLimit (45009): the account's daily API limit is reached.
	ErrDailyLimit = &APIError{Code: 45009, Msg: "reach max api daily quota limit"}
	// ErrUnauthorized (48001): the account lacks the customer-service API
	// permission; a configuration error.
	ErrUnauthorized = &APIError{Code: 48001, Msg: "api unauthorized"}
	// ErrInvalidOpenID (40003): no such user for this account.
	ErrInvalidOpenID = &APIError{Code: 40003, Msg: "invalid openid"}
	// ErrNotFollowing (43004): the user does not follow the account.
	ErrNotFollowing = &APIError{Code: 43004, Msg: "require subscribe"}
)

// Errcodes that mean the access_token is bad: drop it, fetch a new one and
// retry once.
const (
	codeInvalidCredential = 40001
	codeTokenExpired      = 42001
	codeInvalidToken      = 40014
	codeBusy              = -1
)

func isTokenCode(code int) bool {
	return code == codeInvalidCredential || code == codeTokenExpired || code == codeInvalidToken
}

// NotSent reports whether err, from SendText or Typing, proves that the
// message reached no user, so WeChat counted no send: WeChat answered an
// errcode (45015, 45047, 40003, a rejected token, -1…; an errcode answer
// means the message was refused), or the request was never written (bad
// arguments, no access_token, connection refused, ctx ended first).
//
// It is false for nil and for the ambiguous failures: a timeout, a broken
// connection or an HTTP error status after the request went out, or an
// answer that could not be read. WeChat may have delivered and counted
// those.
func NotSent(err error) bool {
	var ns *notSentError
	var ae *APIError
	return err != nil && (errors.As(err, &ns) || errors.As(err, &ae))
}

// notSentError marks an error that happened before the request reached
// WeChat. It reads exactly as the error it wraps.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }

func (e *notSentError) Unwrap() error { return e.err }

func notSent(err error) error { return &notSentError{err} }

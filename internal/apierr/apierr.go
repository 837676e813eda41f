// Package apierr is the error shape of kefu's JSON API, shared by every
// handler under /api/v1: a status that fits (never 200) and the body
//
//	{"error":{"code":"not_found","message":"auth: not found"}}
//
// where code is stable, for programs, and message is for people. It also
// reads JSON request bodies the one strict way.
package apierr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Codes used across the API. Handlers may add their own.
const (
	CodeBadRequest       = "bad_request"            // the body is not the JSON expected
	CodeUnsupportedMedia = "unsupported_media_type" // the body is not application/json
	CodeTooLarge         = "too_large"              // the body is over the limit
	CodeInvalid          = "invalid"                // a field breaks a rule
	CodeUnauthenticated  = "unauthenticated"        // no valid session or token
	CodeForbidden        = "forbidden"              // signed in, but not allowed
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal" // a fault of the server, logged
)

// Body is the JSON of an error response.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error inside a Body.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error that knows how the API answers it.
type Error struct {
	Status  int
	Code    string
	Message string
	// Err is the cause, if any.
	Err error
}

// New returns an Error with this status, code and message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Code maps a sentinel error (matched with errors.Is) to the status and
// code it is answered with.
type Code struct {
	Err    error
	Status int
	Code   string
}

// Write answers err and aborts the handler chain. An *Error in err's chain
// gives the status, code and message; otherwise the first entry of codes
// that err matches gives the status and code, and err's text the message.
// Any other error is a 500 with a generic message, and only then is err
// logged (at error, to log when not nil).
func Write(c *gin.Context, log *slog.Logger, err error, codes ...Code) {
	status, code, msg := http.StatusInternalServerError, CodeInternal, "internal error"
	var e *Error
	if errors.As(err, &e) {
		status, code, msg = e.Status, e.Code, e.Message
	} else {
		for _, m := range codes {
			if errors.Is(err, m.Err) {
				status, code, msg = m.Status, m.Code, err.Error()
				break
			}
		}
	}
	if status >= 500 && log != nil {
		log.ErrorContext(c.Request.Context(), "api error", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	Abort(c, status, code, msg)
}

// Abort writes an error response with this status, code and message, and
// aborts the handler chain.
func Abort(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, Body{Error: Detail{Code: code, Message: message}})
}

// DecodeRequest reads the JSON body of r into v: its Content-Type must be
// application/json, and then Decode applies. The *Error it returns is
// 415 when the type is wrong.
func DecodeRequest(r *http.Request, limit int64, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return New(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be JSON (Content-Type: application/json)")
	}
	return Decode(r.Body, limit, v)
}

// Decode reads one JSON value of at most limit bytes into v, refusing
// unknown fields and anything after the value. Its errors are *Error: 413
// when the body is too long, 400 otherwise.
func Decode(body io.Reader, limit int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "reading the body failed", Err: err}
	}
	if int64(len(data)) > limit {
		return New(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is over %d bytes", limit))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "bad JSON body: " + err.Error(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return New(http.StatusBadRequest, CodeBadRequest, "bad JSON body: more after the value")
	}
	return nil
}

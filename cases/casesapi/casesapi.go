// Package casesapi serves the cases of the self-service tier over HTTP
// with Gin, for agents: list them, read one with its fields and history,
// and set its status with a note. The domain lives in cases; each handler
// here decodes, calls a cases.Service and answers, in the error shape of
// internal/apierr.
package casesapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/internal/apierr"
)

// MaxNoteRunes bounds the note of a status change, in characters.
const MaxNoteRunes = 2000

// maxBody bounds the JSON request bodies.
const maxBody = 32 << 10

// Options configure a Handler.
type Options struct {
	// Service keeps the cases; required.
	Service *cases.Service
	// Logger receives server faults; nil logs nothing.
	Logger *slog.Logger
}

// Handler serves the case routes; create it with New and mount it with
// Register.
type Handler struct {
	svc *cases.Service
	log *slog.Logger
}

// New returns a Handler over opts.Service.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("casesapi: a service is required")
	}
	h := &Handler{svc: opts.Service, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Register mounts the routes on r, normally the /api/v1 group behind
// ginauth's Authenticate and Require(auth.PermServe):
//
//	GET  /cases              ?status=&flow=&open_id=&limit= → the cases, newest first
//	GET  /cases/:id          one case with its fields and history; the number in any case or width
//	POST /cases/:id/status   {status, note} → the case; by the signed-in account
func (h *Handler) Register(r gin.IRouter) {
	g := r.Group("/cases")
	g.GET("", h.list)
	g.GET("/:id", h.get)
	g.POST("/:id/status", h.setStatus)
}

// codes map cases' errors to statuses, codes and messages people read.
var codes = []struct {
	err    error
	status int
	code   string
	msg    string
}{
	{cases.ErrNotFound, http.StatusNotFound, apierr.CodeNotFound, msgNotFound},
	{cases.ErrBadStatus, http.StatusBadRequest, apierr.CodeInvalid, msgBadStatus},
	{cases.ErrInvalid, http.StatusBadRequest, apierr.CodeInvalid, msgInvalid},
	{cases.ErrConflict, http.StatusConflict, apierr.CodeConflict, msgBusy},
}

// writeError answers err; only server faults are logged.
func (h *Handler) writeError(c *gin.Context, err error) {
	for _, m := range codes {
		if errors.Is(err, m.err) {
			err = &apierr.Error{Status: m.status, Code: m.code, Message: m.msg, Err: err}
			break
		}
	}
	apierr.Write(c, h.log, err)
}

// invalid returns the 400 error of a request that breaks a rule.
func invalid(msg string) error {
	return apierr.New(http.StatusBadRequest, apierr.CodeInvalid, msg)
}

func (h *Handler) list(c *gin.Context) {
	f := cases.Filter{Status: cases.Status(c.Query("status")), Flow: c.Query("flow"), OpenID: c.Query("open_id")}
	if f.Status != "" && !f.Status.Valid() {
		h.writeError(c, invalid(msgBadStatus))
		return
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > cases.MaxLimit {
			h.writeError(c, invalid(msgBadLimit))
			return
		}
		f.Limit = n
	}
	list, err := h.svc.List(c.Request.Context(), f)
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, list)
}

func (h *Handler) get(c *gin.Context) {
	cs, err := h.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cs)
}

// statusRequest is the body of POST /cases/:id/status.
type statusRequest struct {
	Status cases.Status `json:"status"`
	Note   string       `json:"note"`
}

func (h *Handler) setStatus(c *gin.Context) {
	acc, ok := ginauth.AccountFrom(c)
	if !ok || acc.ID == "" {
		apierr.Abort(c, http.StatusUnauthorized, apierr.CodeUnauthenticated, msgSignIn)
		return
	}
	var req statusRequest
	if err := apierr.DecodeRequest(c.Request, maxBody, &req); err != nil {
		h.writeError(c, err)
		return
	}
	if !req.Status.Valid() {
		h.writeError(c, invalid(msgBadStatus))
		return
	}
	req.Note = strings.TrimSpace(req.Note)
	if utf8.RuneCountInString(req.Note) > MaxNoteRunes {
		h.writeError(c, invalid(msgNoteTooLong))
		return
	}
	cs, err := h.svc.SetStatus(c.Request.Context(), c.Param("id"), req.Status, req.Note, acc.Username)
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cs)
}

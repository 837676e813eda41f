// Package handoffapi serves the agents' side of the human tier over HTTP
// with Gin: the tickets in the lanes an agent serves, claiming them,
// replying to the user through the customer-service API, notes, release,
// transfer and close, and the tickets other channels open. The domain
// lives in handoff; each handler here decodes, checks who may act, calls a
// handoff.Service and answers, in the error shape of internal/apierr.
package handoffapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/wxapi"
)

// Error codes of this API beside apierr's.
const (
	CodeNotQueued     = "not_queued"      // the ticket waits in no queue (claimed by another agent, or closed)
	CodeNotAssigned   = "not_assigned"    // the ticket is not assigned (claim it first)
	CodeClosed        = "closed"          // the ticket is closed
	CodeEmpty         = "empty"           // no ticket waits in the agent's lanes
	CodeAtCapacity    = "at_capacity"     // the agent holds as many tickets as allowed
	CodeWindowClosed  = "window_closed"   // the user's send window is closed (45015)
	CodeQuotaUsed     = "quota_exhausted" // the window's sends are used up (45047)
	CodeWeChat        = "wechat_error"    // WeChat refused the send, or could not be reached
	CodeMaybeSent     = "maybe_delivered" // the send reached WeChat but no answer came back
	CodeNotConfigured = "not_configured"  // no customer-service API is configured
	CodeRepeatLimit   = "repeat_limit"    // the user opened too many tickets lately
	CodeNoMerge       = "no_merge"        // the ticket has no merge of that number on record
	CodeMergeUndone   = "merge_undone"    // the merge was undone already
)

// MaxReplyRunes is the longest reply an agent may send, in characters:
// WeChat's customer-service API cuts or refuses longer text messages
// (about 2,048 bytes for passive replies; 2,000 characters kept as the
// safe bound for both).
const MaxReplyRunes = 2000

// maxNoteRunes bounds internal notes and the text of tickets other
// channels open.
const maxNoteRunes = 8000

// maxBody bounds the JSON request bodies.
const maxBody = 64 << 10

// Sender sends an agent's reply to a user; *wxapi.QuotaSender is one. The
// Delivery says what happened; the error is its Err.
type Sender interface {
	SendText(ctx context.Context, openID, text string) (wxapi.Delivery, error)
}

// Accounts looks up the account a ticket is transferred to and lists the
// agents of the directory; *auth.Service is one.
type Accounts interface {
	Account(ctx context.Context, id string) (auth.Account, error)
	Accounts(ctx context.Context) ([]auth.Account, error)
}

// Options configure a Handler.
type Options struct {
	// Service is the human tier; required.
	Service *handoff.Service
	// Sender delivers replies; nil refuses them with 503 (no
	// customer-service API configured).
	Sender Sender
	// Quota, when set, is shown with each ticket and kept in step with the
	// user's messages in the transcript before each reply; nil shows none.
	Quota wxapi.Quota
	// Accounts resolves the agent of a transfer and lists the agents of
	// GET /agents/directory; nil refuses transfers to an agent (transfers
	// to a lane still work) and the directory.
	Accounts Accounts
	// Presence, when set, marks the directory's agents online; nil shows
	// every agent offline.
	Presence handoff.Presence
	// Articles finds the canned replies of GET /canned (see
	// CannedArticles); nil answers an empty list.
	Articles Articles
	// Now is the clock of breach flags and quota; time.Now when nil.
	Now func() time.Time
	// Logger receives server faults (error) and failed sends (warn); nil
	// logs nothing.
	Logger *slog.Logger
}

// Handler serves the ticket routes; create it with New and mount it with
// Register.
type Handler struct {
	svc      *handoff.Service
	sender   Sender
	quota    wxapi.Quota
	accounts Accounts
	presence handoff.Presence
	articles Articles
	now      func() time.Time
	log      *slog.Logger
}

// New returns a Handler over opts.Service.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("handoffapi: a service is required")
	}
	h := &Handler{svc: opts.Service, sender: opts.Sender, quota: opts.Quota, accounts: opts.Accounts,
		presence: opts.Presence, articles: opts.Articles, now: opts.Now, log: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Register mounts the routes on r, normally the /api/v1 group behind
// ginauth's Authenticate and Require(auth.PermServe):
//
//	GET  /lanes                 the lanes the caller serves, with waiting and breached counts and SLA
//	GET  /tickets               ?status=open|queued|assigned|closed&lane=&mine=1&limit= → ticket headers
//	POST /tickets               {open_id, lane, reason, text, channel} → 201 opened, 200 merged, 429 repeat limit
//	POST /tickets/claim-next    → the claimed ticket; 404 empty, 409 at capacity
//	GET  /tickets/:id           the ticket, its transcript, the user's earlier tickets, the send quota
//	POST /tickets/:id/claim     → the ticket; 409 not queued (another agent won) or at capacity
//	POST /tickets/:id/messages  {text} → the delivery; 200 delivered, 409 window closed or quota used, 502 WeChat failed
//	POST /tickets/:id/notes     {text} → 201, the note
//	POST /tickets/:id/release   → the ticket, back in its queue
//	POST /tickets/:id/transfer  {agent_id} or {lane} → the ticket
//	POST /tickets/:id/close     {resolution} → the ticket; resolution is one of Resolutions
//	POST /tickets/:id/merges/:n/undo → {ticket, split}: merge n split out into a new ticket
//	GET  /canned                ?q= → up to 10 published articles to answer with
//	GET  /agents/directory      the enabled accounts that take tickets, with their lanes and presence
func (h *Handler) Register(r gin.IRouter) {
	r.GET("/lanes", h.lanes)
	r.GET("/canned", h.canned)
	r.GET("/agents/directory", h.directory)
	g := r.Group("/tickets")
	g.GET("", h.list)
	g.POST("", h.open)
	g.POST("/claim-next", h.claimNext)
	g.GET("/:id", h.ticket)
	g.POST("/:id/claim", h.claim)
	g.POST("/:id/messages", h.reply)
	g.POST("/:id/notes", h.note)
	g.POST("/:id/release", h.release)
	g.POST("/:id/transfer", h.transfer)
	g.POST("/:id/close", h.close)
	g.POST("/:id/merges/:n/undo", h.undoMerge)
}

// codes map handoff's errors to statuses, codes and messages people read.
var codes = []struct {
	err    error
	status int
	code   string
	msg    string
}{
	{handoff.ErrNotFound, http.StatusNotFound, apierr.CodeNotFound, msgNotFound},
	{handoff.ErrNotQueued, http.StatusConflict, CodeNotQueued, msgNotQueued},
	{handoff.ErrNotAssigned, http.StatusConflict, CodeNotAssigned, msgNotAssigned},
	{handoff.ErrClosed, http.StatusConflict, CodeClosed, msgClosed},
	{handoff.ErrEmpty, http.StatusNotFound, CodeEmpty, msgEmpty},
	{handoff.ErrAtCapacity, http.StatusConflict, CodeAtCapacity, msgAtCapacity},
	{handoff.ErrNoSkill, http.StatusForbidden, apierr.CodeForbidden, msgNoSkill},
	{handoff.ErrUnknownLane, http.StatusBadRequest, apierr.CodeInvalid, msgUnknownLane},
	{handoff.ErrNoMerge, http.StatusNotFound, CodeNoMerge, msgNoMerge},
	{handoff.ErrMergeUndone, http.StatusConflict, CodeMergeUndone, msgMergeUndone},
	{handoff.ErrConflict, http.StatusConflict, apierr.CodeConflict, msgBusy},
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

// fail returns an *apierr.Error with this status, code and message.
func fail(status int, code, msg string) error { return apierr.New(status, code, msg) }

// invalid returns the 400 error of a request that breaks a rule.
func invalid(msg string) error { return fail(http.StatusBadRequest, apierr.CodeInvalid, msg) }

// forbidden returns the 403 error of a ticket the caller may not touch.
func forbidden(msg string) error { return fail(http.StatusForbidden, apierr.CodeForbidden, msg) }

// caller is the signed-in account and the agent it is to the service.
type caller struct {
	acc   auth.Account
	agent handoff.Agent
	admin bool // serves every lane and may act on any ticket
}

// begin returns the caller and, when v is not nil, reads the JSON body
// into it, answering the error when either fails.
func (h *Handler) begin(c *gin.Context, v any) (caller, bool) {
	acc, ok := ginauth.AccountFrom(c)
	if !ok || acc.ID == "" {
		apierr.Abort(c, http.StatusUnauthorized, apierr.CodeUnauthenticated, msgSignIn)
		return caller{}, false
	}
	if v != nil {
		if err := apierr.DecodeRequest(c.Request, maxBody, v); err != nil {
			h.writeError(c, err)
			return caller{}, false
		}
	}
	return h.callerOf(acc), true
}

// callerOf maps an account to the agent the service knows: an admin
// serves every configured lane.
func (h *Handler) callerOf(acc auth.Account) caller {
	cl := caller{acc: acc, admin: acc.Can(auth.PermAllLanes)}
	cl.agent = agentOf(acc)
	if cl.admin {
		cl.agent.Lanes = nil
		for _, l := range h.svc.Lanes().All() {
			cl.agent.Lanes = append(cl.agent.Lanes, l.Name)
		}
	}
	return cl
}

// agentOf maps an account to a handoff.Agent.
func agentOf(acc auth.Account) handoff.Agent {
	return handoff.Agent{ID: acc.ID, Name: cmp.Or(acc.Name, acc.Username), Lanes: acc.Lanes, Capacity: acc.Capacity}
}

// sees reports whether the caller may see the ticket: it serves its lane,
// or holds it (a transfer may give an agent a ticket of another lane).
func (cl caller) sees(t handoff.Ticket) bool {
	return cl.admin || cl.acc.ServesLane(t.Lane) || (t.AgentID != "" && t.AgentID == cl.acc.ID)
}

// mayWork reports the error, if any, that keeps the caller from working
// the open ticket (reply, release, transfer, close): it must see it, and
// an assigned ticket belongs to its agent (admins may act on any).
func (cl caller) mayWork(t handoff.Ticket) error {
	if !cl.sees(t) {
		return forbidden(msgNotYourLane)
	}
	if t.Status == handoff.StatusAssigned && t.AgentID != cl.acc.ID && !cl.admin {
		return forbidden(msgNotYours)
	}
	return nil
}

// roomFor refuses, with ErrAtCapacity, an agent whose account takes no
// new tickets (capacity 0; to the service 0 would mean no limit).
func roomFor(a handoff.Agent) error {
	if a.Capacity <= 0 {
		return handoff.ErrAtCapacity
	}
	return nil
}

// header returns the ticket's header (no transcript) if the caller may see
// it, answering the error otherwise.
func (h *Handler) header(c *gin.Context, cl caller) (handoff.Ticket, bool) {
	t, err := h.svc.Store().TicketHeader(c.Request.Context(), c.Param("id"))
	if err == nil && !cl.sees(t) {
		err = forbidden(msgNotYourLane)
	}
	if err != nil {
		h.writeError(c, err)
		return handoff.Ticket{}, false
	}
	return t, true
}

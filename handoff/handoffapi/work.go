package handoffapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/handoff"
)

// Resolutions are the codes a ticket may be closed with.
var Resolutions = []string{"resolved", "duplicate", "no_response", "spam", "other"}

func (h *Handler) claim(c *gin.Context) {
	h.take(c, func(ctx context.Context, a handoff.Agent) (handoff.Ticket, error) {
		return h.svc.Claim(ctx, c.Param("id"), a)
	})
}

func (h *Handler) claimNext(c *gin.Context) {
	h.take(c, h.svc.ClaimNext)
}

// take runs a claim for the caller, who must have room for one more
// ticket, and answers the ticket claimed.
func (h *Handler) take(c *gin.Context, claim func(context.Context, handoff.Agent) (handoff.Ticket, error)) {
	cl, ok := h.begin(c, nil)
	if !ok {
		return
	}
	h.answer(c, func() (handoff.Ticket, error) {
		if err := roomFor(cl.agent); err != nil {
			return handoff.Ticket{}, err
		}
		return claim(c.Request.Context(), cl.agent)
	})
}

func (h *Handler) release(c *gin.Context) {
	h.work(c, nil, func(handoff.Ticket, caller) (handoff.Ticket, error) {
		return h.svc.Release(c.Request.Context(), c.Param("id"))
	})
}

// transferRequest is the body of POST /tickets/:id/transfer: one of the
// two.
type transferRequest struct {
	AgentID string `json:"agent_id"`
	Lane    string `json:"lane"`
}

func (h *Handler) transfer(c *gin.Context) {
	var req transferRequest
	h.work(c, &req, func(t handoff.Ticket, _ caller) (handoff.Ticket, error) {
		ctx := c.Request.Context()
		if (req.AgentID == "") == (req.Lane == "") {
			return t, invalid(msgTransferOne)
		}
		if req.Lane != "" {
			return h.svc.TransferToLane(ctx, t.ID, req.Lane)
		}
		if h.accounts == nil {
			return t, fail(http.StatusServiceUnavailable, CodeNotConfigured, msgNoAccounts)
		}
		acc, err := h.accounts.Account(ctx, req.AgentID)
		if errors.Is(err, auth.ErrNotFound) {
			return t, invalid(msgNoAgent)
		}
		if err != nil {
			return t, err
		}
		if !acc.Can(auth.PermServe) {
			return t, invalid(msgAgentCannot)
		}
		to := agentOf(acc)
		if err := roomFor(to); err != nil {
			return t, err
		}
		return h.svc.TransferToAgent(ctx, t.ID, to)
	})
}

// closeRequest is the body of POST /tickets/:id/close.
type closeRequest struct {
	Resolution string `json:"resolution"`
}

func (h *Handler) close(c *gin.Context) {
	var req closeRequest
	h.work(c, &req, func(t handoff.Ticket, _ caller) (handoff.Ticket, error) {
		if !slices.Contains(Resolutions, req.Resolution) {
			return t, invalid(msgBadResolution)
		}
		return h.svc.Close(c.Request.Context(), t.ID, req.Resolution)
	})
}

// undone is the answer of POST /tickets/:id/merges/:n/undo.
type undone struct {
	// Ticket is the ticket the merge was undone on; Split the new ticket
	// holding the merged-in part.
	Ticket header `json:"ticket"`
	Split  header `json:"split"`
}

// undoMerge splits merge n back out of the ticket (handoff.UndoMerge),
// for a caller who may work it.
func (h *Handler) undoMerge(c *gin.Context) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		h.writeError(c, invalid(msgBadMerge))
		return
	}
	cl, t, ok := h.workable(c, nil)
	if !ok {
		return
	}
	t, split, err := h.svc.UndoMerge(c.Request.Context(), t.ID, n, cl.agent)
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, undone{Ticket: h.headerOf(t), Split: h.headerOf(split)})
}

// textRequest is the body of POST /tickets/:id/notes and /messages.
type textRequest struct {
	Text string `json:"text"`
}

// text returns the trimmed text, or the error of an empty one or one
// over limit characters.
func (r textRequest) text(limit int, tooLong string) (string, error) {
	s := strings.TrimSpace(r.Text)
	switch {
	case s == "":
		return "", invalid(msgNoText)
	case utf8.RuneCountInString(s) > limit:
		return "", invalid(tooLong)
	}
	return s, nil
}

func (h *Handler) note(c *gin.Context) {
	var req textRequest
	cl, ok := h.begin(c, &req)
	if !ok {
		return
	}
	text, err := req.text(maxNoteRunes, msgNoteTooLong)
	if err != nil {
		h.writeError(c, err)
		return
	}
	t, ok := h.header(c, cl)
	if !ok {
		return
	}
	at := h.now()
	if err := h.svc.AddNote(c.Request.Context(), t.ID, cl.acc.ID, text); err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, message{From: handoff.FromNote, Kind: "text", Text: text, Ref: "agent:" + cl.acc.ID, At: at})
}

// work runs op on the open ticket of the path for a caller who may work it
// (mayWork), reading the JSON body into v first unless v is nil, and
// answers the ticket op returns.
func (h *Handler) work(c *gin.Context, v any, op func(handoff.Ticket, caller) (handoff.Ticket, error)) {
	cl, t, ok := h.workable(c, v)
	if !ok {
		return
	}
	h.answer(c, func() (handoff.Ticket, error) { return op(t, cl) })
}

// workable returns the caller and the open ticket of the path, which the
// caller may work (mayWork), reading the JSON body into v first unless v
// is nil; it answers the error when there is one.
func (h *Handler) workable(c *gin.Context, v any) (caller, handoff.Ticket, bool) {
	cl, ok := h.begin(c, v)
	if !ok {
		return caller{}, handoff.Ticket{}, false
	}
	t, ok := h.header(c, cl)
	if !ok {
		return caller{}, handoff.Ticket{}, false
	}
	err := cl.mayWork(t)
	if t.Status == handoff.StatusClosed {
		err = handoff.ErrClosed
	}
	if err != nil {
		h.writeError(c, err)
		return caller{}, handoff.Ticket{}, false
	}
	return cl, t, true
}

// answer answers the ticket op returns, or its error.
func (h *Handler) answer(c *gin.Context, op func() (handoff.Ticket, error)) {
	t, err := op()
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, h.headerOf(t))
}

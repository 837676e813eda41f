package handoffapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/logid"
	"github.com/kefuhq/kefu/wxapi"
)

// sent is the answer of POST /tickets/:id/messages: whether the reply
// reached the user and, when not, why (Error, in the usual shape), with
// what the agent may still send. The reply is in the transcript either
// way, as Message; Recorded is false only when writing it there failed.
type sent struct {
	Delivered      bool            `json:"delivered"`
	MaybeDelivered bool            `json:"maybe_delivered"`
	Error          *apierr.Detail  `json:"error,omitempty"`
	Quota          wxapi.Allowance `json:"quota"`
	Message        message         `json:"message"`
	Recorded       bool            `json:"recorded"`
}

// reply sends an agent's reply to the user through the customer-service
// API and keeps it in the transcript, delivered or not.
func (h *Handler) reply(c *gin.Context) {
	var req textRequest
	cl, ok := h.begin(c, &req)
	if !ok {
		return
	}
	text, err := req.text(MaxReplyRunes, msgReplyTooLong)
	if err == nil && h.sender == nil {
		err = fail(http.StatusServiceUnavailable, CodeNotConfigured, msgNotConfigured)
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	t, err := h.svc.Store().Ticket(ctx, c.Param("id"))
	if err == nil {
		err = cl.mayReply(t)
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	SyncQuota(ctx, h.quota, t, h.log)
	d, _ := h.sender.SendText(ctx, t.OpenID, text)
	status, detail := deliveryStatus(d)
	if d.Err != nil {
		h.log.WarnContext(ctx, "handoffapi: reply not delivered", "ticket_id", t.ID,
			"open_id_hash", logid.Hash(t.OpenID), "agent_id", cl.acc.ID, "maybe_delivered", d.MaybeDelivered, "err", d.Err)
	}
	m := handoff.Message{From: handoff.FromAgent, Kind: "text", Text: text, Ref: "agent:" + cl.acc.ID, At: h.now()}
	switch {
	case d.MaybeDelivered:
		m.Kind = kindMaybeReplied
	case !d.Delivered:
		m.Kind = kindUndelivered + detail.Code
	}
	// The reply is recorded even when the agent's request has gone: it
	// was sent, or tried.
	rec := h.svc.Append(context.WithoutCancel(ctx), t.ID, m)
	if rec != nil {
		h.log.ErrorContext(ctx, "handoffapi: reply not recorded in the transcript", "ticket_id", t.ID, "err", rec)
	}
	c.JSON(status, sent{Delivered: d.Delivered, MaybeDelivered: d.MaybeDelivered, Error: detail, Quota: d.Allowance,
		Message: messageOf(m), Recorded: rec == nil})
}

// mayReply reports the error, if any, that keeps the caller from replying
// on the ticket: it must be open and held by the caller (or the caller an
// admin).
func (cl caller) mayReply(t handoff.Ticket) error {
	if err := cl.mayWork(t); err != nil {
		return err
	}
	switch {
	case t.Status == handoff.StatusClosed:
		return handoff.ErrClosed
	case t.Status != handoff.StatusAssigned && !cl.admin:
		return fail(http.StatusConflict, CodeNotAssigned, msgClaimFirst)
	}
	return nil
}

// deliveryStatus maps a delivery to the status of the answer and, when
// not delivered, the error in it: 409 when the user's window or quota
// refused it (retrying will not help until the user writes), 502 when
// WeChat failed or did not answer.
func deliveryStatus(d wxapi.Delivery) (int, *apierr.Detail) {
	var apiErr *wxapi.APIError
	switch {
	case d.Delivered:
		return http.StatusOK, nil
	case d.MaybeDelivered:
		return http.StatusBadGateway, &apierr.Detail{Code: CodeMaybeSent, Message: msgMaybeDelivered}
	case errors.Is(d.Err, wxapi.ErrWindowClosed):
		return http.StatusConflict, &apierr.Detail{Code: CodeWindowClosed, Message: msgWindowClosed}
	case errors.Is(d.Err, wxapi.ErrQuotaExhausted):
		return http.StatusConflict, &apierr.Detail{Code: CodeQuotaUsed, Message: msgQuotaUsed}
	case errors.As(d.Err, &apiErr):
		return http.StatusBadGateway, &apierr.Detail{Code: CodeWeChat, Message: msgWeChatRefused + apiErr.Error()}
	}
	return http.StatusBadGateway, &apierr.Detail{Code: CodeWeChat, Message: msgWeChatFailed}
}

// SyncQuota records in quota the user's latest message and menu click of
// the ticket's transcript, so the tracker knows the windows they opened
// even when the webhook's report of them was lost (dropped under load, or
// the process restarted before writing it). Recording an interaction again
// changes nothing. It stops at a reply refused for a closed window: WeChat
// (or the tracker) said the window was closed after the messages before
// it, and the tracker may have forgotten it since. Call it before a send
// to the ticket's user. Failures are logged to log (nil: not logged): the
// send then goes by what the tracker knew.
func SyncQuota(ctx context.Context, quota wxapi.Quota, t handoff.Ticket, log *slog.Logger) {
	if quota == nil {
		return
	}
	seen := map[wxapi.InteractionKind]bool{}
	for i := len(t.Messages) - 1; i >= 0 && len(seen) < 2; i-- {
		m := t.Messages[i]
		if m.From == handoff.FromAgent && m.Kind == kindUndelivered+CodeWindowClosed {
			return
		}
		kind := wxapi.InteractionMessage
		if m.Kind == "click" {
			kind = wxapi.InteractionEvent
		}
		if m.From != handoff.FromUser || m.At.IsZero() || seen[kind] {
			continue
		}
		seen[kind] = true
		if err := quota.Interaction(ctx, t.OpenID, kind, m.At); err != nil {
			if log != nil {
				log.WarnContext(ctx, "handoffapi: quota: record the user's interaction", "ticket_id", t.ID, "err", err)
			}
			return
		}
	}
}

// allowance returns what an agent may still send the ticket's user, or
// nil when no tracker is configured or it failed (logged).
func (h *Handler) allowance(c *gin.Context, t handoff.Ticket) *wxapi.Allowance {
	if h.quota == nil {
		return nil
	}
	ctx := c.Request.Context()
	SyncQuota(ctx, h.quota, t, h.log)
	a, err := h.quota.Peek(ctx, t.OpenID, h.now())
	if err != nil {
		h.log.WarnContext(ctx, "handoffapi: quota: peek", "ticket_id", t.ID, "err", err)
		return nil
	}
	return &a
}

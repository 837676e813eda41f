package wxapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/kefuhq/kefu/internal/logid"
)

// quotaFollowUpTimeout bounds the store updates after a send, which run
// even when the caller's context has ended (a reservation must not leak).
const quotaFollowUpTimeout = 5 * time.Second

// TextSender sends a text customer-service message; *Client is one.
type TextSender interface {
	SendText(ctx context.Context, openID, text string) error
}

// QuotaSender sends agent replies within each user's window: it reserves a
// send from Quota before calling WeChat, refuses locally a send WeChat
// would refuse, and keeps the tracker in line with WeChat's answers. Client
// and Quota are required. It is safe for concurrent use.
type QuotaSender struct {
	Client TextSender
	Quota  Quota
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// Logger receives the tracker failures it cannot return (a Release
	// or Revoke that failed after the send). Discarded when nil.
	Logger *slog.Logger
}

// Delivery is the outcome of one agent reply, for the panel: delivered, or
// not delivered and why, with the allowance left afterwards.
type Delivery struct {
	// Delivered is true when WeChat accepted the message.
	Delivered bool `json:"delivered"`
	// MaybeDelivered is true when the request reached WeChat but no answer
	// came back (a timeout, a broken connection): the user may have it.
	// The send stays counted. Delivered is false then.
	MaybeDelivered bool `json:"maybe_delivered,omitempty"`
	// Allowance is what is left after this send; Reason is "closed" after
	// 45015 and "exhausted" after 45047, whether we or WeChat refused.
	Allowance
	// Err is why it was not delivered: ErrWindowClosed, ErrQuotaExhausted
	// (errors.Is), another *APIError, or a network or store error.
	Err error `json:"-"`
}

// SendText sends text to openID if the tracker has a send left, and says
// what happened. The returned error is d.Err, for callers that only branch
// on it.
//
//   - No send left: nothing goes to WeChat; Err is ErrWindowClosed or
//     ErrQuotaExhausted.
//   - WeChat answers 45015: the user's window was shorter than we believed
//     (or they unsubscribed); the tracker marks it closed. 45047 marks it
//     exhausted. Neither is retried; the next interaction reopens it.
//   - Any other failure that NotSent proves uncounted (an errcode, a
//     request never written) gives the send back.
//   - An ambiguous failure keeps the send counted and sets MaybeDelivered.
func (s *QuotaSender) SendText(ctx context.Context, openID, text string) (d Delivery, err error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	r, err := s.Quota.Reserve(ctx, openID, now)
	if err != nil {
		return Delivery{Allowance: r.Allowance, Err: err}, err
	}
	err = s.Client.SendText(ctx, openID, text)
	if err == nil {
		return Delivery{Delivered: true, Allowance: r.Allowance}, nil
	}
	d = Delivery{Allowance: r.Allowance, Err: err}

	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), quotaFollowUpTimeout)
	defer cancel()
	var follow error
	switch {
	case errors.Is(err, ErrWindowClosed):
		d.Allowance = Allowance{Reason: ReasonClosed}
		follow = s.Quota.Revoke(bg, openID, now, ReasonClosed)
	case errors.Is(err, ErrQuotaExhausted):
		d.Remaining, d.Reason = 0, ReasonExhausted
		follow = s.Quota.Revoke(bg, openID, now, ReasonExhausted)
	case NotSent(err):
		follow = s.Quota.Release(bg, openID, r.Grant)
	default:
		d.MaybeDelivered = true
		return d, err
	}
	if follow == nil {
		var a Allowance
		if a, follow = s.Quota.Peek(bg, openID, now); follow == nil {
			d.Allowance = a
		}
	}
	if follow != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "wxapi: quota update after a failed send failed",
			"open_id_hash", logid.Hash(openID), "send_err", err, "err", follow)
	}
	return d, err
}

// CountedSender sends the bot's own messages (late replies, flow notices)
// with WeChat as the only judge, and keeps the tracker in line with them,
// so the allowance an agent sees includes what the bot spent.
//
// Unlike QuotaSender it never refuses a send locally: the tracker is fed
// only the interactions of users an agent may write to, so for a user
// talking to the bot it may know no window while WeChat has one. After a
// delivered send it takes one send from the window the tracker knows (a
// user without one is not counted); 45015 and 45047 close or exhaust the
// window as they do for QuotaSender. Client and Quota are required.
type CountedSender struct {
	Client TextSender
	Quota  Quota
	// Now is the clock, time.Now when nil.
	Now func() time.Time
	// Logger receives the tracker failures; discarded when nil.
	Logger *slog.Logger
}

// SendText sends text to openID and returns WeChat's answer; what the
// tracker makes of it is logged, never returned.
func (s *CountedSender) SendText(ctx context.Context, openID, text string) error {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	err := s.Client.SendText(ctx, openID, text)
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), quotaFollowUpTimeout)
	defer cancel()
	var follow error
	switch {
	case err == nil:
		_, follow = s.Quota.Reserve(bg, openID, now)
		if errors.Is(follow, ErrWindowClosed) || errors.Is(follow, ErrQuotaExhausted) {
			follow = nil // a window the tracker does not know, or over-used: WeChat judged
		}
	case errors.Is(err, ErrWindowClosed):
		follow = s.Quota.Revoke(bg, openID, now, ReasonClosed)
	case errors.Is(err, ErrQuotaExhausted):
		follow = s.Quota.Revoke(bg, openID, now, ReasonExhausted)
	}
	if follow != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "wxapi: quota update after a bot send failed",
			"open_id_hash", logid.Hash(openID), "send_err", err, "err", follow)
	}
	return err
}

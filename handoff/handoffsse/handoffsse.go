// Package handoffsse streams handoff events to the agents' panels over
// Server-Sent Events (Gin), and keeps their presence while they listen:
// the stream itself is the heartbeat of handoff.Presence.
//
// Each event is one SSE message:
//
//	id: 42
//	event: message
//	data: {"type":"message","ticket_id":"T20261125-00042","lane":"normal",…}
//
// A comment line (": ping") every Heartbeat keeps proxies from closing an
// idle stream; the first lines set the client's reconnection delay
// (retry:). An agent receives the events of the lanes it serves (an admin
// all of them) and those of the tickets assigned to it; every agent
// receives "resync", which asks the panel to reload what it shows because
// events were lost.
package handoffsse

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/apierr"
)

// Defaults of Options.
const (
	DefaultHeartbeat     = 15 * time.Second
	DefaultPresenceEvery = 10 * time.Second
	DefaultRetry         = 3 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
)

// Options configure a Handler.
type Options struct {
	// Events is the bus the streams subscribe to; required.
	Events handoff.Events
	// Presence, when set, marks a streaming agent seen when the stream
	// opens and every PresenceEvery while it stays open.
	Presence handoff.Presence
	// Logger; nil = discard.
	Logger *slog.Logger
	// Heartbeat is the interval of the keep-alive comments; 0 =
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// PresenceEvery is the interval of the presence refresh; 0 =
	// DefaultPresenceEvery.
	PresenceEvery time.Duration
	// Retry is the reconnection delay suggested to clients; 0 =
	// DefaultRetry.
	Retry time.Duration
	// WriteTimeout bounds each write to a client; it replaces the
	// server's WriteTimeout, which would end every stream. 0 =
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Handler serves GET /events; create it with New.
type Handler struct {
	opts     Options
	log      *slog.Logger
	stopping context.Context
	stop     context.CancelFunc
}

// New returns a Handler over opts.Events.
func New(opts Options) (*Handler, error) {
	if opts.Events == nil {
		return nil, errors.New("handoffsse: an event bus is required")
	}
	opts.Heartbeat = cmp.Or(opts.Heartbeat, DefaultHeartbeat)
	opts.PresenceEvery = cmp.Or(opts.PresenceEvery, DefaultPresenceEvery)
	opts.Retry = cmp.Or(opts.Retry, DefaultRetry)
	opts.WriteTimeout = cmp.Or(opts.WriteTimeout, DefaultWriteTimeout)
	log := cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	stopping, stop := context.WithCancel(context.Background())
	return &Handler{opts: opts, log: log, stopping: stopping, stop: stop}, nil
}

// Register mounts the route on r, normally the /api/v1 group behind
// ginauth's Authenticate and Require(auth.PermServe):
//
//	GET /events   the live-event stream (text/event-stream)
func (h *Handler) Register(r gin.IRouter) {
	r.GET("/events", h.stream)
}

// Shutdown ends every open stream, so that http.Server.Shutdown, which
// waits for them, need not time out: register it with
// http.Server.RegisterOnShutdown. Streams opened later end at once.
func (h *Handler) Shutdown() { h.stop() }

// Visible reports whether the account is to receive the event: resyncs
// always, else the events of the lanes it serves (every lane for an
// admin) and of the tickets assigned to it.
func Visible(a auth.Account, ev handoff.Event) bool {
	return ev.Type == handoff.EventResync || a.ServesLane(ev.Lane) || ev.AgentID != "" && ev.AgentID == a.ID
}

func (h *Handler) stream(c *gin.Context) {
	acct, ok := ginauth.AccountFrom(c)
	if !ok {
		apierr.Abort(c, http.StatusUnauthorized, "unauthorized", "sign in first")
		return
	}
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	defer context.AfterFunc(h.stopping, cancel)()
	events, err := h.opts.Events.Subscribe(ctx)
	if err != nil {
		h.log.Error("live events: subscribe", "agent_id", acct.ID, "err", err)
		apierr.Abort(c, http.StatusServiceUnavailable, "unavailable", "live events unavailable, retry later")
		return
	}
	w := &writer{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: h.opts.WriteTimeout}
	hdr := c.Writer.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	first := fmt.Sprintf("retry: %d\n: connected\n\n", h.opts.Retry.Milliseconds())
	if c.GetHeader("Last-Event-ID") != "" {
		// A reconnect: what happened while away is not replayed.
		first += "event: resync\ndata: {\"type\":\"resync\"}\n\n"
	}
	h.seen(ctx, acct.ID)
	if w.send(first) != nil {
		return
	}
	h.log.Debug("live events: stream open", "agent_id", acct.ID)
	defer h.log.Debug("live events: stream closed", "agent_id", acct.ID)
	heartbeat := time.NewTicker(h.opts.Heartbeat)
	defer heartbeat.Stop()
	presence := time.NewTicker(h.opts.PresenceEvery)
	defer presence.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if Visible(acct, ev) {
				err = w.event(ev)
			}
		case <-heartbeat.C:
			err = w.send(": ping\n\n")
		case <-presence.C:
			h.seen(ctx, acct.ID)
		}
		if err != nil {
			h.log.Debug("live events: client gone", "agent_id", acct.ID, "err", err)
			return
		}
	}
}

// seen marks the agent present, when presence is kept.
func (h *Handler) seen(ctx context.Context, agentID string) {
	if h.opts.Presence == nil {
		return
	}
	if err := h.opts.Presence.Seen(ctx, agentID); err != nil && ctx.Err() == nil {
		h.log.Warn("live events: presence", "agent_id", agentID, "err", err)
	}
}

// writer writes SSE messages, each within its own deadline, and flushes
// them.
type writer struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

// event writes ev as an SSE message.
func (w *writer) event(ev handoff.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("handoffsse: encode event: %w", err)
	}
	b := append(w.buf[:0], "id: "...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, "\nevent: "...)
	b = append(b, ev.Type...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	w.buf = b
	return w.write(b)
}

// send writes raw SSE lines.
func (w *writer) send(s string) error { return w.write([]byte(s)) }

func (w *writer) write(b []byte) error {
	if err := w.rc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	return w.rc.Flush()
}

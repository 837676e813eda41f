package handoffapi

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/wxapi"
)

// header is a ticket without its transcript, as lists show it.
type header struct {
	ID         string         `json:"id"`
	OpenID     string         `json:"open_id"`
	Lane       string         `json:"lane"`
	Reason     string         `json:"reason"`
	Reasons    []string       `json:"reasons"`
	Status     handoff.Status `json:"status"`
	AgentID    string         `json:"agent_id"`
	Merged     int            `json:"merged"`
	Priority   int            `json:"priority"`
	SLADueAt   time.Time      `json:"sla_due_at"`
	Breached   bool           `json:"breached"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	AssignedAt time.Time      `json:"assigned_at,omitzero"`
	ClosedAt   time.Time      `json:"closed_at,omitzero"`
}

func (h *Handler) headerOf(t handoff.Ticket) header {
	reasons := t.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return header{ID: t.ID, OpenID: t.OpenID, Lane: t.Lane, Reason: t.Reason(), Reasons: reasons,
		Status: t.Status, AgentID: t.AgentID, Merged: t.Merged, Priority: t.Priority, SLADueAt: t.SLADueAt,
		Breached: t.Breached(h.now()), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, AssignedAt: t.AssignedAt,
		ClosedAt: t.ClosedAt}
}

func (h *Handler) headers(ts []handoff.Ticket) []header {
	out := make([]header, 0, len(ts))
	for _, t := range ts {
		out = append(out, h.headerOf(t))
	}
	return out
}

// detail is a ticket with its transcript, as GET /tickets/:id shows it.
type detail struct {
	header
	// Position is the place in the lane's queue while queued.
	Position int       `json:"position,omitempty"`
	Messages []message `json:"messages"`
	// Earlier are the user's other tickets, newest first.
	Earlier []header `json:"earlier"`
	// Quota is what an agent may still send the user; absent when no
	// tracker is configured or it failed.
	Quota *wxapi.Allowance `json:"quota,omitempty"`
	// Merges are the handoffs merged into the ticket, each undoable once.
	Merges []merge `json:"merges"`
	// SplitFrom names the ticket this one was split out of.
	SplitFrom string `json:"split_from,omitempty"`
}

// merge is the audit record of one merge, as GET /tickets/:id shows it.
// Line is the index in Messages of its system line.
type merge struct {
	N        int       `json:"n"`
	Line     int       `json:"line"`
	Reason   string    `json:"reason"`
	Lane     string    `json:"lane"`
	At       time.Time `json:"at"`
	UndoneAt time.Time `json:"undone_at,omitzero"`
	UndoneBy string    `json:"undone_by,omitempty"`
	SplitTo  string    `json:"split_to,omitempty"`
}

// message is one line of a transcript. Agent replies say whether they
// reached the user: Delivery is delivered, not_delivered or
// maybe_delivered, and DeliveryError the code of why not.
type message struct {
	From          handoff.Sender `json:"from"`
	Kind          string         `json:"kind,omitempty"`
	Text          string         `json:"text"`
	Media         string         `json:"media,omitempty"`
	Ref           string         `json:"ref,omitempty"`
	At            time.Time      `json:"at"`
	Delivery      string         `json:"delivery,omitempty"`
	DeliveryError string         `json:"delivery_error,omitempty"`
}

// The delivery states of agent replies, and how the transcript keeps them
// in the Kind of the message: "text" delivered, "maybe_delivered", or
// "undelivered:<code>" with the error code of the refusal.
const (
	deliveryOK       = "delivered"
	deliveryFailed   = "not_delivered"
	deliveryMaybe    = "maybe_delivered"
	kindUndelivered  = "undelivered:"
	kindMaybeReplied = "maybe_delivered"
)

func messageOf(m handoff.Message) message {
	v := message{From: m.From, Kind: m.Kind, Text: m.Text, Media: m.Media, Ref: m.Ref, At: m.At}
	if m.From == handoff.FromAgent {
		switch code, failed := strings.CutPrefix(m.Kind, kindUndelivered); {
		case failed:
			v.Delivery, v.DeliveryError = deliveryFailed, code
		case m.Kind == kindMaybeReplied:
			v.Delivery, v.DeliveryError = deliveryMaybe, CodeMaybeSent
		default:
			v.Delivery = deliveryOK
		}
	}
	return v
}

// maxList bounds GET /tickets; defaultList is its limit when none is given.
const (
	maxList     = 500
	defaultList = 100
)

func (h *Handler) list(c *gin.Context) {
	cl, ok := h.begin(c, nil)
	if !ok {
		return
	}
	f := handoff.Filter{Summary: true}
	status := c.Query("status")
	switch status {
	case "", "open":
		f.Statuses = []handoff.Status{handoff.StatusQueued, handoff.StatusAssigned}
	case string(handoff.StatusQueued), string(handoff.StatusAssigned), string(handoff.StatusClosed):
		f.Statuses = []handoff.Status{handoff.Status(status)}
		f.Newest = status == string(handoff.StatusClosed)
	default:
		h.writeError(c, invalid(msgBadStatus))
		return
	}
	limit, err := strconv.Atoi(cmp.Or(c.Query("limit"), strconv.Itoa(defaultList)))
	if err != nil || limit < 1 || limit > maxList {
		h.writeError(c, invalid(msgBadLimit))
		return
	}
	mine, err := flag(c.Query("mine"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	lanes := cl.agent.Lanes
	if f.Lane = c.Query("lane"); f.Lane != "" {
		if _, err := h.svc.Lanes().Lane(f.Lane); err != nil {
			h.writeError(c, err)
			return
		}
		lanes = []string{f.Lane}
	}
	var out []handoff.Ticket
	ctx := c.Request.Context()
	switch {
	case mine:
		// An agent's tickets may lie outside its lanes (a transfer), so
		// they are looked for among all assigned ones.
		if status != "" && status != "open" && status != string(handoff.StatusAssigned) {
			h.writeError(c, invalid(msgMineStatus))
			return
		}
		f.Statuses = []handoff.Status{handoff.StatusAssigned}
		all, err := h.svc.Store().Tickets(ctx, f)
		if err != nil {
			h.writeError(c, err)
			return
		}
		out = slices.DeleteFunc(all, func(t handoff.Ticket) bool { return t.AgentID != cl.acc.ID })
	case f.Lane != "" && !cl.admin && !cl.acc.ServesLane(f.Lane):
		h.writeError(c, forbidden(msgNotYourLane))
		return
	case cl.admin && f.Lane == "":
		f.Limit = limit
		if out, err = h.svc.Store().Tickets(ctx, f); err != nil {
			h.writeError(c, err)
			return
		}
	default:
		f.Limit = limit
		for _, l := range lanes {
			f.Lane = l
			ts, err := h.svc.Store().Tickets(ctx, f)
			if err != nil {
				h.writeError(c, err)
				return
			}
			out = append(out, ts...)
		}
		slices.SortFunc(out, func(a, b handoff.Ticket) int {
			c := cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
			if f.Newest {
				return -c
			}
			return c
		})
	}
	c.JSON(http.StatusOK, h.headers(out[:min(len(out), limit)]))
}

// flag parses a query flag: "", 0, false or 1, true.
func flag(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid(msgBadFlag)
	}
	return b, nil
}

// maxEarlier bounds the user's earlier tickets GET /tickets/:id shows.
const maxEarlier = 20

func (h *Handler) ticket(c *gin.Context) {
	cl, ok := h.begin(c, nil)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	t, err := h.svc.Store().Ticket(ctx, c.Param("id"))
	if err == nil && !cl.sees(t) {
		err = forbidden(msgNotYourLane)
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	d := detail{header: h.headerOf(t), Messages: make([]message, 0, len(t.Messages)), Earlier: []header{},
		Merges: make([]merge, 0, len(t.Merges)), SplitFrom: t.SplitFrom}
	for _, m := range t.Merges {
		d.Merges = append(d.Merges, merge{N: m.N, Line: m.Messages[0], Reason: m.Reason, Lane: m.Lane, At: m.At, UndoneAt: m.UndoneAt,
			UndoneBy: m.UndoneBy, SplitTo: m.SplitTo})
	}
	for _, m := range t.Messages {
		d.Messages = append(d.Messages, messageOf(m))
	}
	if d.Position, err = h.svc.Position(ctx, t); err != nil {
		h.writeError(c, err)
		return
	}
	earlier, err := h.svc.Store().Tickets(ctx, handoff.Filter{OpenID: t.OpenID, Newest: true, Summary: true, Limit: maxEarlier + 1})
	if err != nil {
		h.writeError(c, err)
		return
	}
	earlier = slices.DeleteFunc(earlier, func(e handoff.Ticket) bool { return e.ID == t.ID })
	d.Earlier = h.headers(earlier[:min(len(earlier), maxEarlier)])
	d.Quota = h.allowance(c, t)
	c.JSON(http.StatusOK, d)
}

// openRequest is the body of POST /tickets.
type openRequest struct {
	OpenID  string `json:"open_id"`
	Lane    string `json:"lane"`
	Reason  string `json:"reason"`
	Text    string `json:"text"`
	Channel string `json:"channel"`
}

// opened is the answer of POST /tickets.
type opened struct {
	Ticket   header `json:"ticket"`
	Merged   bool   `json:"merged"`
	Position int    `json:"position"`
	// WaitSeconds is the time left until the SLA deadline: the longest
	// the user should wait.
	WaitSeconds int64 `json:"wait_seconds"`
}

// open lets another channel (a mini-program, a web form) ask for a person
// for a user: a new ticket, or a merge into the user's open one.
func (h *Handler) open(c *gin.Context) {
	var req openRequest
	cl, ok := h.begin(c, &req)
	if !ok {
		return
	}
	req.Lane = cmp.Or(req.Lane, handoff.LaneNormal)
	req.Reason = cmp.Or(req.Reason, "user_request")
	req.Channel = cmp.Or(req.Channel, "api")
	req.Text = strings.TrimSpace(req.Text)
	if err := h.checkOpen(req); err != nil {
		h.writeError(c, err)
		return
	}
	if !cl.admin && !cl.acc.ServesLane(req.Lane) {
		h.writeError(c, forbidden(msgNotYourLane))
		return
	}
	hr := handoff.Request{OpenID: req.OpenID, Lane: req.Lane, Reason: req.Reason}
	if req.Text != "" {
		hr.Transcript = []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: req.Text,
			Ref: "channel:" + req.Channel, At: h.now()}}
	}
	out, err := h.svc.Handoff(c.Request.Context(), hr)
	if err != nil {
		h.writeError(c, err)
		return
	}
	if out.Limited {
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{
			"error":  gin.H{"code": CodeRepeatLimit, "message": msgRepeatLimit},
			"ticket": h.headerOf(out.Ticket)})
		return
	}
	status := http.StatusCreated
	if out.Merged {
		status = http.StatusOK
	}
	c.JSON(status, opened{Ticket: h.headerOf(out.Ticket), Merged: out.Merged, Position: out.Position,
		WaitSeconds: int64(out.Wait / time.Second)})
}

// checkOpen checks the fields of POST /tickets, defaults applied.
func (h *Handler) checkOpen(req openRequest) error {
	if req.OpenID == "" || len(req.OpenID) > 128 || strings.IndexFunc(req.OpenID, notIDRune) >= 0 {
		return invalid(msgNoOpenID)
	}
	if _, err := h.svc.Lanes().Lane(req.Lane); err != nil {
		return err
	}
	if err := h.checkReason(req.Reason); err != nil {
		return err
	}
	if len(req.Channel) > 32 || strings.IndexFunc(req.Channel, notNameRune) >= 0 {
		return invalid(msgBadChannel)
	}
	if utf8.RuneCountInString(req.Text) > maxNoteRunes {
		return invalid(msgNoteTooLong)
	}
	return nil
}

// checkReason accepts the handoff reasons of DESIGN §1.
func (h *Handler) checkReason(r string) error {
	switch {
	case r == "user_request" || r == "failed_turns":
		return nil
	case strings.HasPrefix(r, "urgent:"):
		if _, err := h.svc.Lanes().Lane(r[len("urgent:"):]); err == nil {
			return nil
		}
	case strings.HasPrefix(r, "flow:"):
		if id := r[len("flow:"):]; id != "" && len(id) <= 64 && strings.IndexFunc(id, notNameRune) < 0 {
			return nil
		}
	}
	return invalid(msgBadReason)
}

// notIDRune reports a rune that no openid or unionid holds.
func notIDRune(r rune) bool {
	return r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r)
}

// notNameRune reports a rune outside a-z, 0-9, '_' and '-'.
func notNameRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-'
}

// laneView is a lane as the panel shows it.
type laneView struct {
	handoff.Lane
	SLA        string `json:"sla"`
	SLASeconds int64  `json:"sla_seconds"`
	Waiting    int    `json:"waiting"`
	Breached   int    `json:"breached"`
}

func (h *Handler) lanes(c *gin.Context) {
	cl, ok := h.begin(c, nil)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	breaches, err := h.svc.Breaches(ctx)
	if err != nil {
		h.writeError(c, err)
		return
	}
	out := []laneView{}
	for _, l := range h.svc.Lanes().All() {
		if !slices.Contains(cl.agent.Lanes, l.Name) {
			continue
		}
		n, err := h.svc.Store().QueueLength(ctx, l.Name)
		if err != nil {
			h.writeError(c, err)
			return
		}
		out = append(out, laneView{Lane: l, SLA: l.SLA.String(), SLASeconds: int64(l.SLA / time.Second),
			Waiting: n, Breached: breaches[l.Name]})
	}
	c.JSON(http.StatusOK, out)
}

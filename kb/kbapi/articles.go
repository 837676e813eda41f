package kbapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// summary is an article's editorial state as lists show it.
type summary struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Question string    `json:"question"`
	Category string    `json:"category"`
	Tags     []string  `json:"tags"`
	Kind     kb.Kind   `json:"kind"`
	Status   kb.Status `json:"status"`
	Handoff  string    `json:"handoff,omitempty"`
	// Version is the latest version (the current draft); PublishedVersion
	// the one the bot answers with, 0 when none; Pending says a newer
	// draft waits for a publish.
	Version          int       `json:"version"`
	PublishedVersion int       `json:"published_version"`
	Pending          bool      `json:"pending"`
	UpdatedAt        time.Time `json:"updated_at"`
	UpdatedBy        string    `json:"updated_by"`
	// StatusBy and StatusAt say who last published or archived it, and
	// when; absent before either happened.
	StatusBy string    `json:"status_by,omitempty"`
	StatusAt time.Time `json:"status_at,omitzero"`
}

func summarize(h kb.Head) summary {
	a := h.Article
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return summary{ID: a.ID, Title: a.Title, Question: a.Question, Category: a.Category, Tags: tags, Kind: a.Kind,
		Status: a.Status, Handoff: a.Handoff, Version: h.Latest, PublishedVersion: h.Published, Pending: h.Pending(),
		UpdatedAt: h.UpdatedAt, UpdatedBy: h.UpdatedBy, StatusBy: h.StatusBy, StatusAt: h.StatusAt}
}

// articleResponse is the answer of GET /kb/articles/:id.
type articleResponse struct {
	Head summary `json:"head"`
	// Draft is the latest version; Published the one the bot answers
	// with, null when none.
	Draft     kb.Version  `json:"draft"`
	Published *kb.Version `json:"published"`
}

func (h *Handler) article(c *gin.Context) {
	ctx, id := c.Request.Context(), c.Param("id")
	head, err := h.ed.Head(ctx, id)
	if err != nil {
		h.writeError(c, err)
		return
	}
	resp := articleResponse{Head: summarize(head)}
	if resp.Draft, err = h.ed.Version(ctx, id, head.Latest); err != nil {
		h.writeError(c, err)
		return
	}
	switch head.Published {
	case 0:
	case head.Latest:
		resp.Published = &resp.Draft
	default:
		v, err := h.ed.Version(ctx, id, head.Published)
		if err != nil {
			h.writeError(c, err)
			return
		}
		resp.Published = &v
	}
	c.JSON(http.StatusOK, resp)
}

// saveRequest is the body of POST /kb/articles and POST
// /kb/unanswered/:id/article: the article's fields and a note saying why.
// An empty id is derived from the question (kb.DeriveID) and an empty kind
// is faq. A status is ignored: every save is a draft, and publish and
// archive change the status.
type saveRequest struct {
	kb.Article
	Note string `json:"note"`
}

// updateRequest is the body of PUT /kb/articles/:id: a saveRequest and
// the version the edit started from.
type updateRequest struct {
	saveRequest
	BaseVersion *int `json:"base_version"`
	// BaseStatus, if given, is the status the edit started from: a save
	// of an article archived since is refused (409) rather than quietly
	// restoring it.
	BaseStatus kb.Status `json:"base_status,omitempty"`
}

// savedResponse is the answer of every route that saves a version.
type savedResponse struct {
	Version kb.Version `json:"version"`
	Head    summary    `json:"head"`
	// NeedsPublish says the bot does not answer with the latest version
	// yet; Message says so to people.
	NeedsPublish bool   `json:"needs_publish"`
	Message      string `json:"message"`
	// Unchanged says the save changed nothing, so no version was made:
	// Version is the latest, as it was.
	Unchanged bool `json:"unchanged,omitempty"`
}

// writeSaved answers a saved version v with status; prev is the article's
// latest version before the save (0: none), which v repeats when the save
// changed nothing.
func (h *Handler) writeSaved(c *gin.Context, status int, v kb.Version, prev int) {
	head, err := h.ed.Head(c.Request.Context(), v.ID)
	if err != nil {
		h.writeError(c, err)
		return
	}
	resp := savedResponse{Version: v, Head: summarize(head), NeedsPublish: head.Published != head.Latest, Message: msgLive,
		Unchanged: v.Version == prev}
	switch {
	case resp.Unchanged:
		resp.Message = msgUnchanged
	case resp.NeedsPublish:
		resp.Message = msgNeedsPublish
	}
	c.JSON(status, resp)
}

// latest returns the latest version of article id, 0 when it has none.
func (h *Handler) latest(ctx context.Context, id string) int {
	head, err := h.ed.Head(ctx, id)
	if err != nil {
		return 0
	}
	return head.Latest
}

func (h *Handler) createArticle(c *gin.Context) {
	var req saveRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	v, err := h.create(c.Request.Context(), req.Article, who, req.Note)
	if err != nil {
		h.writeError(c, err)
		return
	}
	h.writeSaved(c, http.StatusCreated, v, 0)
}

// create saves a as a new article, refusing an ID that exists.
func (h *Handler) create(ctx context.Context, a kb.Article, who, note string) (kb.Version, error) {
	if a.ID == "" {
		a.ID = kb.DeriveID(a.Question)
	}
	v, err := h.save(ctx, a, who, note, kb.Base{})
	if errors.Is(err, kb.ErrConflict) {
		head, herr := h.ed.Head(ctx, a.ID)
		if herr != nil {
			return kb.Version{}, herr
		}
		return kb.Version{}, h.conflict(head, fmt.Sprintf(msgExists, head.Article.ID, head.Latest, head.UpdatedBy))
	}
	return v, err
}

func (h *Handler) updateArticle(c *gin.Context) {
	var req updateRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	id := c.Param("id")
	switch {
	case req.ID != "" && req.ID != id:
		h.writeError(c, invalid(fmt.Sprintf(msgOtherID, req.ID, id)))
		return
	case req.BaseVersion == nil || *req.BaseVersion < 0: // kb.AnyVersion would skip the check
		h.writeError(c, invalid(msgNoBase))
		return
	}
	req.ID = id
	ctx, base := c.Request.Context(), *req.BaseVersion
	head, err := h.ed.Head(ctx, id)
	if err != nil { // 404 for an article that does not exist
		h.writeError(c, err)
		return
	}
	// Without base_status (an older client) the edit is taken to start
	// from the status the article has now.
	archived := req.BaseStatus == kb.StatusArchived || req.BaseStatus == "" && head.Article.Status == kb.StatusArchived
	v, err := h.save(ctx, req.Article, who, req.Note, kb.Base{Version: base, Archived: archived})
	if errors.Is(err, kb.ErrConflict) {
		if now, herr := h.ed.Head(ctx, id); herr == nil {
			msg := fmt.Sprintf(msgStale, id, now.Latest, now.UpdatedBy, when(now.UpdatedAt), base)
			if now.Latest == base && now.Article.Status == kb.StatusArchived {
				msg = fmt.Sprintf(msgArchivedSince, id, now.StatusBy, when(now.StatusAt))
			}
			err = h.conflict(now, msg)
		}
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	h.writeSaved(c, http.StatusOK, v, head.Latest)
}

// save saves a as a new version by who if the article is still as base
// says (see kb.Base), in one step of the store, so that two editors on two
// instances cannot both save on top of the same version.
func (h *Handler) save(ctx context.Context, a kb.Article, who, note string, base kb.Base) (kb.Version, error) {
	if a.Kind == "" {
		a.Kind = kb.KindFAQ
	}
	return h.ed.SaveIf(ctx, a, who, note, base)
}

// conflict returns the 409 of a save refused because of head, which the
// answer carries as "current".
func (h *Handler) conflict(head kb.Head, msg string) *detailedError {
	return &detailedError{status: http.StatusConflict, code: apierr.CodeConflict, msg: msg, fields: gin.H{"current": summarize(head)}}
}

// versionInfo is one version in the answer of GET
// /kb/articles/:id/versions.
type versionInfo struct {
	Version   int       `json:"version"`
	Author    string    `json:"author"`
	At        time.Time `json:"at"`
	Note      string    `json:"note"`
	Published bool      `json:"published"`
}

// versionsResponse is the answer of GET /kb/articles/:id/versions.
type versionsResponse struct {
	ID               string        `json:"id"`
	Latest           int           `json:"latest"`
	PublishedVersion int           `json:"published_version"`
	Versions         []versionInfo `json:"versions"`
	// Events are the article's publishes and archives, oldest first.
	Events []kb.StatusEvent `json:"events"`
}

func (h *Handler) versions(c *gin.Context) {
	ctx, id := c.Request.Context(), c.Param("id")
	head, err := h.ed.Head(ctx, id)
	if err != nil {
		h.writeError(c, err)
		return
	}
	history, err := h.ed.History(ctx, id)
	if err != nil {
		h.writeError(c, err)
		return
	}
	events, err := h.ed.StatusLog(ctx, id)
	if err != nil {
		h.writeError(c, err)
		return
	}
	resp := versionsResponse{ID: id, Latest: head.Latest, PublishedVersion: head.Published, Versions: make([]versionInfo, len(history)),
		Events: events}
	for i, v := range history {
		resp.Versions[i] = versionInfo{Version: v.Version, Author: v.Author, At: v.At, Note: v.Note, Published: v.Version == head.Published}
	}
	c.JSON(http.StatusOK, resp)
}

func (h *Handler) version(c *gin.Context) {
	n, err := versionNumber("n", c.Param("n"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	v, err := h.ed.Version(c.Request.Context(), c.Param("id"), n)
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// diffResponse is the answer of GET /kb/articles/:id/diff.
type diffResponse struct {
	ID      string      `json:"id"`
	From    int         `json:"from"`
	To      int         `json:"to"`
	Changes []kb.Change `json:"changes"`
}

// diff compares version from with version to; to is the latest version
// and from the one before it unless the query says otherwise.
func (h *Handler) diff(c *gin.Context) {
	ctx, id := c.Request.Context(), c.Param("id")
	to, err := intQuery(c, "to", 0)
	if err != nil {
		h.writeError(c, err)
		return
	}
	from, err := intQuery(c, "from", 0)
	if err != nil {
		h.writeError(c, err)
		return
	}
	if to == 0 {
		head, err := h.ed.Head(ctx, id)
		if err != nil {
			h.writeError(c, err)
			return
		}
		to = head.Latest
	}
	if from == 0 {
		from = max(1, to-1)
	}
	changes, err := h.ed.Diff(ctx, id, from, to)
	if err != nil {
		h.writeError(c, err)
		return
	}
	if changes == nil {
		changes = []kb.Change{}
	}
	c.JSON(http.StatusOK, diffResponse{ID: id, From: from, To: to, Changes: changes})
}

// rollbackRequest is the body of POST /kb/articles/:id/rollback.
type rollbackRequest struct {
	// Version is the version whose content becomes the newest version.
	Version int `json:"version"`
}

func (h *Handler) rollback(c *gin.Context) {
	var req rollbackRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	if req.Version < 1 {
		h.writeError(c, invalid(msgNoRollbackVersion))
		return
	}
	prev := h.latest(c.Request.Context(), c.Param("id"))
	v, err := h.ed.Rollback(c.Request.Context(), c.Param("id"), req.Version, who)
	if err != nil {
		h.writeError(c, err)
		return
	}
	h.writeSaved(c, http.StatusOK, v, prev)
}

// idsRequest is the body of POST /kb/publish and POST /kb/archive.
type idsRequest struct {
	IDs []string `json:"ids"`
	// Versions, if given, maps IDs to the version the editor reviewed:
	// when an article's latest version is another, nothing is done (409).
	Versions map[string]int `json:"versions,omitempty"`
	// Statuses, if given, maps IDs to the status the editor saw: when one
	// is published or archived since, nothing is done (409), so that a
	// stale page neither brings back an archived article nor archives one
	// that went live without asking.
	Statuses map[string]kb.Status `json:"statuses,omitempty"`
}

// revisionResponse is the answer of POST /kb/publish and POST /kb/archive.
type revisionResponse struct {
	// Revision is the new publish revision.
	Revision int64    `json:"revision"`
	IDs      []string `json:"ids"`
	// Warning is set when the publish is done but the other instances
	// were not told; they catch up within kb.DefaultPoll.
	Warning string `json:"warning,omitempty"`
}

func (h *Handler) publish(c *gin.Context) { h.setStatus(c, h.ed.PublishIf) }

func (h *Handler) archive(c *gin.Context) { h.setStatus(c, h.ed.ArchiveIf) }

// setStatus publishes or archives the articles of the request with apply.
func (h *Handler) setStatus(c *gin.Context, apply func(context.Context, []string, map[string]int, string) (int64, error)) {
	var req idsRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := h.notAsSeen(ctx, req); err != nil {
		h.writeError(c, err)
		return
	}
	rev, err := apply(ctx, req.IDs, req.Versions, who)
	resp := revisionResponse{Revision: rev, IDs: req.IDs}
	switch {
	case errors.Is(err, kb.ErrNotNotified): // done; only the notification failed
		h.log.WarnContext(ctx, "kb: publish notification failed", "revision", rev, "err", err)
		resp.Warning = msgNotNotified
	case errors.Is(err, kb.ErrConflict): // saved between the check and the publish
		if moved := h.notAsSeen(ctx, req); moved != nil {
			err = moved
		}
		h.writeError(c, err)
		return
	case err != nil:
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, resp)
}

// notAsSeen returns the 409 of a publish or archive of req refused because
// articles moved on since the editor's page showed them — saved since
// (Versions), or published or archived since (Statuses) — or nil when none
// did. The answer carries the first one's state as "current" and every such
// article's ID as "stale", so that a page can let go of them all at once.
func (h *Handler) notAsSeen(ctx context.Context, req idsRequest) error {
	var first *detailedError
	stale := []string{}
	checked := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		status, hasStatus := req.Statuses[id]
		version, hasVersion := req.Versions[id]
		if checked[id] || !hasStatus && !hasVersion {
			continue // nothing to compare
		}
		checked[id] = true
		head, err := h.ed.Head(ctx, id)
		if errors.Is(err, kb.ErrNotFound) {
			continue // the publish's own error
		}
		if err != nil {
			return err
		}
		var msg string
		switch {
		case hasStatus && head.Article.Status != status:
			msg = fmt.Sprintf(msgStatusSince, id, head.StatusBy, when(head.StatusAt), statusNames[head.Article.Status])
		case hasVersion && head.Latest != version:
			msg = fmt.Sprintf(msgMovedOn, id, head.Latest, head.UpdatedBy, when(head.UpdatedAt), version)
		default:
			continue
		}
		stale = append(stale, id)
		if first == nil {
			first = h.conflict(head, msg)
		}
	}
	if first == nil {
		return nil
	}
	first.fields["stale"] = stale
	return first
}

// when formats a time for a message: the server's local time, as people
// there read clocks, with its zone (the page shows the reader's own time
// beside it, from the JSON).
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

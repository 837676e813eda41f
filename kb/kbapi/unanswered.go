package kbapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// unansweredGroup is one group of the unanswered queue.
type unansweredGroup struct {
	// ID names the group for dismiss, resolve and article while its
	// leading text stays the same.
	ID string `json:"id"`
	// Text is the leading text, the one asked most often.
	Text string `json:"text"`
	// Count is how often the group's texts were asked; Failed and Handoff
	// split it by what happened.
	Count     int       `json:"count"`
	Failed    int       `json:"failed"`
	Handoff   int       `json:"handoff"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Samples are some of its texts, the most frequent first; Distinct
	// counts them all.
	Samples  []string `json:"samples"`
	Distinct int      `json:"distinct"`
	// Candidate is the best article the matcher found, null when none.
	Candidate *candidate `json:"candidate"`
}

// candidate is an article the matcher found for an unanswered question,
// below the threshold.
type candidate struct {
	ArticleID string  `json:"article_id"`
	Title     string  `json:"title"`
	Score     float64 `json:"score"`
}

func (h *Handler) unanswered(c *gin.Context) {
	ctx := c.Request.Context()
	groups, err := h.ed.UnansweredGroups(ctx)
	if err != nil {
		h.writeError(c, err)
		return
	}
	heads, err := h.ed.Heads(ctx)
	if err != nil {
		h.writeError(c, err)
		return
	}
	titles := make(map[string]string, len(heads))
	for _, hd := range heads {
		titles[hd.Article.ID] = hd.Article.Title
	}
	list := make([]unansweredGroup, len(groups))
	for i, g := range groups {
		list[i] = unansweredGroup{ID: g.ID, Text: g.Text, Count: g.Count, Failed: g.Failed, Handoff: g.Handoff,
			FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Samples: g.Samples, Distinct: len(g.Texts)}
		if g.ArticleID != "" {
			list[i].Candidate = &candidate{ArticleID: g.ArticleID, Title: titles[g.ArticleID], Score: g.Score}
		}
	}
	c.JSON(http.StatusOK, list)
}

func (h *Handler) dismiss(c *gin.Context) {
	if err := h.ed.DismissUnanswered(c.Request.Context(), c.Param("id")); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// resolveRequest is the body of POST /kb/unanswered/:id/resolve.
type resolveRequest struct {
	// ArticleID is the article that answers the group's questions.
	ArticleID string `json:"article_id"`
	// Text is the similar question to add; empty adds the group's
	// leading text.
	Text string `json:"text"`
}

// resolve adds a similar question to an article, as a new draft version,
// and takes the group off the queue.
func (h *Handler) resolve(c *gin.Context) {
	var req resolveRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	if strings.TrimSpace(req.ArticleID) == "" {
		h.writeError(c, invalid(msgNoArticleID))
		return
	}
	prev := h.latest(c.Request.Context(), req.ArticleID)
	v, err := h.ed.ResolveUnanswered(c.Request.Context(), c.Param("id"), req.ArticleID, req.Text, who)
	if errors.Is(err, kb.ErrNotFound) && prev > 0 { // the article exists: the group is what is gone
		err = apierr.New(http.StatusNotFound, apierr.CodeNotFound, msgGroupGone)
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	h.writeSaved(c, http.StatusOK, v, prev) // unchanged: the article had the question already
}

// articleFromUnanswered starts a new draft article from a group (its
// question defaults to the group's leading text) and takes the group off
// the queue.
func (h *Handler) articleFromUnanswered(c *gin.Context) {
	var req saveRequest
	who, ok := h.begin(c, &req)
	if !ok {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	groups, err := h.ed.UnansweredGroups(ctx)
	if err != nil {
		h.writeError(c, err)
		return
	}
	var text string
	for _, g := range groups {
		if g.ID == id {
			text = g.Text
		}
	}
	// A group dismissed or resolved by someone else meanwhile: the
	// article the editor wrote is still saved, with the question typed.
	if text == "" && strings.TrimSpace(req.Question) == "" {
		h.writeError(c, apierr.New(http.StatusNotFound, apierr.CodeNotFound, msgGroupGone))
		return
	}
	if strings.TrimSpace(req.Question) == "" {
		req.Question = text
	}
	if req.Note == "" && text != "" {
		req.Note = noteUnanswered + text
	}
	v, err := h.create(ctx, req.Article, who, req.Note)
	if err != nil {
		h.writeError(c, err)
		return
	}
	// The group may have changed since; then it stays for the editor to see.
	if err := h.ed.DismissUnanswered(ctx, id); err != nil && !errors.Is(err, kb.ErrNotFound) {
		h.writeError(c, err)
		return
	}
	h.writeSaved(c, http.StatusCreated, v, 0)
}

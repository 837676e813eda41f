package handoffapi

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/kb"
)

// MaxCanned is the most canned replies GET /canned answers.
const MaxCanned = 10

// maxCannedQuery bounds the query of GET /canned, in bytes.
const maxCannedQuery = 512

// Articles finds up to k published articles for query, best first; an
// empty query lists some. CannedArticles makes one.
type Articles func(ctx context.Context, query string, k int) ([]kb.Article, error)

// CannedArticles returns the Articles of the live knowledge base: a query
// is searched in index() (the index the bot answers from); an empty query
// lists the first published articles by category and title.
func CannedArticles(index func() *kb.Index, published func(ctx context.Context) ([]kb.Article, int64, error)) Articles {
	return func(ctx context.Context, query string, k int) ([]kb.Article, error) {
		if strings.TrimSpace(query) != "" {
			ix := index()
			if ix == nil {
				return nil, nil
			}
			var out []kb.Article
			for _, m := range ix.Search(query, k) {
				out = append(out, *m.Article)
			}
			return out, nil
		}
		all, _, err := published(ctx)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(all, func(a, b kb.Article) int {
			return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Title, b.Title), cmp.Compare(a.ID, b.ID))
		})
		return all[:min(k, len(all))], nil
	}
}

// cannedView is one canned reply of GET /canned.
type cannedView struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
	Question  string `json:"question"`
	Answer    string `json:"answer"`
	AnswerEN  string `json:"answer_en"`
}

func (h *Handler) canned(c *gin.Context) {
	if _, ok := h.begin(c, nil); !ok {
		return
	}
	q := c.Query("q")
	if len(q) > maxCannedQuery {
		h.writeError(c, invalid(msgQueryTooLong))
		return
	}
	out := []cannedView{}
	if h.articles != nil {
		found, err := h.articles(c.Request.Context(), q, MaxCanned)
		if err != nil {
			h.writeError(c, err)
			return
		}
		for _, a := range found[:min(MaxCanned, len(found))] {
			out = append(out, cannedView{ArticleID: a.ID, Title: a.Title, Question: a.Question, Answer: a.Answer, AnswerEN: a.AnswerEN})
		}
	}
	c.JSON(http.StatusOK, out)
}

// directoryEntry is one agent of GET /agents/directory.
type directoryEntry struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Lanes  []string `json:"lanes"`
	Online bool     `json:"online"`
}

// directory answers the enabled accounts that take tickets (they serve,
// and their capacity is above 0), by username, with the lanes they serve
// (an admin's: every lane) and whether they have a panel open.
func (h *Handler) directory(c *gin.Context) {
	if _, ok := h.begin(c, nil); !ok {
		return
	}
	if h.accounts == nil {
		h.writeError(c, fail(http.StatusServiceUnavailable, CodeNotConfigured, msgNoAccounts))
		return
	}
	ctx := c.Request.Context()
	accs, err := h.accounts.Accounts(ctx)
	if err != nil {
		h.writeError(c, err)
		return
	}
	online := map[string]bool{}
	if h.presence != nil {
		ids, err := h.presence.OnlineAgents(ctx)
		if err != nil {
			h.log.Warn("presence unavailable: directory shows everyone offline", "err", err)
		}
		for _, id := range ids {
			online[id] = true
		}
	}
	out := []directoryEntry{}
	for _, acc := range accs {
		if !acc.Can(auth.PermServe) || roomFor(agentOf(acc)) != nil {
			continue
		}
		a := h.callerOf(acc).agent
		if a.Lanes == nil {
			a.Lanes = []string{}
		}
		out = append(out, directoryEntry{ID: a.ID, Name: a.Name, Lanes: a.Lanes, Online: online[a.ID]})
	}
	c.JSON(http.StatusOK, out)
}

package kbapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/kb"
)

// maxListLimit is the most articles a page of the list holds.
const maxListLimit = 1000

// The headers of GET /kb/articles: how many articles match the filters
// (the page holds at most limit of them), and how many of those have a
// draft waiting for a publish.
const (
	headerTotal   = "X-Total-Count"
	headerPending = "X-Pending-Count"
)

// statusPending filters the list to the published articles whose newer
// draft waits for a publish.
const statusPending kb.Status = "pending"

// listOrder returns the order of the list named name (sort=NAME, or
// -NAME for the reverse), and whether there is one; ties go by ID, A to Z
// either way.
func listOrder(name string) (func(a, b kb.Head) int, bool) {
	switch name {
	case "id":
		return func(a, b kb.Head) int { return cmp.Compare(a.Article.ID, b.Article.ID) }, true
	case "category":
		return func(a, b kb.Head) int { return cmp.Compare(a.Article.Category, b.Article.Category) }, true
	case "status":
		return func(a, b kb.Head) int { return cmp.Compare(statusRank(a), statusRank(b)) }, true
	case "version":
		return func(a, b kb.Head) int { return cmp.Compare(a.Latest, b.Latest) }, true
	case "updated":
		return func(a, b kb.Head) int { return a.UpdatedAt.Compare(b.UpdatedAt) }, true
	}
	return nil, false
}

// statusRank orders statuses as an editor works through them: drafts,
// published articles with a draft waiting, published, archived.
func statusRank(h kb.Head) int {
	switch {
	case h.Article.Status == kb.StatusDraft:
		return 0
	case h.Pending():
		return 1
	case h.Article.Status == kb.StatusPublished:
		return 2
	}
	return 3
}

// listQuery is what GET /kb/articles asks for.
type listQuery struct {
	status   kb.Status
	category string
	terms    []string // lower case; each must be somewhere in the article
	order    func(a, b kb.Head) int
	desc     bool
	limit    int // 0: all
	offset   int
}

// parseListQuery reads the list's query parameters.
func parseListQuery(c *gin.Context) (listQuery, error) {
	q := listQuery{status: kb.Status(c.Query("status")), category: c.Query("category"),
		terms: strings.Fields(strings.ToLower(c.Query("q")))}
	switch q.status {
	case "", kb.StatusDraft, kb.StatusPublished, kb.StatusArchived, statusPending:
	default:
		return q, invalid(msgBadStatus + strconv.Quote(string(q.status)))
	}
	sort := cmp.Or(c.Query("sort"), "id")
	name, desc := strings.CutPrefix(sort, "-")
	order, ok := listOrder(name)
	if !ok {
		return q, invalid(msgBadSort + strconv.Quote(sort))
	}
	q.order, q.desc = order, desc
	var err error
	if q.limit, err = queryInt(c, "limit", 1, maxListLimit); err != nil {
		return q, err
	}
	q.offset, err = queryInt(c, "offset", 0, -1)
	return q, err
}

// queryInt returns the query parameter name as a whole number from lo to
// hi (hi < 0: no upper bound); absent or empty is 0.
func queryInt(c *gin.Context, name string, lo, hi int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || hi >= 0 && n > hi {
		bound := fmt.Sprintf("≥ %d", lo)
		if hi >= 0 {
			bound = fmt.Sprintf("%d–%d", lo, hi)
		}
		return 0, invalid(fmt.Sprintf(msgBadCount, name, bound, strconv.Quote(s)))
	}
	return n, nil
}

// matches reports whether article h passes the query's filters.
func (q listQuery) matches(h kb.Head) bool {
	a := h.Article
	switch {
	case q.status == statusPending && !h.Pending(),
		q.status != statusPending && q.status != "" && a.Status != q.status,
		q.category != "" && a.Category != q.category:
		return false
	}
	return mentionsAll(a, q.terms)
}

// listArticles answers the articles that match the filters, in the order
// asked, a page of them when limit is given (none past the end); the
// headers count them all.
func (h *Handler) listArticles(c *gin.Context) {
	q, err := parseListQuery(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	heads, err := h.ed.Heads(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	heads = slices.DeleteFunc(heads, func(hd kb.Head) bool { return !q.matches(hd) })
	pending := 0
	for _, hd := range heads {
		if hd.Pending() {
			pending++
		}
	}
	slices.SortFunc(heads, func(a, b kb.Head) int {
		o := q.order(a, b)
		if q.desc {
			o = -o
		}
		return cmp.Or(o, cmp.Compare(a.Article.ID, b.Article.ID))
	})
	c.Header(headerTotal, strconv.Itoa(len(heads)))
	c.Header(headerPending, strconv.Itoa(pending))
	heads = heads[min(q.offset, len(heads)):]
	if q.limit > 0 {
		heads = heads[:min(q.limit, len(heads))]
	}
	list := make([]summary, len(heads))
	for i, hd := range heads {
		list[i] = summarize(hd)
	}
	c.JSON(http.StatusOK, list)
}

// mentionsAll reports whether every term (lower case) is in some text of
// a: 红包 退款 finds 红包怎么退款.
func mentionsAll(a kb.Article, terms []string) bool {
	if len(terms) == 0 {
		return true
	}
	texts := append([]string{a.ID, a.Title, a.Answer, a.AnswerEN, a.Category}, a.Questions()...)
	texts = append(texts, a.Tags...)
	for i, s := range texts {
		texts[i] = strings.ToLower(s)
	}
	for _, term := range terms {
		if !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, term) }) {
			return false
		}
	}
	return true
}

// categoryCount is an entry of GET /kb/categories.
type categoryCount struct {
	Category string `json:"category"`
	Articles int    `json:"articles"`
}

// categories answers the categories in use, by name, with how many
// articles (archived ones too) are in each.
func (h *Handler) categories(c *gin.Context) {
	heads, err := h.ed.Heads(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	counts := map[string]int{}
	for _, hd := range heads {
		if cat := hd.Article.Category; cat != "" {
			counts[cat]++
		}
	}
	list := make([]categoryCount, 0, len(counts))
	for cat, n := range counts {
		list = append(list, categoryCount{cat, n})
	}
	slices.SortFunc(list, func(a, b categoryCount) int { return cmp.Compare(a.Category, b.Category) })
	c.JSON(http.StatusOK, list)
}

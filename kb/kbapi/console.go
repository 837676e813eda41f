package kbapi

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// What POST /kb/test asks.
const (
	// AgainstPublished asks the live router, as the bot would answer now.
	AgainstPublished = "published"
	// AgainstDraft asks an index of the current drafts of every article
	// that is not archived, as if they were all published.
	AgainstDraft = "draft"
)

// testRequest is the body of POST /kb/test.
type testRequest struct {
	Question string `json:"question"`
	// Against is AgainstPublished (the default) or AgainstDraft.
	Against string `json:"against"`
}

// testResponse is the answer of POST /kb/test.
type testResponse struct {
	Against   string   `json:"against"`
	Threshold float64  `json:"threshold"`
	Decision  decision `json:"decision"`
	// Matches are the best knowledge-base matches, best first, at most
	// intents.MatchCandidates.
	Matches []match `json:"matches"`
	// Approximate says that the drafts changed moments ago and their
	// classifier is still training (a large knowledge base takes seconds):
	// the scores are those of the patched index (see kb.Index.Patched).
	Approximate bool `json:"approximate,omitempty"`
}

// decision is what the bot would do with the question.
type decision struct {
	// Kind is answer, boundary, urgent, fallback (a failed turn), or for
	// the published knowledge base also user_request, not_helpful,
	// greeting or thanks.
	Kind intents.Kind `json:"kind"`
	// ArticleID, Title and Answer are the article the bot answers with
	// (for fallback: its best, unconfident candidate), in the language it
	// would answer in.
	ArticleID string `json:"article_id,omitempty"`
	Title     string `json:"title,omitempty"`
	Answer    string `json:"answer,omitempty"`
	// Lane is where an urgent question is queued; Rule the urgent rule
	// that matched ("kb:<id>" for an article with a handoff lane) and
	// Offer what the bot does first.
	Lane string `json:"lane,omitempty"`
	// LaneUnconfigured says Lane is not a configured lane (an article
	// saved before it was removed from kefu.yaml): the bot hands off in
	// its default lane instead.
	LaneUnconfigured bool `json:"lane_unconfigured,omitempty"`
	// LaneTitle is the configured lane's title, for people.
	LaneTitle string `json:"lane_title,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Offer     string `json:"offer,omitempty"`
	// Flow is the self-service flow the bot starts (start_flow) or offers
	// under the answer.
	Flow  string  `json:"flow,omitempty"`
	Score float64 `json:"score"`
}

// match is one knowledge-base match.
type match struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
	// Question is the article's question that matched best.
	Question string  `json:"question"`
	Score    float64 `json:"score"`
}

func (h *Handler) test(c *gin.Context) {
	var req testRequest
	if !h.decode(c, &req) {
		return
	}
	q := strings.TrimSpace(req.Question)
	if q == "" {
		h.writeError(c, invalid(msgNoQuestion))
		return
	}
	if req.Against == "" {
		req.Against = AgainstPublished
	}
	router := h.router()
	if router == nil {
		h.writeError(c, apierr.New(http.StatusServiceUnavailable, CodeNotReady, msgNoRouter))
		return
	}
	resp := testResponse{Against: req.Against, Threshold: router.Threshold(), Matches: []match{}}
	if h.threshold != nil {
		if t := h.threshold(); t > 0 {
			resp.Threshold = t
		}
	}
	var (
		found []kb.Match
		d     intents.Decision
	)
	switch req.Against {
	case AgainstPublished:
		if ix := router.Index(); ix != nil {
			found = ix.Search(q, intents.MatchCandidates)
		}
		d = router.Route(q)
	case AgainstDraft:
		heads, err := h.ed.Heads(c.Request.Context())
		if err != nil {
			h.writeError(c, err)
			return
		}
		var ix *kb.Index
		ix, resp.Approximate = h.drafts.get(heads)
		found = ix.Search(q, intents.MatchCandidates)
		// The urgent rules run first on every message, whatever the KB.
		var urgent bool
		if d, urgent = router.CheckUrgent(q); !urgent {
			d = intents.NewMatchPolicy(resp.Threshold, 0, 0).Decide(found)
			d.English = kb.DetectEnglish(intents.Normalize(q))
		}
	default:
		h.writeError(c, invalid(msgBadAgainst))
		return
	}
	resp.Decision = decision{Kind: d.Kind, Lane: d.Lane, Rule: d.Rule, Offer: d.Offer, Score: d.Score, Flow: d.Flow}
	if d.Lane != "" {
		var configured bool
		resp.Decision.LaneTitle, configured = h.lane(d.Lane)
		resp.Decision.LaneUnconfigured = !configured
	}
	if a := d.Article; a != nil {
		resp.Decision.ArticleID, resp.Decision.Title, resp.Decision.Answer = a.ID, a.Title, a.Answer
		if (d.Kind == intents.Answer || d.Kind == intents.Boundary) && a.Flow != "" && h.offers(a.Flow) {
			resp.Decision.Flow = a.Flow
		}
		if d.English && a.AnswerEN != "" {
			resp.Decision.Answer = a.AnswerEN
		}
	}
	for _, m := range found {
		resp.Matches = append(resp.Matches, match{ArticleID: m.Article.ID, Title: m.Article.Title, Question: m.Question, Score: m.Score})
	}
	c.JSON(http.StatusOK, resp)
}

// draftIndex keeps the index of the drafts that the test console last
// asked, so that repeated tests do not rebuild it, and patches in the
// drafts saved since at once while their full index trains. It is keyed by
// the articles' latest versions and statuses as the store reports them, so
// a draft saved by another instance, or by kefu kb import, is seen too.
type draftIndex struct {
	mu   sync.Mutex
	key  [sha256.Size]byte
	live *kb.LiveIndex
}

// get returns the index of the latest versions of the articles of heads
// that are not archived, updated only when they changed, and whether it
// is approximate (see kb.LiveIndex.Current).
func (d *draftIndex) get(heads []kb.Head) (*kb.Index, bool) {
	sum := sha256.New()
	var buf []byte
	for _, h := range heads {
		buf = append(buf[:0], h.Article.ID...)
		buf = append(buf, 0)
		buf = binary.AppendVarint(buf, int64(h.Latest))
		buf = binary.AppendVarint(buf, h.UpdatedAt.UnixMicro())
		buf = append(buf, h.Article.Status...)
		buf = append(buf, 0)
		sum.Write(buf)
	}
	var key [sha256.Size]byte
	sum.Sum(key[:0])

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live == nil {
		d.live = kb.NewLiveIndex(nil, nil)
	} else if key == d.key {
		return d.live.Current()
	}
	articles := make([]kb.Article, 0, len(heads))
	for _, h := range heads {
		if h.Article.Status == kb.StatusArchived {
			continue
		}
		a := h.Article
		a.Status = kb.StatusPublished // what NewIndex indexes
		articles = append(articles, a)
	}
	d.live.Update(articles)
	d.key = key
	return d.live.Current()
}

// lane returns the title of a lane and whether it is configured; with no
// Choices to ask, every lane is, untitled.
func (h *Handler) lane(name string) (title string, configured bool) {
	if h.choices == nil {
		return "", true
	}
	c, ok := choice(h.choices().Lanes, name)
	return c.Title, ok
}

// offers reports whether flow exists, so that the bot offers it under an
// answer; with no Choices to ask, every flow does.
func (h *Handler) offers(flow string) bool {
	if h.choices == nil {
		return true
	}
	_, ok := choice(h.choices().Flows, flow)
	return ok
}

// choice returns the one of choices named name, if any.
func choice(choices []Choice, name string) (Choice, bool) {
	i := slices.IndexFunc(choices, func(c Choice) bool { return c.Name == name })
	if i < 0 {
		return Choice{}, false
	}
	return choices[i], true
}

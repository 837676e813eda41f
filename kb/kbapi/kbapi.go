// Package kbapi serves the editorial side of the knowledge base over HTTP
// with Gin: articles and their versions, publishing, the test console, the
// unanswered queue, and import and export. The domain lives in kb; each
// handler here decodes, calls a kb.Editor and answers, in the error shape of
// internal/apierr.
package kbapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// CodeRejected is the error code of an import refused for its rejected
// rows (422).
const CodeRejected = "rejected"

// CodeNotReady is the error code of a test against the published
// knowledge base before the live router exists (503).
const CodeNotReady = "not_ready"

// MaxImportSize bounds the body of POST /kb/import, in bytes.
const MaxImportSize = 8 << 20

// maxBody bounds the JSON bodies of the other routes.
const maxBody = 1 << 20

// Options configure a Handler.
type Options struct {
	// Editor is the knowledge base's editorial side; required.
	Editor *kb.Editor
	// Router returns the live router, the one the bot answers with: the
	// test console asks it about the published knowledge base. Required.
	Router func() *intents.Router
	// Threshold returns the answer threshold the test console shows and
	// decides drafts with; nil, or a result of 0, uses the live router's.
	Threshold func() float64
	// Logger receives server faults (error) and failed publish
	// notifications (warn); nil logs nothing.
	Logger *slog.Logger
	// Choices returns what an article may name outside the knowledge base:
	// the configured lanes and the existing flows, offered by the editor's
	// page. nil offers none.
	Choices func() Choices
}

// Choices are the lanes and flows an article may name.
type Choices struct {
	Lanes []Choice `json:"lanes"`
	Flows []Choice `json:"flows"`
}

// Choice is one lane or flow: its name and its title.
type Choice struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// Handler serves the knowledge-base routes; create it with New and mount
// it with Register.
type Handler struct {
	ed        *kb.Editor
	router    func() *intents.Router
	threshold func() float64
	choices   func() Choices
	log       *slog.Logger
	drafts    draftIndex
}

// New returns a Handler over opts.Editor.
func New(opts Options) (*Handler, error) {
	if opts.Editor == nil {
		return nil, errors.New("kbapi: an editor is required")
	}
	if opts.Router == nil {
		return nil, errors.New("kbapi: the live router is required")
	}
	h := &Handler{ed: opts.Editor, router: opts.Router, threshold: opts.Threshold, choices: opts.Choices, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Register mounts the routes on r, normally the /api/v1 group behind
// ginauth's Authenticate and Require(auth.PermEditKB):
//
//	GET  /kb/articles                  ?status=&category=&q=&sort=&limit=&offset= → the articles' editorial state; X-Total-Count, X-Pending-Count
//	GET  /kb/categories                the categories in use, with their article counts
//	POST /kb/articles                  {article…, note} → 201, version 1; 409 when the ID exists
//	GET  /kb/articles/:id              its state, current draft and published version
//	PUT  /kb/articles/:id              {article…, note, base_version} → the new version; 409 when base_version is not the latest
//	GET  /kb/articles/:id/versions     who saved each version, when, why
//	GET  /kb/articles/:id/versions/:n  one version
//	GET  /kb/articles/:id/diff         ?from=&to= → the fields that changed
//	POST /kb/articles/:id/rollback     {version} → a new version with that version's content
//	POST /kb/publish                   {ids, versions?} → the new publish revision; 409 when an article is past its version
//	POST /kb/archive                   {ids, versions?} → the new publish revision; 409 likewise
//	POST /kb/test                      {question, against: published|draft} → threshold, decision, top matches
//	GET  /kb/unanswered                the unanswered queue, grouped
//	POST /kb/unanswered/:id/dismiss    → 204
//	POST /kb/unanswered/:id/resolve    {article_id, text} → the article's new draft version
//	POST /kb/unanswered/:id/article    {article…, note} → 201, a new draft article
//	GET  /kb/export                    ?format=json|csv → the file
//	POST /kb/import                    ?format=&dry_run=&publish=&allow_rejected=&expect=, the file as the body → the plan or the result; 409 when expect is not the plan's token
func (h *Handler) Register(r gin.IRouter) {
	g := r.Group("/kb")
	g.GET("/articles", h.listArticles)
	g.GET("/categories", h.categories)
	g.POST("/articles", h.createArticle)
	g.GET("/articles/:id", h.article)
	g.PUT("/articles/:id", h.updateArticle)
	g.GET("/articles/:id/versions", h.versions)
	g.GET("/articles/:id/versions/:n", h.version)
	g.GET("/articles/:id/diff", h.diff)
	g.POST("/articles/:id/rollback", h.rollback)
	g.POST("/publish", h.publish)
	g.POST("/archive", h.archive)
	g.POST("/test", h.test)
	g.GET("/unanswered", h.unanswered)
	g.POST("/unanswered/:id/dismiss", h.dismiss)
	g.POST("/unanswered/:id/resolve", h.resolve)
	g.POST("/unanswered/:id/article", h.articleFromUnanswered)
	g.GET("/export", h.export)
	g.POST("/import", h.importFile)
	g.GET("/choices", h.listChoices)
}

// listChoices answers the lanes and flows an article may name.
func (h *Handler) listChoices(c *gin.Context) {
	out := Choices{Lanes: []Choice{}, Flows: []Choice{}}
	if h.choices != nil {
		out = h.choices()
	}
	c.JSON(http.StatusOK, out)
}

// codes map kb's errors to statuses.
var codes = []apierr.Code{
	{Err: kb.ErrNotFound, Status: http.StatusNotFound, Code: apierr.CodeNotFound},
	{Err: kb.ErrRejected, Status: http.StatusUnprocessableEntity, Code: CodeRejected},
	{Err: kb.ErrStalePlan, Status: http.StatusConflict, Code: apierr.CodeConflict},
	{Err: kb.ErrConflict, Status: http.StatusConflict, Code: apierr.CodeConflict},
	{Err: kb.ErrInvalid, Status: http.StatusBadRequest, Code: apierr.CodeInvalid},
}

// writeError answers err; only server faults are logged.
func (h *Handler) writeError(c *gin.Context, err error) {
	var d *detailedError
	if errors.As(err, &d) {
		body := gin.H{"error": apierr.Detail{Code: d.code, Message: d.msg}}
		for k, v := range d.fields {
			body[k] = v
		}
		c.AbortWithStatusJSON(d.status, body)
		return
	}
	apierr.Write(c, h.log, err, codes...)
}

// detailedError is an error answered with more than its message: the body
// is the usual {"error":{code,message}} and fields beside it, such as the
// current state of an article a save conflicts with.
type detailedError struct {
	status    int
	code, msg string
	fields    gin.H
}

// Error returns the message.
func (e *detailedError) Error() string { return e.msg }

// invalid returns the 400 error of a request that breaks a rule.
func invalid(msg string) error {
	return apierr.New(http.StatusBadRequest, apierr.CodeInvalid, msg)
}

// decode reads the JSON body of the request into v, answering the error
// when it cannot.
func (h *Handler) decode(c *gin.Context, v any) bool {
	if err := apierr.DecodeRequest(c.Request, maxBody, v); err != nil {
		h.writeError(c, err)
		return false
	}
	return true
}

// begin starts a write: it reads the JSON body of the request into v and
// returns the author, answering the error when either fails.
func (h *Handler) begin(c *gin.Context, v any) (string, bool) {
	if !h.decode(c, v) {
		return "", false
	}
	return author(c)
}

// author returns the username of the signed-in caller, whom every write
// is recorded under, answering 401 when there is none.
func author(c *gin.Context) (string, bool) {
	a, ok := ginauth.AccountFrom(c)
	if !ok || a.Username == "" {
		apierr.Abort(c, http.StatusUnauthorized, apierr.CodeUnauthenticated, msgSignIn)
		return "", false
	}
	return a.Username, true
}

// intQuery returns the query parameter name as a number of at least 1, or
// def when it is absent.
func intQuery(c *gin.Context, name string, def int) (int, error) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return def, nil
	}
	return versionNumber(name, s)
}

// versionNumber parses s, the value of name, as a version number.
func versionNumber(name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, invalid(name + msgNotVersion + strconv.Quote(s))
	}
	return n, nil
}

// boolQuery returns the query parameter name as a flag (1/0, true/false);
// absent is false.
func boolQuery(c *gin.Context, name string) (bool, error) {
	s := c.Query(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid(name + msgNotFlag + strconv.Quote(s))
	}
	return b, nil
}

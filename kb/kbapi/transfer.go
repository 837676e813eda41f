package kbapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/kb"
)

// contentTypes are the media types an import body of each format may be
// sent as; application/octet-stream goes for both. CSV has several, as
// browsers and spreadsheet programs name it differently.
var contentTypes = map[kb.Format][]string{
	kb.FormatJSON: {"application/json"},
	kb.FormatCSV:  {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"},
}

// fileTypes are the media types export answers with.
var fileTypes = map[kb.Format]string{
	kb.FormatJSON: "application/json; charset=utf-8",
	kb.FormatCSV:  "text/csv; charset=utf-8",
}

// format returns the format the query names, json when it names none.
func format(c *gin.Context) (kb.Format, error) {
	s := c.Query("format")
	if s == "" {
		return kb.FormatJSON, nil
	}
	f, err := kb.ParseFormat(s)
	if err != nil {
		return "", invalid(fmt.Sprintf(msgBadFormat, s))
	}
	return f, nil
}

func (h *Handler) export(c *gin.Context) {
	f, err := format(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	articles, err := h.ed.Export(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	var buf bytes.Buffer
	if err := kb.WriteFile(&buf, f, articles); err != nil {
		h.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="kefu-kb.%s"`, f))
	c.Data(http.StatusOK, fileTypes[f], buf.Bytes())
}

// importFlags are the query flags of POST /kb/import.
type importFlags struct {
	format                         kb.Format
	dryRun, publish, allowRejected bool
	expect                         string // the token of the dry run reviewed
}

// readImportFlags reads the query of an import; the format defaults to the
// one the Content-Type names. A Content-Type that does not fit the format
// is a 415.
func readImportFlags(c *gin.Context) (importFlags, error) {
	var (
		fl  importFlags
		err error
	)
	for _, b := range []struct {
		name string
		v    *bool
	}{{"dry_run", &fl.dryRun}, {"publish", &fl.publish}, {"allow_rejected", &fl.allowRejected}} {
		if *b.v, err = boolQuery(c, b.name); err != nil {
			return fl, err
		}
	}
	fl.expect = c.Query("expect")
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if s := c.Query("format"); s != "" {
		if fl.format, err = format(c); err != nil {
			return fl, err
		}
	} else {
		for f, types := range contentTypes {
			if slices.Contains(types, mt) {
				fl.format = f
			}
		}
		if fl.format == "" {
			return fl, invalid(msgNoFormat)
		}
	}
	if mt != "application/octet-stream" && !slices.Contains(contentTypes[fl.format], mt) {
		return fl, apierr.New(http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia,
			fmt.Sprintf(msgImportType, fl.format, contentTypes[fl.format]))
	}
	return fl, nil
}

// planRow is one row of an import plan.
type planRow struct {
	// Row is where it stands in the file: the line a CSV record starts on
	// (the header is line 1), or the position in a JSON array, from 1.
	Row      int    `json:"row"`
	ID       string `json:"id"`
	Question string `json:"question,omitempty"`
	// Changes are what the import changes in an existing article.
	Changes []kb.Change `json:"changes,omitempty"`
	// Base is the article's latest version the report compared with, 0
	// for an added one; Archived says it was archived then.
	Base     int  `json:"base"`
	Archived bool `json:"archived,omitempty"`
}

// planResponse is the answer of POST /kb/import: what the file adds,
// changes and leaves, and the rows it rejects, with why; every row is in
// one list. Result says what was done, when the import was applied.
type planResponse struct {
	DryRun    bool           `json:"dry_run"`
	Added     []planRow      `json:"added"`
	Changed   []planRow      `json:"changed"`
	Unchanged []planRow      `json:"unchanged"`
	Rejected  []kb.Rejection `json:"rejected"`
	Publish   []string       `json:"publish"`
	Archive   []string       `json:"archive"`
	// Token is the plan's: given back as ?expect= it makes the import
	// refuse (409) if anything the dry run reported changed since.
	Token  string           `json:"token"`
	Result *kb.ImportResult `json:"result,omitempty"`
}

func planRows(items []kb.PlanItem) []planRow {
	rows := make([]planRow, len(items))
	for i, it := range items {
		rows[i] = planRow{Row: it.Row, ID: it.Article.ID, Question: it.Article.Question, Changes: it.Changes,
			Base: it.Base, Archived: it.Archived}
	}
	return rows
}

// importFile reads the body as an import file and plans it; without
// dry_run it applies the plan. With rejected rows and without
// allow_rejected it answers 422 with the plan, and applies nothing.
func (h *Handler) importFile(c *gin.Context) {
	fl, err := readImportFlags(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	who, ok := author(c)
	if !ok {
		return
	}
	if c.Request.ContentLength > MaxImportSize {
		h.writeError(c, tooLarge())
		return
	}
	data, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxImportSize+1))
	if err != nil {
		h.writeError(c, &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeBadRequest, Message: msgReadBody, Err: err})
		return
	}
	if len(data) > MaxImportSize {
		h.writeError(c, tooLarge())
		return
	}
	rows, err := kb.ReadFile(bytes.NewReader(data), fl.format)
	if err != nil {
		h.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	// The report always says what publishing would do, so that an editor
	// refused for a stale report (409) sees it whole in the new one.
	plan, err := h.ed.PlanImport(ctx, rows, true)
	if err != nil {
		h.writeError(c, err)
		return
	}
	resp := planResponse{DryRun: fl.dryRun, Added: planRows(plan.Added), Changed: planRows(plan.Changed),
		Unchanged: planRows(plan.Unchanged), Rejected: plan.Rejected, Publish: plan.Publish, Archive: plan.Archive,
		Token: plan.Token}
	if len(plan.Rejected) > 0 && !fl.allowRejected {
		h.writeError(c, &detailedError{status: http.StatusUnprocessableEntity, code: CodeRejected,
			msg: fmt.Sprintf(msgRejected, len(plan.Rejected), plan.Rejected[0]), fields: gin.H{"plan": resp}})
		return
	}
	if !fl.dryRun {
		res, err := h.ed.ApplyImport(ctx, plan, kb.ImportOptions{Author: who, Publish: fl.publish,
			AllowRejected: fl.allowRejected, Expect: fl.expect})
		switch {
		case errors.Is(err, kb.ErrStalePlan):
			h.writeError(c, &detailedError{status: http.StatusConflict, code: apierr.CodeConflict,
				msg: msgStalePlan, fields: gin.H{"plan": resp}})
			return
		case errors.Is(err, kb.ErrConflict):
			resp.Result = &res
			h.writeError(c, &detailedError{status: http.StatusConflict, code: apierr.CodeConflict,
				msg: fmt.Sprintf(msgImportConflict, res.Conflict, len(res.Saved)), fields: gin.H{"plan": resp}})
			return
		case err != nil:
			h.writeError(c, err)
			return
		}
		resp.Result = &res
	}
	c.JSON(http.StatusOK, resp)
}

func tooLarge() error {
	return apierr.New(http.StatusRequestEntityTooLarge, apierr.CodeTooLarge, fmt.Sprintf(msgTooLarge, MaxImportSize>>20))
}

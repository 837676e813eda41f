package kb

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is the format of an import or export file.
//
// JSON is an array of articles, every Article field included, as Parse
// reads it: exporting, importing and exporting again gives the same bytes.
//
// CSV is UTF-8 (a byte-order mark is written, for spreadsheet programs, and
// accepted), one article per record after a header row naming the columns:
//
//	id,question,similar,answer,answer_en,category,tags,kind,status
//
// followed by a column for each other text field of Article (title,
// handoff, and any added later), so that a CSV round trip keeps them.
// similar and tags hold lists whose items are separated by "|"; inside an
// item a literal "|" is written `\|` and a backslash `\\` (any other
// backslash stands for itself). Items are trimmed and blank ones dropped.
// On import the header may name the columns in any order and leave any out
// except question and answer. A missing or empty id is derived from the
// question (see DeriveID), a missing kind is faq and a missing status draft;
// when the article exists, a column left out (and an empty kind or status)
// keeps its current value, and so do the fields CSV has no column for.
// Records whose cells are all blank are skipped. A cell that would start a
// formula in a spreadsheet program (its first character, after any "'",
// is =, +, -, @, a tab or a carriage return) is written with one more "'"
// in front, and read back without it, so that an exported user's question
// such as =HYPERLINK(…) stays text when an editor opens the file.
type Format string

const (
	// FormatJSON is a JSON array of articles.
	FormatJSON Format = "json"
	// FormatCSV is comma-separated values with a header row.
	FormatCSV Format = "csv"
)

// ParseFormat returns the format named s ("json" or "csv", any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatJSON, FormatCSV:
		return f, nil
	}
	return "", Invalidf("不支持的格式 %q，须为 json 或 csv (unknown format %[1]q: want json or csv)", s)
}

// FormatOf returns the format of a file from its extension (.json, .csv).
func FormatOf(path string) (Format, error) {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "" {
		return "", Invalidf("%s 没有扩展名，无法判断格式：请用 .json 或 .csv，或指明格式 (%[1]s: no extension to tell the format by: want .json or .csv)", path)
	}
	return ParseFormat(ext)
}

// MaxImportRows bounds the articles one import file may hold.
const MaxImportRows = 100_000

// csvColumn is one column of the CSV format: its name (the JSON name of the
// Article field it holds) and how to read and write that field.
type csvColumn struct {
	name string
	get  func(a *Article) string
	set  func(a *Article, s string)
}

// csvColumns are the columns of the CSV format, in the order export writes
// them: the fixed ones, then one for every other text or text-list field of
// Article (see extraCSVColumns).
var csvColumns = append(fixedCSVColumns, extraCSVColumns(fixedCSVColumns)...)

// fixedCSVColumns are the columns the format documents by name.
var fixedCSVColumns = []csvColumn{
	{"id", func(a *Article) string { return a.ID }, func(a *Article, s string) { a.ID = strings.TrimSpace(s) }},
	{"question", func(a *Article) string { return a.Question }, func(a *Article, s string) { a.Question = s }},
	{"similar", func(a *Article) string { return joinList(a.Similar) }, func(a *Article, s string) { a.Similar = splitList(s) }},
	{"answer", func(a *Article) string { return a.Answer }, func(a *Article, s string) { a.Answer = s }},
	{"answer_en", func(a *Article) string { return a.AnswerEN }, func(a *Article, s string) { a.AnswerEN = s }},
	{"category", func(a *Article) string { return a.Category }, func(a *Article, s string) { a.Category = s }},
	{"tags", func(a *Article) string { return joinList(a.Tags) }, func(a *Article, s string) { a.Tags = splitList(s) }},
	{"kind", func(a *Article) string { return string(a.Kind) }, func(a *Article, s string) { a.Kind = Kind(strings.TrimSpace(s)) }},
	{"status", func(a *Article) string { return string(a.Status) }, func(a *Article, s string) { a.Status = Status(strings.TrimSpace(s)) }},
}

// extraCSVColumns returns a column for each field of Article that fixed
// lacks and that holds text or a list of text, such as title (editors
// rarely need it in a spreadsheet, but a round trip must keep it) and
// fields added to Article later, so that CSV carries them without a change
// here. Other fields are left out of CSV; an import keeps them as stored.
func extraCSVColumns(fixed []csvColumn) []csvColumn {
	var cols []csvColumn
	t := reflect.TypeFor[Article]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" || slices.ContainsFunc(fixed, func(c csvColumn) bool { return c.name == name }) {
			continue
		}
		field := func(a *Article) reflect.Value { return reflect.ValueOf(a).Elem().Field(i) }
		switch {
		case f.Type.Kind() == reflect.String:
			cols = append(cols, csvColumn{name,
				func(a *Article) string { return field(a).String() },
				func(a *Article, s string) { field(a).SetString(s) }})
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			cols = append(cols, csvColumn{name,
				func(a *Article) string { return joinList(stringList(field(a))) },
				func(a *Article, s string) {
					items := splitList(s)
					v := reflect.MakeSlice(f.Type, len(items), len(items))
					for j, item := range items {
						v.Index(j).SetString(item)
					}
					if len(items) == 0 {
						v = reflect.Zero(f.Type)
					}
					field(a).Set(v)
				}})
		}
	}
	return cols
}

// csvRequired are the columns an import's header must name.
var csvRequired = []string{"question", "answer"}

func csvColumnNamed(name string) (csvColumn, bool) {
	i := slices.IndexFunc(csvColumns, func(c csvColumn) bool { return c.name == name })
	if i < 0 {
		return csvColumn{}, false
	}
	return csvColumns[i], true
}

// joinList writes list items separated by "|", escaping "\" and "|".
func joinList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteByte('|')
		}
		for _, r := range s {
			if r == '|' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitList reads what joinList writes; items are trimmed and blank ones
// dropped. A backslash before anything but "|" or "\" stands for itself.
func splitList(s string) []string {
	var (
		items []string
		cur   strings.Builder
	)
	end := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			items = append(items, t)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\'):
			cur.WriteByte(s[i+1])
			i++
		case c == '|':
			end()
		default:
			cur.WriteByte(c)
		}
	}
	end()
	return items
}

// startsFormula reports whether a spreadsheet program would read a cell
// beginning like s as a formula.
func startsFormula(s string) bool {
	return s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0
}

// protectCell puts a "'" in front of a cell that, after its own leading
// "'"s, starts a formula; readCell takes it away again.
func protectCell(s string) string {
	if startsFormula(strings.TrimLeft(s, "'")) {
		return "'" + s
	}
	return s
}

// readCell undoes protectCell.
func readCell(s string) string {
	if strings.HasPrefix(s, "'") && startsFormula(strings.TrimLeft(s, "'")) {
		return s[1:]
	}
	return s
}

// DeriveID returns the ID an imported article without one gets: the ASCII
// words of its question joined by "-" (at most 40 bytes) and 8 hexadecimal
// digits of a hash of the question, e.g. "reset-password-1f3a9c0e", or
// "kb-1f3a9c0e" for a question without ASCII words. The same question
// always gets the same ID, so importing a file again updates the articles
// it created.
func DeriveID(question string) string {
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(question), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		words = append(words, w)
	}
	slug := strings.Join(words, "-")
	if len(slug) > 40 {
		slug = strings.TrimRight(slug[:40], "-")
	}
	if slug == "" {
		slug = "kb"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(question)))
	return slug + "-" + hex.EncodeToString(sum[:4])
}

// ImportRow is one article read from an import file, or why it was
// rejected.
type ImportRow struct {
	// Row is where it stands: the line its record starts on (CSV; the
	// header is line 1) or its 1-based position in the array (JSON).
	Row int
	// Article is the article as read, defaults filled in.
	Article Article
	// Fields are the JSON names of the fields the row gives, for merging
	// into an existing article; nil means every field (JSON).
	Fields []string
	// Err, when set, says why the row is rejected; it wraps ErrInvalid.
	Err error
}

// ReadFile reads an import file in the given format.
func ReadFile(r io.Reader, f Format) ([]ImportRow, error) {
	switch f {
	case FormatJSON:
		return ReadJSON(r)
	case FormatCSV:
		return ReadCSV(r)
	}
	return nil, fmt.Errorf("kb: unknown format %q: %w", f, ErrInvalid)
}

var bom = []byte("\uFEFF")

// ReadJSON reads a JSON array of articles. An element that is not a valid
// article, or that has a field Article does not (a misspelled "similiar"
// would lose its questions), is a rejected row; a file that is not a JSON
// array is an error. Errors wrap ErrInvalid.
func ReadJSON(r io.Reader) ([]ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("kb: read JSON: %w", err)
	}
	data = bytes.TrimLeft(bytes.TrimPrefix(data, bom), " \t\r\n")
	if len(data) == 0 || data[0] != '[' {
		return nil, Invalidf("JSON 文件须为文章的数组，以 [ 开头；CSV 文件请按 CSV 导入 (a JSON file must be an array of articles, starting with [; import a CSV file as CSV)")
	}
	var elems []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&elems); err != nil {
		return nil, Invalidf("JSON 格式错误 (malformed JSON): %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Invalidf("JSON 数组之后还有内容 (unexpected data after the array)")
	}
	if len(elems) > MaxImportRows {
		return nil, Invalidf("文件有 %d 篇文章，最多 %d 篇 (%[1]d articles, more than %[2]d)", len(elems), MaxImportRows)
	}
	rows := make([]ImportRow, 0, len(elems))
	ids := map[string]int{}
	for i, raw := range elems {
		row := ImportRow{Row: i + 1}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields() // a misspelled field would lose its text
		if err := dec.Decode(&row.Article); err != nil {
			row.Err = Invalidf("不是有效的文章 (not a valid article): %v", err)
		} else {
			row.Err = finishRow(&row, ids)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// ReadCSV reads CSV with a header row (see the package documentation of
// the format). A record that does not make a valid article is a rejected
// row; a file without the header, with an unknown column or with broken
// quoting is an error. Errors wrap ErrInvalid.
func ReadCSV(r io.Reader) ([]ImportRow, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && bytes.Equal(b, bom) {
		br.Discard(len(bom))
	}
	if head, _ := br.Peek(64); bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("[")) {
		return nil, Invalidf("这是 JSON 文件，不是 CSV：请按 JSON 导入 (this is a JSON file, not CSV: import it as JSON)")
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, Invalidf("CSV 文件为空，须有表头行，如 %s (empty file: want a header row)", csvHeader())
	}
	if err != nil {
		return nil, Invalidf("CSV 格式错误 (malformed CSV): %v", err)
	}
	cols, err := csvHeaderColumns(header)
	if err != nil {
		return nil, err
	}
	var rows []ImportRow
	ids := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, Invalidf("CSV 格式错误 (malformed CSV): %v", err) // the error names the line
		}
		line, _ := cr.FieldPos(0)
		if allBlank(rec) {
			continue
		}
		if len(rows) == MaxImportRows {
			return nil, Invalidf("文件超过 %d 篇文章 (more than %[1]d articles)", MaxImportRows)
		}
		rows = append(rows, csvRow(line, cols, rec, ids))
	}
}

// csvHeader returns the full header row.
func csvHeader() string {
	names := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		names[i] = c.name
	}
	return strings.Join(names, ",")
}

func csvHeaderColumns(header []string) ([]csvColumn, error) {
	cols := make([]csvColumn, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		c, ok := csvColumnNamed(name)
		if !ok {
			return nil, Invalidf("表头有未知的列 %q，可用的列：%s (unknown column %[1]q)", h, csvHeader())
		}
		if slices.ContainsFunc(cols[:i], func(d csvColumn) bool { return d.name == name }) {
			return nil, Invalidf("表头中 %q 列出现了两次 (column %[1]q twice)", name)
		}
		cols[i] = c
	}
	for _, name := range csvRequired {
		if !slices.ContainsFunc(cols, func(c csvColumn) bool { return c.name == name }) {
			return nil, Invalidf("表头缺少 %s 列，可用的列：%s (no %[1]s column)", name, csvHeader())
		}
	}
	return cols, nil
}

func allBlank(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// csvRow makes the article of one record.
func csvRow(line int, cols []csvColumn, rec []string, ids map[string]int) ImportRow {
	row := ImportRow{Row: line}
	if len(rec) != len(cols) {
		row.Err = Invalidf("有 %d 列，表头有 %d 列 (%[1]d fields, the header has %[2]d)", len(rec), len(cols))
		return row
	}
	for i, c := range cols {
		if !utf8.ValidString(rec[i]) {
			row.Err = Invalidf("%s 列不是有效的 UTF-8 (column %[1]s is not valid UTF-8)", c.name)
			return row
		}
		c.set(&row.Article, readCell(rec[i]))
		if (c.name == "kind" || c.name == "status" || c.name == "id") && strings.TrimSpace(rec[i]) == "" {
			continue // a default, not a value to merge
		}
		row.Fields = append(row.Fields, c.name)
	}
	if row.Fields == nil {
		row.Fields = []string{}
	}
	row.Err = finishRow(&row, ids)
	return row
}

// finishRow fills in the defaults of an imported article, validates it and
// checks that its ID is new in the file.
func finishRow(row *ImportRow, ids map[string]int) error {
	a := &row.Article
	*a = Normalize(*a)
	if a.ID == "" {
		if a.Question == "" {
			return Invalidf("标准问题为空 (question is empty)")
		}
		a.ID = DeriveID(a.Question)
	}
	if a.Kind == "" {
		a.Kind = KindFAQ
	}
	if a.Status == "" {
		a.Status = StatusDraft
	}
	if err := Validate(*a); err != nil {
		return err
	}
	if first, dup := ids[a.ID]; dup {
		return Invalidf("id %q 与第 %d 行重复 (id %[1]q is already used by row %[2]d)", a.ID, first)
	}
	ids[a.ID] = row.Row
	return nil
}

// WriteFile writes articles in the given format.
func WriteFile(w io.Writer, f Format, articles []Article) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, articles)
	case FormatCSV:
		return WriteCSV(w, articles)
	}
	return fmt.Errorf("kb: unknown format %q: %w", f, ErrInvalid)
}

// WriteJSON writes articles as an indented JSON array with every field,
// HTML characters unescaped, and a final newline.
func WriteJSON(w io.Writer, articles []Article) error {
	if articles == nil {
		articles = []Article{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(articles); err != nil {
		return fmt.Errorf("kb: write JSON: %w", err)
	}
	return nil
}

// WriteCSV writes articles as CSV: a byte-order mark, the header row, then
// one record per article.
func WriteCSV(w io.Writer, articles []Article) error {
	if _, err := w.Write(bom); err != nil {
		return fmt.Errorf("kb: write CSV: %w", err)
	}
	cw := csv.NewWriter(w)
	rec := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		rec[i] = c.name
	}
	cw.Write(rec)
	for i := range articles {
		for j, c := range csvColumns {
			rec[j] = protectCell(c.get(&articles[i]))
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("kb: write CSV: %w", err)
	}
	return nil
}

// PlanItem is one article an import would add or change, or leaves as is.
type PlanItem struct {
	// Row is the article's row in the file (see ImportRow.Row).
	Row int `json:"row"`
	// Article is the article as the import would leave it: for a CSV row,
	// the existing article with the row's columns put in.
	Article Article `json:"article"`
	// Changes are the differences of content from the current article
	// (changed items only). The status is never among them: an import
	// changes it only when publishing (see Plan.Publish).
	Changes []Change `json:"changes,omitempty"`
	// Base is the latest version of the article the plan compared with, 0
	// for an added one: ApplyImport saves only on top of it.
	Base int `json:"base"`
	// Archived says the article was archived when planned: saving it
	// restores it, as a draft (an article archived since is not saved).
	Archived bool `json:"archived,omitempty"`
}

// Rejection is a row an import refuses, and why.
type Rejection struct {
	// Row is where the row stands in the file (see ImportRow.Row).
	Row int `json:"row"`
	// ID is the article's ID, when the row got that far.
	ID string `json:"id,omitempty"`
	// Reason says what is wrong, for editors (Chinese first): Row names
	// the row.
	Reason string `json:"reason"`
}

// String is the rejection as a line of a report: the row, then the reason.
func (r Rejection) String() string {
	return fmt.Sprintf("第 %d 行 (row %[1]d)：%s", r.Row, r.Reason)
}

// Plan is what an import would do: the dry run. Nothing in the file is
// left out: every row is in exactly one of the lists.
type Plan struct {
	// Added are the articles new to the store.
	Added []PlanItem `json:"added"`
	// Changed are the existing articles the file changes.
	Changed []PlanItem `json:"changed"`
	// Unchanged are the existing articles the file leaves as they are.
	Unchanged []PlanItem `json:"unchanged"`
	// Rejected are the rows that make no valid article.
	Rejected []Rejection `json:"rejected"`
	// Publish and Archive are the articles an import that publishes would
	// publish (the file marks them published, and their latest version,
	// new or waiting, is not) and archive; empty when it does not publish.
	Publish []string `json:"publish"`
	Archive []string `json:"archive"`
	// Token sums up the plan and the state of the articles it names
	// (versions, published or archived), whether or not it publishes: a
	// dry run's token, given back as ImportOptions.Expect, makes the
	// import refuse (ErrStalePlan) if anything it reported changed since.
	Token string `json:"token"`
}

// NewPlan compares the rows of an import file with the current articles
// (as Editor.Export returns them: the latest versions, with their
// editorial status).
func NewPlan(current []Article, rows []ImportRow) Plan {
	byID := make(map[string]Article, len(current))
	for _, a := range current {
		byID[a.ID] = a
	}
	p := Plan{Added: []PlanItem{}, Changed: []PlanItem{}, Unchanged: []PlanItem{}, Rejected: []Rejection{},
		Publish: []string{}, Archive: []string{}}
	for _, row := range rows {
		if row.Err != nil {
			p.Rejected = append(p.Rejected, Rejection{Row: row.Row, ID: row.Article.ID, Reason: row.Err.Error()})
			continue
		}
		cur, ok := byID[row.Article.ID]
		if !ok {
			p.Added = append(p.Added, PlanItem{Row: row.Row, Article: row.Article})
			continue
		}
		a := mergeRow(cur, row)
		if err := Validate(a); err != nil {
			p.Rejected = append(p.Rejected, Rejection{Row: row.Row, ID: a.ID, Reason: err.Error()})
			continue
		}
		changes := slices.DeleteFunc(DiffArticles(cur, a), func(c Change) bool { return c.Field == "status" })
		item := PlanItem{Row: row.Row, Article: a, Changes: changes}
		if len(item.Changes) == 0 {
			p.Unchanged = append(p.Unchanged, item)
		} else {
			p.Changed = append(p.Changed, item)
		}
	}
	return p
}

// mergeRow puts the fields a row gives into the current article.
func mergeRow(cur Article, row ImportRow) Article {
	if row.Fields == nil {
		return row.Article
	}
	a := cur
	a.Similar, a.Tags = slices.Clone(cur.Similar), slices.Clone(cur.Tags)
	for _, name := range row.Fields {
		if c, ok := csvColumnNamed(name); ok {
			c.set(&a, c.get(&row.Article))
		}
	}
	return a
}

// ImportOptions say how ApplyImport applies a plan.
type ImportOptions struct {
	// Author is the username the new versions are saved under.
	Author string
	// Publish applies the file's statuses: articles marked published are
	// published (their latest version, new or not), those marked archived
	// are archived. A draft status never unpublishes. Without Publish every
	// change waits as a draft.
	Publish bool
	// AllowRejected applies the valid rows although some were rejected;
	// by default ApplyImport refuses with ErrRejected.
	AllowRejected bool
	// Expect, when set, is the Token of the dry run the import was
	// reviewed by: ApplyImport refuses with ErrStalePlan if the plan's
	// differs.
	Expect string
}

// ImportResult says what ApplyImport did.
type ImportResult struct {
	// Saved are the articles that got a new version.
	Saved []string `json:"saved"`
	// Published and Archived are the articles published and archived.
	Published []string `json:"published"`
	Archived  []string `json:"archived"`
	// Revision is the publish revision after the import.
	Revision int64 `json:"revision"`
	// Conflict is the article saved by someone else since the plan was
	// made, at which the import stopped (ErrConflict); empty otherwise.
	Conflict string `json:"conflict,omitempty"`
}

// errNoAuthor is returned when an author is missing.
var errNoAuthor = Invalidf("作者为空 (the author is empty)")

// importNote is the note of the versions an import saves.
const importNote = "导入"

// sealPlan sets the base version of each of p's items from heads, then
// p's token (see Plan.Token). Publish and Archive are left out of the
// token: they are the same plan, seen as publishing or not.
func sealPlan(p *Plan, heads []Head) {
	byID := headsByID(heads)
	type state struct {
		ID                string
		Latest, Published int
		Status            Status
	}
	var states []state
	for _, list := range [][]PlanItem{p.Added, p.Changed, p.Unchanged} {
		for i := range list {
			h := byID[list[i].Article.ID]
			list[i].Base, list[i].Archived = h.Latest, h.Article.Status == StatusArchived
			states = append(states, state{h.Article.ID, h.Latest, h.Published, h.Article.Status})
		}
	}
	sum := sha256.New()
	json.NewEncoder(sum).Encode(struct {
		Added, Changed, Unchanged []PlanItem
		Rejected                  []Rejection
		States                    []state
	}{p.Added, p.Changed, p.Unchanged, p.Rejected, states})
	p.Token = hex.EncodeToString(sum.Sum(nil)[:16])
}

// toSave returns the items of a plan that get a new version: the added
// ones, then the changed ones.
func toSave(p Plan) []PlanItem {
	return slices.Concat(p.Added, p.Changed)
}

// afterSave returns the heads as they will be once the plan's articles
// are saved: each saved one has a new latest version, not published, and
// is a draft (a save restores an archived article).
func afterSave(p Plan, heads []Head) []Head {
	out := slices.Clone(heads)
	at := make(map[string]int, len(out))
	for i, h := range out {
		at[h.Article.ID] = i
	}
	for _, it := range toSave(p) {
		a := it.Article
		i, ok := at[a.ID]
		if !ok {
			out = append(out, Head{Article: Article{ID: a.ID, Status: StatusDraft}})
			i = len(out) - 1
		}
		out[i].Latest++
		out[i].Article.Status = StatusDraft
	}
	return out
}

// toPublish returns the articles of a plan that the file marks published
// and whose latest version is not the published one, and those it marks
// archived that are not, given the heads after saving.
func toPublish(p Plan, heads []Head) (pub, archive []string) {
	pub, archive = []string{}, []string{}
	byID := headsByID(heads)
	for _, list := range [][]PlanItem{p.Added, p.Changed, p.Unchanged} {
		for _, it := range list {
			h, ok := byID[it.Article.ID]
			switch {
			case !ok:
			case it.Article.Status == StatusPublished && h.Published != h.Latest:
				pub = append(pub, h.Article.ID)
			case it.Article.Status == StatusArchived && h.Article.Status != StatusArchived:
				archive = append(archive, h.Article.ID)
			}
		}
	}
	return pub, archive
}

// headsByID indexes heads by their articles' IDs.
func headsByID(heads []Head) map[string]Head {
	byID := make(map[string]Head, len(heads))
	for _, h := range heads {
		byID[h.Article.ID] = h
	}
	return byID
}

// rejectedError returns the error of a plan with rejections.
func rejectedError(p Plan) error {
	if len(p.Rejected) == 0 {
		return nil
	}
	var reasons []string
	for _, r := range p.Rejected[:min(3, len(p.Rejected))] {
		reasons = append(reasons, r.String())
	}
	return fmt.Errorf("%w: %d row(s), e.g. %s", ErrRejected, len(p.Rejected), strings.Join(reasons, "; "))
}

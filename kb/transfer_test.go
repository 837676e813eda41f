package kb

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestListEscaping(t *testing.T) {
	tests := []struct {
		name  string
		items []string
		cell  string
	}{
		{"Plain", []string{"客服电话", "人工客服"}, "客服电话|人工客服"},
		{"Pipe", []string{"a|b", "c"}, `a\|b|c`},
		{"Backslash", []string{`C:\dir\`, `\|`}, `C:\\dir\\|\\\|`},
		{"None", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinList(tt.items); got != tt.cell {
				t.Errorf("joinList(%q) = %q, want %q", tt.items, got, tt.cell)
			}
			if got := splitList(tt.cell); !cmp.Equal(got, tt.items, cmpopts.EquateEmpty()) {
				t.Errorf("splitList(%q) = %q, want %q", tt.cell, got, tt.items)
			}
		})
	}
	// Read leniently: blanks dropped, items trimmed, a lone backslash kept.
	if got, want := splitList(` a || b\c |`), []string{"a", `b\c`}; !cmp.Equal(got, want) {
		t.Errorf("splitList = %q, want %q", got, want)
	}
}

func TestDeriveID(t *testing.T) {
	for _, q := range []string{"怎么联系客服", "How do I reset my password?", strings.Repeat("word ", 30), "iPhone 升级后打不开"} {
		id := DeriveID(q)
		if err := validateID(id); err != nil || len(id) > 50 {
			t.Errorf("DeriveID(%q) = %q: %v", q, id, err)
		}
		if DeriveID(q) != id {
			t.Errorf("DeriveID(%q) is not stable", q)
		}
	}
	if got := DeriveID("How do I reset my password?"); !strings.HasPrefix(got, "how-do-i-reset-my-password-") {
		t.Errorf("DeriveID of an English question = %q", got)
	}
	if got := DeriveID("怎么联系客服"); !strings.HasPrefix(got, "kb-") || DeriveID("怎么联系人工") == got {
		t.Errorf("DeriveID of Chinese questions = %q", got)
	}
}

func TestReadCSV(t *testing.T) {
	file := "\uFEFF Question ,answer,similar,tags,kind\n" +
		"怎么退款,\"第一行\n第二行，含\"\"引号\"\",逗号\",退款|退钱 \\| 多久,售后|退款,boundary\n" +
		",,,,\n" +
		"只有问题,,,,\n" +
		"q2,a2,,,\n"
	rows, err := ReadCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (the blank record skipped): %+v", len(rows), rows)
	}
	want := Article{ID: DeriveID("怎么退款"), Question: "怎么退款", Answer: "第一行\n第二行，含\"引号\",逗号",
		Similar: []string{"退款", "退钱 | 多久"}, Tags: []string{"售后", "退款"}, Kind: KindBoundary, Status: StatusDraft}
	if diff := cmp.Diff(want, rows[0].Article); diff != "" || rows[0].Err != nil || rows[0].Row != 2 {
		t.Errorf("row 2: %v (-want +got):\n%s", rows[0].Err, diff)
	}
	if want := []string{"question", "answer", "similar", "tags", "kind"}; !cmp.Equal(rows[0].Fields, want) {
		t.Errorf("Fields = %q, want %q", rows[0].Fields, want)
	}
	if rows[1].Row != 5 || !errors.Is(rows[1].Err, ErrInvalid) || !strings.Contains(rows[1].Err.Error(), "answer is empty") {
		t.Errorf("a row without an answer: row %d, %v", rows[1].Row, rows[1].Err)
	}
	if rows[2].Row != 6 || rows[2].Err != nil || rows[2].Article.Kind != KindFAQ || slices.Contains(rows[2].Fields, "kind") {
		t.Errorf("row 6 = %+v", rows[2])
	}
}

func TestReadCSVRejects(t *testing.T) {
	header := "id,question,answer,kind,status\n"
	tests := []struct {
		name, record, reason string
	}{
		{"BadKind", "a,问,答,kind-x,\n", `unknown kind "kind-x"`},
		{"BadStatus", "a,问,答,,live\n", `unknown status "live"`},
		{"EmptyQuestion", "a, ,答,,\n", "question is empty"},
		{"BadID", "a b,问,答,,\n", `id "a b" may only hold`},
		{"FieldCount", "a,问,答\n", "3 fields, the header has 5"},
		{"InvalidUTF8", "a,问\xff,答,,\n", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ReadCSV(strings.NewReader(header + "ok,好,好,,\n" + tt.record))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Err != nil {
				t.Fatalf("rows = %+v", rows)
			}
			if err := rows[1].Err; !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) || rows[1].Row != 3 {
				t.Errorf("rejection = %v, want %q at line 3", err, tt.reason)
			}
		})
	}
	t.Run("DuplicateID", func(t *testing.T) {
		rows, err := ReadCSV(strings.NewReader(header + "a,问,答,,\nb,问,答,,\na,问,答,,\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rows[2].Err; err == nil || !strings.Contains(err.Error(), `id "a" is already used by row 2`) {
			t.Errorf("duplicate = %v", err)
		}
	})
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"Empty", "", "header row"},
		{"BOMOnly", "\uFEFF", "header row"},
		{"UnknownColumn", "question,answer,colour\n", `unknown column "colour"`},
		{"Twice", "question,answer,Question\n", `column "question" twice`},
		{"NoAnswer", "id,question\n", "no answer column"},
		{"BrokenQuote", "question,answer\n\"q,a\n", "extraneous or missing"},
		{"JSON", "\uFEFF\n  [{\"question\": \"问\", \"answer\": \"答\"}]", "import it as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tt.file))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadCSV = %v, want an ErrInvalid naming %q", err, tt.want)
			}
		})
	}
}

func TestReadJSON(t *testing.T) {
	file := `[
	{"id": "a", "question": "问", "answer": "答", "kind": "faq", "status": "published"},
	{"question": "没有编号", "answer": "答"},
	{"id": "c", "question": 5},
	null,
	{"id": "a", "question": "问", "answer": "答"},
	{"id": "typo", "question": "问", "answer": "答", "similiar": ["会丢的问法"]}
]`
	rows, err := ReadJSON(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	if err := rows[5].Err; !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `unknown field "similiar"`) {
		t.Errorf("row 6 with a misspelled field: %v, want it rejected naming the field", err)
	}
	if rows[0].Err != nil || rows[0].Article.Status != StatusPublished || rows[0].Fields != nil {
		t.Errorf("row 1 = %+v", rows[0])
	}
	if a := rows[1].Article; rows[1].Err != nil || a.ID != DeriveID("没有编号") || a.Kind != KindFAQ || a.Status != StatusDraft {
		t.Errorf("row 2 = %+v", rows[1])
	}
	for i, want := range map[int]string{2: "not a valid article", 3: "question is empty", 4: `is already used by row 1`} {
		if err := rows[i].Err; !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("row %d: %v, want %q", i+1, err, want)
		}
	}
	for _, bad := range []string{"", "{}", "[", "[] []", "nul"} {
		if _, err := ReadJSON(strings.NewReader(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadJSON(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestJSONRoundTrip: export, import, export gives the same bytes, and
// every Article field is written.
func TestJSONRoundTrip(t *testing.T) {
	articles, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	full := withID(validArticle(), "full")
	full.AnswerEN, full.Tags, full.Status = "In English", []string{"x", "y|z"}, StatusArchived
	articles = append(articles, full)
	again, first := reread(t, FormatJSON, articles)
	if _, second := reread(t, FormatJSON, again); !bytes.Equal(first, second) {
		t.Errorf("the round trip changed the bytes")
	}
	for _, field := range []string{`"id"`, `"title"`, `"question"`, `"similar"`, `"answer"`, `"answer_en"`, `"category"`, `"tags"`, `"kind"`, `"status"`} {
		if !bytes.Contains(first, []byte(field)) {
			t.Errorf("export lacks %s", field)
		}
	}
	if bytes.Contains(first, []byte(`\u003c`)) {
		t.Errorf("export escapes HTML")
	}
}

// TestCSVRoundTrip: a saved (normalized) article comes back from CSV
// unchanged.
func TestCSVRoundTrip(t *testing.T) {
	articles, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	odd := Article{ID: "odd", Question: "带空格 ,\"引号\"\n换行", Similar: []string{"a|b", `c\`, "d,e", "'单引号"}, Answer: "答\n案",
		AnswerEN: "x", Category: "c", Tags: []string{`\|`}, Kind: KindBoundary, Status: StatusArchived}
	articles = append(articles, odd)
	got, written := reread(t, FormatCSV, articles)
	if !bytes.HasPrefix(written, bom) || !bytes.Contains(written, []byte("id,question,similar,answer,answer_en,category,tags,kind,status,title")) {
		t.Errorf("CSV starts %q", written[:80])
	}
	if diff := cmp.Diff(articles, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("CSV round trip (-want +got):\n%s", diff)
	}
}

// TestCSVFormulas: no cell of an export starts a spreadsheet formula, and
// the texts come back as they were, a leading "'" of their own included.
func TestCSVFormulas(t *testing.T) {
	a := Article{ID: "f", Question: `=HYPERLINK("http://evil.example","点我")`, Similar: []string{"@SUM(1,2)", "正常"},
		Answer: "+1+2", AnswerEN: "-minus", Category: "'=已是文本", Tags: []string{"'普通"}, Kind: KindFAQ, Status: StatusDraft}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []Article{a}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), bom))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, cell := range recs[1] {
		if startsFormula(cell) {
			t.Errorf("exported cell %q starts a formula", cell)
		}
	}
	rows, err := ReadCSV(&buf)
	if err != nil || len(rows) != 1 || rows[0].Err != nil {
		t.Fatalf("%v, %+v", err, rows)
	}
	if got := rows[0].Article; !reflect.DeepEqual(got, a) {
		t.Errorf("read back %+v, want %+v", got, a)
	}
}

// TestImportNormalizes: the same untidy article reads the same from JSON
// and from CSV, tidied as a save would tidy it.
func TestImportNormalizes(t *testing.T) {
	untidy := Article{ID: "untidy", Title: " 标题 ", Question: " 问题 ", Similar: []string{" 甲 ", "乙", "甲", "", "问题"},
		Answer: "第一行\r\n第二行\n", Category: " 类 ", Tags: []string{"t", " t", ""}, Kind: KindFAQ, Status: StatusDraft, Handoff: " care "}
	want := Article{ID: "untidy", Title: "标题", Question: "问题", Similar: []string{"甲", "乙"},
		Answer: "第一行\n第二行", Category: "类", Tags: []string{"t"}, Kind: KindFAQ, Status: StatusDraft, Handoff: "care"}
	if got := Normalize(untidy); !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %+v, want %+v", got, want)
	}
	for _, f := range []Format{FormatJSON, FormatCSV} {
		var buf bytes.Buffer
		if err := WriteFile(&buf, f, []Article{untidy}); err != nil {
			t.Fatal(err)
		}
		rows, err := ReadFile(&buf, f)
		if err != nil || len(rows) != 1 || rows[0].Err != nil {
			t.Fatalf("%s: %v, %+v", f, err, rows)
		}
		if got := rows[0].Article; !reflect.DeepEqual(got, want) {
			t.Errorf("%s import = %+v, want %+v", f, got, want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]Format{"kb.json": FormatJSON, "x/KB.CSV": FormatCSV} {
		if got, err := FormatOf(path); err != nil || got != want {
			t.Errorf("FormatOf(%s) = %s, %v", path, got, err)
		}
	}
	for _, path := range []string{"kb", "kb.xlsx"} {
		if _, err := FormatOf(path); !errors.Is(err, ErrInvalid) {
			t.Errorf("FormatOf(%s) = %v, want ErrInvalid", path, err)
		}
	}
}

func TestNewPlan(t *testing.T) {
	cur := validArticle()
	cur.Tags = []string{"old"}
	other := validArticle()
	other.ID = "other"
	rows := []ImportRow{
		{Row: 2, Article: Article{ID: cur.ID, Answer: "新答案", Tags: []string{"new"}}, Fields: []string{"answer", "tags"}},
		{Row: 3, Article: other},
		{Row: 4, Article: withID(validArticle(), "brand-new")},
		{Row: 5, Article: Article{ID: "x"}, Err: errors.New("bad")},
		{Row: 6, Article: Article{ID: other.ID, Question: ""}, Fields: []string{"question"}},
	}
	p := NewPlan([]Article{cur, other}, rows)
	if len(p.Added) != 1 || p.Added[0].Row != 4 || len(p.Unchanged) != 1 || p.Unchanged[0].Row != 3 {
		t.Errorf("plan = %+v", p)
	}
	if len(p.Changed) != 1 {
		t.Fatalf("changed = %+v", p.Changed)
	}
	c := p.Changed[0]
	if c.Article.Question != cur.Question || c.Article.Title != cur.Title || c.Article.Answer != "新答案" {
		t.Errorf("merged article = %+v", c.Article)
	}
	want := []Change{{Field: "answer", Old: cur.Answer, New: "新答案"}, {Field: "tags", Added: []string{"new"}, Removed: []string{"old"}}}
	if diff := cmp.Diff(want, c.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(p.Rejected) != 2 || p.Rejected[0].Row != 5 || p.Rejected[0].Reason != "bad" || p.Rejected[1].Row != 6 {
		t.Errorf("rejected = %+v", p.Rejected)
	}
	if err := rejectedError(p); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "2 row(s)") {
		t.Errorf("rejectedError = %v", err)
	}
}

func withID(a Article, id string) Article {
	a.ID = id
	return a
}

func TestDiffArticles(t *testing.T) {
	a := validArticle()
	b := a
	b.Similar = []string{"客服在哪", "新问法"}
	b.Kind = KindBoundary
	b.Title = "新标题"
	want := []Change{
		{Field: "title", Old: a.Title, New: "新标题"},
		{Field: "similar", Added: []string{"新问法"}},
		{Field: "kind", Old: "faq", New: "boundary"},
	}
	if diff := cmp.Diff(want, DiffArticles(a, b)); diff != "" {
		t.Errorf("DiffArticles (-want +got):\n%s", diff)
	}
	c := a
	c.Similar = []string{"x", "y"}
	d := a
	d.Similar = []string{"y", "x"}
	if got := DiffArticles(c, d); len(got) != 1 || got[0].Old != "1. x\n2. y" || got[0].New != "1. y\n2. x" {
		t.Errorf("reordered = %+v", got)
	}
	e := a
	e.Tags = []string{}
	if got := DiffArticles(a, e); len(got) != 0 {
		t.Errorf("nil and empty tags differ: %+v", got)
	}
}

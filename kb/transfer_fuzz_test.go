package kb

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// checkRows checks what every import parser promises: an error or rows,
// rows in file order, each rejected with an ErrInvalid or holding a valid
// article with an ID unique in the file. It returns the accepted articles.
func checkRows(t *testing.T, rows []ImportRow, err error) []Article {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		if rows != nil {
			t.Fatalf("rows with error %v", err)
		}
		return nil
	}
	var accepted []Article
	ids := map[string]bool{}
	last := 0
	for _, r := range rows {
		if r.Row <= last {
			t.Fatalf("row %d after row %d", r.Row, last)
		}
		last = r.Row
		if r.Err != nil {
			if !errors.Is(r.Err, ErrInvalid) {
				t.Fatalf("row %d: rejection does not wrap ErrInvalid: %v", r.Row, r.Err)
			}
			continue
		}
		if err := Validate(r.Article); err != nil {
			t.Fatalf("row %d: accepted an invalid article: %v", r.Row, err)
		}
		if ids[r.Article.ID] {
			t.Fatalf("row %d: accepted id %q twice", r.Row, r.Article.ID)
		}
		ids[r.Article.ID] = true
		accepted = append(accepted, r.Article)
	}
	return accepted
}

func FuzzReadCSV(f *testing.F) {
	articles, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	WriteCSV(&buf, articles[:5])
	f.Add(buf.Bytes())
	for _, s := range []string{
		"", "\uFEFF", "question,answer\n", "question,answer\n问,答\n",
		"id,question,similar,answer,answer_en,category,tags,kind,status\na,问,x\\|y|z\\\\,答,,,t1|t2,boundary,archived\n",
		"question,answer\n\"多\n行\",\"答\"\"案\"\n,\n问\xff,答\n",
		"question,answer,kind\n问,答,bad\n问,答,faq\n", "answer,question\n\"q\n", "question;answer\n",
		"question,answer\n \t,答\n问, \n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadCSV(bytes.NewReader(data))
		accepted := checkRows(t, rows, err)
		if accepted == nil {
			return
		}
		// What was accepted comes back unchanged through CSV.
		again, out := reread(t, FormatCSV, accepted)
		if diff := cmp.Diff(accepted, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("CSV round trip changed the articles (-first +second):\n%s\n%q", diff, out)
		}
	})
}

func FuzzReadJSON(f *testing.F) {
	f.Add(defaultJSON)
	for _, s := range []string{
		"", "[]", "\uFEFF[]", "null", "{}", "[null]", "[1, \"x\", []]",
		`[{"id":"a","question":"q","answer":"x","kind":"faq","status":"published","similar":["s"],"tags":["t"]}]`,
		`[{"question":"没有编号","answer":"答"},{"question":"没有编号","answer":"答"}]`,
		`[{"id":"a","question":5}] `, `[{"id":"a"}] x`, "[\"\xff\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadJSON(bytes.NewReader(data))
		accepted := checkRows(t, rows, err)
		if accepted == nil {
			return
		}
		// Export, import, export gives the same bytes.
		again, first := reread(t, FormatJSON, accepted)
		if _, second := reread(t, FormatJSON, again); !bytes.Equal(first, second) {
			t.Fatalf("JSON round trip changed the bytes:\n%s\n%s", first, second)
		}
	})
}

// reread writes articles in format f and reads them back, failing the test
// unless every one is accepted. It returns them and what was written.
func reread(t *testing.T, f Format, articles []Article) ([]Article, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFile(&buf, f, articles); err != nil {
		t.Fatal(err)
	}
	written := bytes.Clone(buf.Bytes())
	rows, err := ReadFile(&buf, f)
	again := checkRows(t, rows, err)
	if err != nil || len(again) != len(rows) {
		t.Fatalf("re-reading the export: %v; rows %+v", err, rows)
	}
	return again, written
}

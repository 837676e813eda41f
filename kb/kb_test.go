package kb

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
)

func validArticle() Article {
	return Article{
		ID:       "channels-official-account",
		Title:    "公众号",
		Question: "怎么联系客服?",
		Similar:  []string{"客服在哪"},
		Answer:   "您可以……",
		Category: "channels",
		Kind:     KindFAQ,
		Status:   StatusPublished,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Article)
		errHas string // empty: valid
	}{
		{"OK", func(*Article) {}, ""},
		{"OKBoundaryDraft", func(a *Article) { a.Kind, a.Status = KindBoundary, StatusDraft }, ""},
		{"OKOutOfScope", func(a *Article) { a.Kind = KindOutOfScope }, ""},
		{"OKIDWithUnderscoreAndDot", func(a *Article) { a.ID = "Card_arrival.v2" }, ""},
		{"ErrEmptyID", func(a *Article) { a.ID = "" }, "id is empty"},
		{"ErrIDSpace", func(a *Article) { a.ID = "two words" }, "may only hold"},
		{"ErrIDChinese", func(a *Article) { a.ID = "客服" }, "may only hold"},
		{"ErrIDTooLong", func(a *Article) { a.ID = strings.Repeat("a", MaxIDLen+1) }, "longer than"},
		{"ErrEmptyQuestion", func(a *Article) { a.Question = "" }, "question is empty"},
		{"ErrBlankQuestion", func(a *Article) { a.Question = " \t\n" }, "question is empty"},
		{"ErrEmptyAnswer", func(a *Article) { a.Answer = "  " }, "answer is empty"},
		{"ErrBlankSimilar", func(a *Article) { a.Similar = []string{"ok", " "} }, "similar question 2 is empty"},
		{"ErrEmptyKind", func(a *Article) { a.Kind = "" }, "kind is empty"},
		{"ErrUnknownKind", func(a *Article) { a.Kind = "urgent" }, `unknown kind "urgent"`},
		{"ErrEmptyStatus", func(a *Article) { a.Status = "" }, "status is empty"},
		{"ErrUnknownStatus", func(a *Article) { a.Status = "live" }, `unknown status "live"`},
		{"ErrInvalidUTF8", func(a *Article) { a.Answer = "\xff" }, "UTF-8"},
		{"OKOutOfScopeWithoutAnswer", func(a *Article) { a.Kind, a.Answer = KindOutOfScope, "" }, ""},
		{"ErrIDDot", func(a *Article) { a.ID = "." }, "only dots"},
		{"ErrIDDotDot", func(a *Article) { a.ID = ".." }, "only dots"},
		{"OKLongestTexts", func(a *Article) {
			a.Question, a.Answer, a.Category = strings.Repeat("问", MaxQuestionLen), strings.Repeat("答", MaxAnswerLen), strings.Repeat("类", MaxLabelLen)
			a.Similar, a.Tags = make([]string, MaxSimilar), make([]string, MaxTags)
			for i := range a.Similar {
				a.Similar[i] = fmt.Sprint("问法", i)
			}
			for i := range a.Tags {
				a.Tags[i] = fmt.Sprint("标签", i)
			}
		}, ""},
		{"ErrQuestionTooLong", func(a *Article) { a.Question = strings.Repeat("问", MaxQuestionLen+1) }, "question is longer than 300"},
		{"ErrTitleTooLong", func(a *Article) { a.Title = strings.Repeat("题", MaxQuestionLen+1) }, "title is longer"},
		{"ErrSimilarTooLong", func(a *Article) { a.Similar = []string{"ok", strings.Repeat("问", MaxQuestionLen+1)} }, "similar question 2 is longer"},
		{"ErrTooManySimilar", func(a *Article) { a.Similar = make([]string, MaxSimilar+1) }, "more than 500"},
		{"ErrAnswerTooLong", func(a *Article) { a.Answer = strings.Repeat("答", MaxAnswerLen+1) }, "answer is longer than 2000"},
		{"ErrAnswerENTooLong", func(a *Article) { a.AnswerEN = strings.Repeat("a", MaxAnswerLen+1) }, "English answer is longer"},
		{"ErrCategoryTooLong", func(a *Article) { a.Category = strings.Repeat("类", MaxLabelLen+1) }, "category is longer"},
		{"ErrTooManyTags", func(a *Article) { a.Tags = make([]string, MaxTags+1) }, "more than 20"},
		{"ErrTagTooLong", func(a *Article) { a.Tags = []string{strings.Repeat("t", MaxLabelLen+1)} }, "tag 1 is longer"},
		{"ErrTagUTF8", func(a *Article) { a.Tags = []string{"\xff"} }, "tag 1 is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validArticle()
			tt.change(&a)
			err := Validate(a)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want error containing %q", tt.errHas)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.errHas) || strings.Contains(err.Error(), "%!") || strings.Contains(err.Error(), ErrInvalid.Error()) {
				t.Errorf("Validate error %q does not contain %q, or is badly formatted, or repeats ErrInvalid's text", err, tt.errHas)
			}
			if a.ID != "" && len(a.ID) <= MaxIDLen && !strings.Contains(err.Error(), a.ID) {
				t.Errorf("Validate error %q does not name article %q", err, a.ID)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const one = `{"id":"a","question":"q","answer":"x","kind":"faq","status":"published"}`
	tests := []struct {
		name   string
		data   string
		n      int
		errHas string
	}{
		{"OK", "[" + one + "]", 1, ""},
		{"OKEmpty", " [ ] ", 0, ""},
		{"OKUnknownFieldsIgnored", `[{"id":"a","question":"q","answer":"x","kind":"faq","status":"draft","versions":[1,2]}]`, 1, ""},
		{"ErrEmpty", "", 0, "want a JSON array"},
		{"ErrNull", "null", 0, "want a JSON array"},
		{"ErrObject", one, 0, "want a JSON array"},
		{"ErrSyntax", "[" + one, 0, "kb: parse"},
		{"ErrWrongType", `[{"id":1}]`, 0, "kb: parse"},
		{"ErrTrailing", "[" + one + "] []", 0, "after the array"},
		{"ErrTrailingGarbage", "[" + one + "] x", 0, "after the array"},
		{"ErrInvalidArticle", "[" + one + `,{"id":"b","question":"q","answer":"","kind":"faq","status":"published"}]`, 0, `article #2: 文章 b：答案为空 (answer is empty)`},
		{"ErrDuplicateID", "[" + one + "," + one + "]", 0, `article #2: id "a" already used by article #1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.data))
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Parse = %v", err)
				}
				if got == nil || len(got) != tt.n {
					t.Fatalf("Parse returned %d articles (nil: %v), want %d", len(got), got == nil, tt.n)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = nil error, want %q", tt.errHas)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Parse error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}

// boundaryTopics are the service boundaries of seed section 八, each with the
// article that refers users elsewhere and a word its answer must contain.
var boundaryTopics = []struct {
	topic, id, where string
}{
	{"someone else's or deleted chat records", "boundary-chat-records", "身份证"},
	{"contacts export", "boundary-contacts-export", "线下网点"},
	{"cross-border account", "boundary-cross-border", "wechat.com"},
	{"iOS system fault", "boundary-ios", "苹果"},
	{"financial advice", "boundary-financial-advice", "银行"},
	{"consumer complaint", "boundary-consumer-complaint", "12315"},
	{"illegal online content", "boundary-illegal-content", "12377"},
}

func TestDefault(t *testing.T) {
	articles, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if n := len(articles); n < 35 || n > 50 {
		t.Errorf("default KB has %d articles, want 35 to 50", n)
	}
	byID := make(map[string]Article)
	categories := make(map[string]int)
	english := 0
	for _, a := range articles {
		byID[a.ID] = a
		categories[a.Category]++
		if a.Status != StatusPublished {
			t.Errorf("%s: status %q, want published", a.ID, a.Status)
		}
		if a.Title == "" || a.Category == "" {
			t.Errorf("%s: title or category is empty", a.ID)
		}
		var zh, en int
		for _, s := range a.Similar {
			if DetectEnglish(s) {
				en++
			} else {
				zh++
			}
		}
		if zh < 5 || zh > 10 {
			t.Errorf("%s: %d Chinese similar questions, want 5 to 10", a.ID, zh)
		}
		if a.AnswerEN != "" {
			english++
			if en < 2 || en > 4 {
				t.Errorf("%s: has an English answer and %d English similar questions, want 2 to 4", a.ID, en)
			}
		} else if en > 0 {
			t.Errorf("%s: has English similar questions but no English answer", a.ID)
		}
		if !hasHan(a.Answer) {
			t.Errorf("%s: answer is not Chinese", a.ID)
		}
		if (a.Kind == KindBoundary) != (a.Category == "boundary") {
			t.Errorf("%s: kind %q in category %q", a.ID, a.Kind, a.Category)
		}
	}
	if english < 10 {
		t.Errorf("%d articles have an English answer, want at least 10", english)
	}
	// The eight sections of the seed article.
	for _, c := range []string{"channels", "strategy", "overseas", "care", "green-channel", "enterprise", "self-service", "efficiency", "boundary"} {
		if categories[c] == 0 {
			t.Errorf("no article in category %q", c)
		}
	}
	for _, bt := range boundaryTopics {
		a, ok := byID[bt.id]
		switch {
		case !ok:
			t.Errorf("no boundary article for %s (%s)", bt.topic, bt.id)
		case a.Kind != KindBoundary:
			t.Errorf("%s: kind %q, want boundary", bt.id, a.Kind)
		case !strings.Contains(a.Answer, bt.where):
			t.Errorf("%s: answer does not say where to go (%q)", bt.id, bt.where)
		}
	}
}

func TestDefaultFreshCopy(t *testing.T) {
	a, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	a[0].Similar[0] = "changed"
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if b[0].Similar[0] == "changed" {
		t.Error("Default returned shared memory")
	}
}

// TestFoldTable checks that traditional-to-simplified folding only touches
// traditional characters: no key appears in the simplified default KB, and
// no simplified form is itself folded again.
func TestFoldTable(t *testing.T) {
	kb := string(defaultJSON)
	for trad, simp := range t2s {
		if strings.ContainsRune(kb, trad) {
			t.Errorf("traditional %c (→ %c) occurs in the simplified default KB", trad, simp)
		}
		if _, ok := t2s[simp]; ok {
			t.Errorf("simplified %c is also a key", simp)
		}
		if !unicode.Is(unicode.Han, trad) || !unicode.Is(unicode.Han, simp) {
			t.Errorf("pair %c→%c is not Han", trad, simp)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

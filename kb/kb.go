// Package kb holds the knowledge base of the customer-service bot: articles
// (a standard question, similar questions and a curated answer), the default
// Chinese knowledge base that ships with the binary, and Index, the matcher
// that finds the article answering a user's question.
package kb

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind says how an article is used.
type Kind string

const (
	// KindFAQ is an ordinary question and answer.
	KindFAQ Kind = "faq"
	// KindBoundary is a referral for a request the service cannot handle
	// (seed section 八): the answer says plainly where to go instead. A
	// boundary answer counts as answered, not as a failed turn.
	KindBoundary Kind = "boundary"
	// KindOutOfScope holds examples of questions the service does not
	// answer (an editor dismissed them as not ours): it is never answered,
	// and the matcher lowers every answer's score by how well such an
	// example matches, so that questions like them are refused. Its answer
	// is a note for editors.
	KindOutOfScope Kind = "out_of_scope"
)

// Status is the editorial state of an article. Only published articles are
// indexed and answered.
type Status string

const (
	// StatusDraft is an article being written; it is not answered.
	StatusDraft Status = "draft"
	// StatusPublished is an article the bot answers with.
	StatusPublished Status = "published"
	// StatusArchived is a retired article kept for history; it is not answered.
	StatusArchived Status = "archived"
)

// Article is one knowledge-base entry.
type Article struct {
	// ID is a stable slug, e.g. "channels-official-account".
	ID string `json:"id"`
	// Title is a short name for editors.
	Title string `json:"title"`
	// Question is the standard question (Chinese).
	Question string `json:"question"`
	// Similar holds other phrasings of the question as users type them:
	// everyday Chinese, plus English where the article has an English answer.
	Similar []string `json:"similar,omitempty"`
	// Answer is the Chinese answer.
	Answer string `json:"answer"`
	// AnswerEN is the English answer for overseas users, if there is one.
	AnswerEN string `json:"answer_en,omitempty"`
	// Category groups articles for editors and reports.
	Category string `json:"category"`
	// Tags are free-form labels.
	Tags []string `json:"tags,omitempty"`
	// Kind is KindFAQ, KindBoundary or KindOutOfScope.
	Kind Kind `json:"kind"`
	// Status is the editorial state; only StatusPublished is answered.
	Status Status `json:"status"`
	// Handoff, when set, names the lane of a person who takes over when a
	// user's question matches this article: the bot sends the answer as
	// first guidance and queues the user at once (for stolen accounts,
	// fraud, payments the user did not make). Empty: the bot answers alone.
	Handoff string `json:"handoff,omitempty"`
	// Flow, when set, names a self-service flow the answer offers: the
	// user replies 办理 to start it (e.g. bill_export).
	Flow string `json:"flow,omitempty"`
}

// Questions returns the standard question followed by the similar questions.
func (a *Article) Questions() []string {
	qs := make([]string, 0, 1+len(a.Similar))
	qs = append(qs, a.Question)
	return append(qs, a.Similar...)
}

// ErrInvalid is wrapped by every validation and parse error of this package.
var ErrInvalid = errors.New("kb: invalid article")

// invalidError is a rule broken, worded for editors, Chinese first, then
// English in brackets: the panel, the CLI and import reports show it as it
// is. It wraps ErrInvalid without repeating its text.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

// Invalidf returns an error wrapping ErrInvalid whose message is the
// formatted one alone, worded for editors (Chinese first, then English in
// brackets): for the checks of Editor.SetCheck and this package's own.
func Invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// MaxIDLen is the maximum length of an article ID, in bytes.
const MaxIDLen = 128

// Limits of an article's texts, in characters (runes) unless said
// otherwise. An answer longer than MaxAnswerLen is no longer read in a
// chat: link to a page instead.
const (
	MaxQuestionLen = 300  // the question, the title and each similar question
	MaxSimilar     = 500  // similar questions of one article
	MaxAnswerLen   = 2000 // the answer and the English answer
	MaxLabelLen    = 64   // the category and each tag
	MaxTags        = 20
	MaxNoteLen     = 500 // the note of a version
)

// Normalize returns a with its texts tidied the same way whoever wrote
// them (the API, an import, the unanswered queue), so that an export read
// back changes nothing: the title, question, category, handoff lane, flow,
// similar questions and tags trimmed; blank and repeated similar questions (and those equal
// to the question) and blank and repeated tags dropped; the answers' line
// ends made "\n" and the answers trimmed. Validate then rejects what
// tidying cannot fix.
func Normalize(a Article) Article {
	a.Title = strings.TrimSpace(a.Title)
	a.Question = strings.TrimSpace(a.Question)
	a.Category = strings.TrimSpace(a.Category)
	a.Handoff, a.Flow = strings.TrimSpace(a.Handoff), strings.TrimSpace(a.Flow)
	a.Answer = normalizeAnswer(a.Answer)
	a.AnswerEN = normalizeAnswer(a.AnswerEN)
	a.Similar = uniqueTrimmed(a.Similar, a.Question)
	a.Tags = uniqueTrimmed(a.Tags, "")
	return a
}

// uniqueTrimmed returns the trimmed texts of list, without blank ones,
// repeats and skip, in their order; nil when none is left.
func uniqueTrimmed(list []string, skip string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" && s != skip && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

var lineEnds = strings.NewReplacer("\r\n", "\n", "\r", "\n")

func normalizeAnswer(s string) string {
	return strings.TrimSpace(lineEnds.Replace(s))
}

// Validate checks that a is complete: an ID made of ASCII letters, digits,
// '-', '_' and '.' (at most MaxIDLen bytes, not only dots), a non-blank
// question and answer (an out-of-scope article needs no answer), no blank
// similar question, texts within their limits (MaxQuestionLen and the
// others), a known kind and a known status. The error, worded for editors,
// wraps ErrInvalid and names the article (by its ID, when the ID itself
// is not what is wrong).
func Validate(a Article) error {
	if err := validateID(a.ID); err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return Invalidf("文章 %s：%s", a.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case !utf8.ValidString(a.Title) || !utf8.ValidString(a.Question) || !utf8.ValidString(a.Answer) ||
		!utf8.ValidString(a.AnswerEN) || !utf8.ValidString(a.Category):
		return fail("文本不是有效的 UTF-8 (text is not valid UTF-8)")
	case strings.TrimSpace(a.Question) == "":
		return fail("标准问题为空 (question is empty)")
	case strings.TrimSpace(a.Answer) == "" && a.Kind != KindOutOfScope: // never answered
		return fail("答案为空 (answer is empty)")
	}
	switch {
	case utf8.RuneCountInString(a.Question) > MaxQuestionLen:
		return fail("标准问题超过 %d 个字 (question is longer than %[1]d characters)", MaxQuestionLen)
	case utf8.RuneCountInString(a.Title) > MaxQuestionLen:
		return fail("标题超过 %d 个字 (title is longer than %[1]d characters)", MaxQuestionLen)
	case utf8.RuneCountInString(a.Answer) > MaxAnswerLen:
		return fail("答案超过 %d 个字，请改为链接到网页 (answer is longer than %[1]d characters: link to a page instead)", MaxAnswerLen)
	case utf8.RuneCountInString(a.AnswerEN) > MaxAnswerLen:
		return fail("英文答案超过 %d 个字，请改为链接到网页 (English answer is longer than %[1]d characters: link to a page instead)", MaxAnswerLen)
	case utf8.RuneCountInString(a.Category) > MaxLabelLen:
		return fail("分类超过 %d 个字 (category is longer than %[1]d characters)", MaxLabelLen)
	case len(a.Similar) > MaxSimilar:
		return fail("相似问题有 %d 个，最多 %d 个 (%[1]d similar questions, more than %[2]d)", len(a.Similar), MaxSimilar)
	case len(a.Tags) > MaxTags:
		return fail("标签有 %d 个，最多 %d 个 (%[1]d tags, more than %[2]d)", len(a.Tags), MaxTags)
	}
	for i, s := range a.Similar {
		switch {
		case strings.TrimSpace(s) == "":
			return fail("第 %d 个相似问题为空 (similar question %[1]d is empty)", i+1)
		case !utf8.ValidString(s):
			return fail("第 %d 个相似问题不是有效的 UTF-8 (similar question %[1]d is not valid UTF-8)", i+1)
		case utf8.RuneCountInString(s) > MaxQuestionLen:
			return fail("第 %d 个相似问题超过 %d 个字 (similar question %[1]d is longer than %[2]d characters)", i+1, MaxQuestionLen)
		}
	}
	for i, s := range a.Tags {
		switch {
		case !utf8.ValidString(s):
			return fail("第 %d 个标签不是有效的 UTF-8 (tag %[1]d is not valid UTF-8)", i+1)
		case utf8.RuneCountInString(s) > MaxLabelLen:
			return fail("第 %d 个标签超过 %d 个字 (tag %[1]d is longer than %[2]d characters)", i+1, MaxLabelLen)
		}
	}
	if !validLane(a.Handoff) {
		return fail("转人工队列 %q 只能由小写英文字母、数字、- 和 _ 组成 (handoff lane %[1]q may only hold lower-case ASCII letters, digits, '-' and '_')", a.Handoff)
	}
	if !validLane(a.Flow) {
		return fail("流程 %q 只能由小写英文字母、数字、- 和 _ 组成 (flow %[1]q may only hold lower-case ASCII letters, digits, '-' and '_')", a.Flow)
	}
	switch a.Kind {
	case KindFAQ, KindBoundary, KindOutOfScope:
	case "":
		return fail("类型为空，须为 %q、%q 或 %q (kind is empty: want %[1]q, %[2]q or %[3]q)", KindFAQ, KindBoundary, KindOutOfScope)
	default:
		return fail("未知的类型 %q，须为 %q、%q 或 %q (unknown kind %[1]q: want %[2]q, %[3]q or %[4]q)", a.Kind, KindFAQ, KindBoundary, KindOutOfScope)
	}
	switch a.Status {
	case StatusDraft, StatusPublished, StatusArchived:
	case "":
		return fail("状态为空，须为 %q、%q 或 %q (status is empty: want %[1]q, %[2]q or %[3]q)", StatusDraft, StatusPublished, StatusArchived)
	default:
		return fail("未知的状态 %q，须为 %q、%q 或 %q (unknown status %[1]q: want %[2]q, %[3]q or %[4]q)", a.Status, StatusDraft, StatusPublished, StatusArchived)
	}
	return nil
}

// validLane reports whether s is empty or a plausible lane name. Whether
// the lane exists is for the handoff configuration to say.
func validLane(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validateID(id string) error {
	if id == "" {
		return Invalidf("id 为空 (id is empty)")
	}
	if len(id) > MaxIDLen {
		return Invalidf("id 超过 %d 个字节 (id is longer than %[1]d bytes)", MaxIDLen)
	}
	if strings.Trim(id, ".") == "" { // "." and ".." would be path steps in the API's URLs
		return Invalidf("id %q 不能只由点组成 (id %[1]q is only dots)", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Invalidf("id %q 只能由英文字母、数字、-、_ 和 . 组成 (id %[1]q may only hold ASCII letters, digits, '-', '_' and '.')", id)
		}
	}
	return nil
}

// Parse decodes a JSON array of articles and validates each one, and that
// IDs are unique. Unknown fields are ignored, so exports that carry more
// (such as version history) can be imported. Errors name the article by
// position and ID, and wrap ErrInvalid.
func Parse(data []byte) ([]Article, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("kb: parse: want a JSON array of articles: %w", ErrInvalid)
	}
	var articles []Article
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&articles); err != nil {
		return nil, fmt.Errorf("kb: parse: %w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("kb: parse: unexpected data after the array: %w", ErrInvalid)
	}
	seen := make(map[string]int, len(articles))
	for i, a := range articles {
		if err := Validate(a); err != nil {
			return nil, fmt.Errorf("kb: parse: article #%d: %w", i+1, err)
		}
		if j, dup := seen[a.ID]; dup {
			return nil, fmt.Errorf("kb: parse: article #%d: id %q already used by article #%d: %w", i+1, a.ID, j+1, ErrInvalid)
		}
		seen[a.ID] = i
	}
	if articles == nil {
		articles = []Article{}
	}
	return articles, nil
}

//go:embed default.json
var defaultJSON []byte

// Default returns the default Chinese knowledge base that ships with the
// binary, written from the seed article's facts. Each call returns a fresh
// copy that the caller may change.
func Default() ([]Article, error) {
	articles, err := Parse(defaultJSON)
	if err != nil {
		return nil, fmt.Errorf("kb: default knowledge base: %w", err)
	}
	return articles, nil
}

// Package flows is kefu's self-service tier (DESIGN.md §1, seed 六): short
// guided conversations, declared in YAML or JSON, that collect and check
// what a task needs, call the business backend, and leave the user with a
// result or a case number.
//
// A Flow is a list of steps. The Runner moves a user's State through them,
// one message at a time; the bot keeps the State in the session, so any
// instance can continue it, and does what a Turn asks of it (a handoff).
package flows

import (
	"regexp"
	"strings"
)

// StepKind is what a step does.
type StepKind string

// Step kinds.
const (
	// KindMessage says Text and goes on to the next step at once.
	KindMessage StepKind = "message"
	// KindAsk says Text and waits for an answer, checked by Input, kept
	// under Field.
	KindAsk StepKind = "ask"
	// KindConfirm says Text and waits for yes or no: yes goes on, no goes
	// to No (default: the previous question).
	KindConfirm StepKind = "confirm"
	// KindAction calls the business backend with what was collected:
	// success goes on, failure goes to OnFail.
	KindAction StepKind = "action"
	// KindHandoff ends the flow and queues the user in Lane, the collected
	// data attached to the ticket.
	KindHandoff StepKind = "handoff"
	// KindEnd ends the flow with Text, opening a case when Case is set.
	KindEnd StepKind = "end"
)

// InputType is how an ask step checks its answer.
type InputType string

// Input types.
const (
	InputChoice  InputType = "choice"  // one of Choices, by text or number
	InputNumber  InputType = "number"  // an integer within Min..Max
	InputAmount  InputType = "amount"  // money, up to 2 decimals, within Min..Max
	InputDate    InputType = "date"    // a calendar date, at most MaxDaysAgo back, not in the future
	InputPhone   InputType = "phone"   // a mainland mobile number or an international one with +
	InputIDCard  InputType = "idcard"  // a mainland resident ID number (18 characters, checksum)
	InputPattern InputType = "pattern" // matches Pattern (an ID-like reference)
	InputText    InputType = "text"    // free text, MinLen..MaxLen runes
	InputImage   InputType = "image"   // a picture, kept as evidence
	InputEmail   InputType = "email"   // an e-mail address
	InputCase    InputType = "case"    // a kefu case number (KF…)
)

// Flow is one self-service flow.
type Flow struct {
	ID          string `yaml:"id" json:"id"`
	Title       string `yaml:"title" json:"title"`
	TitleEN     string `yaml:"title_en,omitempty" json:"title_en,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Triggers are phrases that start the flow when a message contains
	// one (compared after normalisation).
	Triggers []string `yaml:"triggers,omitempty" json:"triggers,omitempty"`
	// MenuKeys are CLICK event keys that start the flow (besides its ID).
	MenuKeys []string `yaml:"menu_keys,omitempty" json:"menu_keys,omitempty"`
	// Lane is where a handoff from this flow queues the user.
	Lane string `yaml:"lane" json:"lane"`
	// Steps run in order, unless a step names another.
	Steps []Step `yaml:"steps" json:"steps"`

	// Source is the file the flow was loaded from ("builtin:<name>" for
	// the built-in ones).
	Source string `yaml:"-" json:"source,omitempty"`

	index map[string]int
}

// Step is one step of a Flow.
type Step struct {
	ID   string   `yaml:"id" json:"id"`
	Kind StepKind `yaml:"kind" json:"kind"`
	// Text is what the step says; {field} is replaced by a collected
	// value, {case} by the case number, {reference} and {result} by the
	// backend's answer to the last action.
	Text   string `yaml:"text,omitempty" json:"text,omitempty"`
	TextEN string `yaml:"text_en,omitempty" json:"text_en,omitempty"`
	// When skips the step unless the condition holds.
	When *Condition `yaml:"when,omitempty" json:"when,omitempty"`
	// Next names the step after this one; empty: the following step.
	Next string `yaml:"next,omitempty" json:"next,omitempty"`

	// Field and Label name the value an ask step collects.
	Field string `yaml:"field,omitempty" json:"field,omitempty"`
	Label string `yaml:"label,omitempty" json:"label,omitempty"`
	Input *Input `yaml:"input,omitempty" json:"input,omitempty"`
	// Optional lets the user answer 跳过 (skip).
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`

	// No is where a confirm step goes on "no"; empty: back to the previous
	// question.
	No string `yaml:"no,omitempty" json:"no,omitempty"`

	// Action names the backend action; OnFail is the step after a refusal
	// or an unreachable backend (empty: hand off to a person).
	Action string `yaml:"action,omitempty" json:"action,omitempty"`
	OnFail string `yaml:"on_fail,omitempty" json:"on_fail,omitempty"`

	// Lane overrides the flow's lane for a handoff step.
	Lane string `yaml:"lane,omitempty" json:"lane,omitempty"`
	// Case opens a case (end and handoff steps).
	Case bool `yaml:"case,omitempty" json:"case,omitempty"`
}

// Input is how an ask step checks its answer.
type Input struct {
	Type    InputType `yaml:"type" json:"type"`
	Choices []string  `yaml:"choices,omitempty" json:"choices,omitempty"`
	// ChoicesEN are the choices' English labels, in the same order, for
	// English-speaking users; either label is accepted, and the value kept
	// is always the choice as in Choices.
	ChoicesEN []string `yaml:"choices_en,omitempty" json:"choices_en,omitempty"`
	// Goto sends a choice to a step other than the next one.
	Goto map[string]string `yaml:"goto,omitempty" json:"goto,omitempty"`
	// Min and Max bound a number or an amount (0: no bound).
	Min float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// MinLen and MaxLen bound free text in runes (0: 2 and 500).
	MinLen int `yaml:"min_len,omitempty" json:"min_len,omitempty"`
	MaxLen int `yaml:"max_len,omitempty" json:"max_len,omitempty"`
	// MaxDaysAgo bounds a date (0: 3 years).
	MaxDaysAgo int `yaml:"max_days_ago,omitempty" json:"max_days_ago,omitempty"`
	// Pattern is the regular expression of a pattern input, matched
	// against the whole answer (upper-cased, spaces removed).
	Pattern string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	// Hint is said with the question again after an invalid answer.
	Hint   string `yaml:"hint,omitempty" json:"hint,omitempty"`
	HintEN string `yaml:"hint_en,omitempty" json:"hint_en,omitempty"`

	re *regexp.Regexp
}

// Condition holds when the collected Field equals Equals, or (with
// NotEquals) when it does not.
type Condition struct {
	Field     string `yaml:"field" json:"field"`
	Equals    string `yaml:"equals,omitempty" json:"equals,omitempty"`
	NotEquals string `yaml:"not_equals,omitempty" json:"not_equals,omitempty"`
}

func (c *Condition) holds(values map[string]string) bool {
	if c == nil {
		return true
	}
	v := values[c.Field]
	if c.NotEquals != "" {
		return v != c.NotEquals
	}
	return v == c.Equals
}

// Step returns the step with the given id.
func (f *Flow) Step(id string) (*Step, bool) {
	i, ok := f.index[id]
	if !ok {
		return nil, false
	}
	return &f.Steps[i], true
}

// after returns the id of the step that follows s in order, "" at the end.
func (f *Flow) after(s *Step) string {
	if s.Next != "" {
		return s.Next
	}
	i := f.index[s.ID] + 1
	if i >= len(f.Steps) {
		return ""
	}
	return f.Steps[i].ID
}

// TitleIn is the flow's title in the user's language.
func (f *Flow) TitleIn(english bool) string {
	if english && f.TitleEN != "" {
		return f.TitleEN
	}
	return f.Title
}

// text is a step's words in the user's language.
func (s *Step) text(english bool) string {
	if english && s.TextEN != "" {
		return s.TextEN
	}
	return s.Text
}

// hint is the input's hint in the user's language.
func (in *Input) hint(english bool) string {
	if english && in.HintEN != "" {
		return in.HintEN
	}
	return in.Hint
}

// label is the name of an ask step's value for people (the field's name
// when no label is given).
func (s *Step) label() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Field
}

// fill replaces {name} in text with values[name]; unknown names stay.
func fill(text string, values map[string]string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		name := text[i+1 : i+j]
		v, ok := values[name]
		if !ok {
			v = text[i : i+j+1]
		}
		b.WriteString(text[:i])
		b.WriteString(v)
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

package flows

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kefuhq/kefu/intents"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// ErrInvalid is wrapped by every error about a flow definition.
var ErrInvalid = errors.New("flows: invalid definition")

// MaxFileSize bounds a definition file.
const MaxFileSize = 1 << 20

var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{1,47}$`)
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_.]{1,63}$`)
)

// file is a definition file: one flow, or several under "flows".
type file struct {
	Flow  `yaml:",inline"`
	Flows []Flow `yaml:"flows,omitempty"`
}

// Parse reads the flows of one definition file (YAML or JSON; a file holds
// one flow, or a list under "flows") and checks each. name is used in
// errors. lanes, when not nil, are the lanes a flow may queue users in.
func Parse(name string, data []byte, lanes []string) ([]*Flow, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, name, MaxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: %s: not UTF-8 text", ErrInvalid, name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: empty", ErrInvalid, name)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	var rest any // an empty document after "---" is harmless
	if err := dec.Decode(&rest); !errors.Is(err, io.EOF) && (err != nil || rest != nil) {
		return nil, fmt.Errorf("%w: %s: more than one YAML document (list several flows under flows)", ErrInvalid, name)
	}
	list := f.Flows
	switch {
	case f.ID != "" && len(list) > 0:
		return nil, fmt.Errorf("%w: %s: either one flow or a list under flows, not both", ErrInvalid, name)
	case f.ID != "" || len(f.Steps) > 0:
		list = []Flow{f.Flow}
	case len(list) == 0:
		return nil, fmt.Errorf("%w: %s: no flow (give id and steps, or a list under flows)", ErrInvalid, name)
	}
	out := make([]*Flow, 0, len(list))
	seen := map[string]bool{}
	for i := range list {
		fl := &list[i]
		fl.Source = name
		if err := fl.check(lanes); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		if seen[fl.ID] {
			return nil, fmt.Errorf("%w: %s: flow %s: defined twice", ErrInvalid, name, fl.ID)
		}
		seen[fl.ID] = true
		out = append(out, fl)
	}
	return out, nil
}

// check validates a flow and indexes its steps.
func (f *Flow) check(lanes []string) error {
	if !idPattern.MatchString(f.ID) {
		return fmt.Errorf("flow %q: id must be lower-case letters, digits and _ (2–48 characters)", f.ID)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("flow %s: "+format, append([]any{f.ID}, args...)...)
	}
	if strings.TrimSpace(f.Title) == "" {
		return fail("title is required")
	}
	if f.Lane == "" {
		return fail("lane is required (where a handoff queues the user)")
	}
	if err := knownLane(f.Lane, lanes); err != nil {
		return fail("%v", err)
	}
	if len(f.Steps) == 0 {
		return fail("no steps")
	}
	for _, t := range f.Triggers {
		if utf8.RuneCountInString(intents.Normalize(t)) < 2 {
			return fail("trigger %q is too short (at least 2 characters)", t)
		}
	}
	for _, k := range f.MenuKeys {
		if strings.TrimSpace(k) == "" {
			return fail("empty menu key")
		}
	}
	f.index = make(map[string]int, len(f.Steps))
	fields := map[string]bool{}
	for i := range f.Steps {
		s := &f.Steps[i]
		if !idPattern.MatchString(s.ID) {
			return fail("step %d: id %q must be lower-case letters, digits and _ (2–48 characters)", i+1, s.ID)
		}
		if _, dup := f.index[s.ID]; dup {
			return fail("step %s: defined twice", s.ID)
		}
		f.index[s.ID] = i
		if s.Field != "" {
			fields[s.Field] = true
		}
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		if err := s.check(f, fields, lanes); err != nil {
			return fail("step %s: %v", s.ID, err)
		}
	}
	last := &f.Steps[len(f.Steps)-1]
	if last.Next == "" && last.Kind != KindEnd && last.Kind != KindHandoff {
		return fail("step %s: the last step must end the flow (end or handoff) or name its next step", last.ID)
	}
	return nil
}

func (s *Step) check(f *Flow, fields map[string]bool, lanes []string) error {
	ref := func(what, id string) error {
		if id == "" {
			return nil
		}
		if _, ok := f.index[id]; !ok {
			return fmt.Errorf("%s names step %q, which does not exist", what, id)
		}
		if id == s.ID && s.Kind != KindAsk {
			return fmt.Errorf("%s names the step itself", what)
		}
		return nil
	}
	if err := ref("next", s.Next); err != nil {
		return err
	}
	if s.When != nil && !fields[s.When.Field] && !actionValues[s.When.Field] {
		return fmt.Errorf("when: field %q is not collected by any step (nor one of %s)", s.When.Field, "status, reference, result, _local")
	}
	needText := func() error {
		if strings.TrimSpace(s.Text) == "" {
			return errors.New("text is required")
		}
		return nil
	}
	switch s.Kind {
	case KindMessage, KindEnd:
		return needText()
	case KindAsk:
		if err := needText(); err != nil {
			return err
		}
		if s.Field == "" {
			return errors.New("field is required (the name of the answer)")
		}
		if s.Input == nil {
			return errors.New("input is required (how the answer is checked)")
		}
		return s.Input.check(ref)
	case KindConfirm:
		if err := needText(); err != nil {
			return err
		}
		return ref("no", s.No)
	case KindAction:
		if !actionPattern.MatchString(s.Action) {
			return fmt.Errorf("action %q must be lower-case letters, digits, _ and . (2–64 characters)", s.Action)
		}
		return ref("on_fail", s.OnFail)
	case KindHandoff:
		return knownLane(s.Lane, lanes)
	case "":
		return errors.New("kind is required (message, ask, confirm, action, handoff or end)")
	}
	return fmt.Errorf("unknown kind %q (message, ask, confirm, action, handoff or end)", s.Kind)
}

func (in *Input) check(ref func(what, id string) error) error {
	switch in.Type {
	case InputChoice:
		if len(in.Choices) < 2 {
			return errors.New("input: a choice needs at least 2 choices")
		}
		seen := map[string]bool{}
		for _, c := range in.Choices {
			if strings.TrimSpace(c) == "" || seen[c] {
				return fmt.Errorf("input: choice %q is empty or given twice", c)
			}
			seen[c] = true
		}
		if len(in.ChoicesEN) > 0 && len(in.ChoicesEN) != len(in.Choices) {
			return fmt.Errorf("input: %d choices_en for %d choices (one English label each, in order)", len(in.ChoicesEN), len(in.Choices))
		}
		for choice, to := range in.Goto {
			if !seen[choice] {
				return fmt.Errorf("input: goto names %q, which is not a choice", choice)
			}
			if err := ref("input: goto", to); err != nil {
				return err
			}
		}
	case InputNumber, InputAmount:
		if in.Min < 0 || in.Max < 0 || in.Max != 0 && in.Min > in.Max {
			return fmt.Errorf("input: min %v and max %v must be positive, min ≤ max", in.Min, in.Max)
		}
	case InputPattern:
		if in.Pattern == "" {
			return errors.New("input: a pattern input needs a pattern")
		}
		// Compiled alone first: "A)|(?:B" must not close the anchors' group.
		_, err := regexp.Compile(in.Pattern)
		re, err2 := regexp.Compile(`^(?:` + in.Pattern + `)$`)
		if err = cmp.Or(err, err2); err != nil {
			return fmt.Errorf("input: pattern: %v", err)
		}
		in.re = re
	case InputText:
		if in.MinLen < 0 || in.MaxLen < 0 || in.MaxLen != 0 && in.MinLen > in.MaxLen {
			return fmt.Errorf("input: min_len %d and max_len %d must be positive, min ≤ max", in.MinLen, in.MaxLen)
		}
	case InputDate:
		if in.MaxDaysAgo < 0 {
			return errors.New("input: max_days_ago must be positive")
		}
	case InputPhone, InputIDCard, InputImage, InputEmail, InputCase:
	case "":
		return errors.New("input: type is required")
	default:
		return fmt.Errorf("input: unknown type %q", in.Type)
	}
	if (len(in.Goto) > 0 || len(in.ChoicesEN) > 0) && in.Type != InputChoice {
		return errors.New("input: goto and choices_en are only for choices")
	}
	return nil
}

func knownLane(lane string, lanes []string) error {
	if lane == "" || lanes == nil {
		return nil
	}
	for _, l := range lanes {
		if l == lane {
			return nil
		}
	}
	return fmt.Errorf("lane %q is not configured (lanes: %s)", lane, strings.Join(lanes, ", "))
}

// Builtin returns kefu's own flows.
func Builtin(lanes []string) ([]*Flow, error) {
	names, err := fs.Glob(builtin, "builtin/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*Flow
	for _, n := range names {
		data, err := builtin.ReadFile(n)
		if err != nil {
			return nil, err
		}
		fl, err := Parse("builtin:"+path.Base(n), data, lanes)
		if err != nil {
			return nil, err
		}
		out = append(out, fl...)
	}
	return out, nil
}

// ParseFile reads one definition file from disk.
func ParseFile(name string, lanes []string) ([]*Flow, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, name, MaxFileSize)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Parse(name, data, lanes)
}

// Load returns the built-in flows, then those of every .yaml, .yml and
// .json file in dir (if dir is not empty); a flow from dir replaces a
// built-in one with the same id. Any invalid file fails the whole load, so a
// reload never leaves half a set.
func Load(dir string, lanes []string) (*Registry, error) {
	all, err := Builtin(lanes)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: flows directory: %v", ErrInvalid, err)
		}
		byID := map[string]string{}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
			default:
				continue
			}
			if e.IsDir() {
				continue
			}
			fl, err := ParseFile(filepath.Join(dir, e.Name()), lanes)
			if err != nil {
				return nil, err
			}
			for _, f := range fl {
				if other, dup := byID[f.ID]; dup {
					return nil, fmt.Errorf("%w: flow %s: defined in %s and %s", ErrInvalid, f.ID, other, f.Source)
				}
				byID[f.ID] = f.Source
			}
			all = append(all, fl...)
		}
	}
	return NewRegistry(all)
}

// Registry is a checked set of flows with their triggers. It is immutable:
// a reload builds a new one.
type Registry struct {
	flows    map[string]*Flow
	order    []*Flow
	menu     map[string]string
	triggers []trigger // longest first
}

type trigger struct {
	phrase string // normalised
	flow   string
	// wide tells how the phrase is measured (see triggerSlack): in runes
	// beyond ASCII when it has any, else in all runes; size is its length
	// so measured.
	wide bool
	size int
}

func newTrigger(phrase, flow string) trigger {
	if w := wideRunes(phrase); w > 0 {
		return trigger{phrase, flow, true, w}
	}
	return trigger{phrase, flow, false, utf8.RuneCountInString(phrase)}
}

// NewRegistry indexes flows; a later flow replaces an earlier one with the
// same id. Two flows may not share a menu key or a trigger phrase.
func NewRegistry(list []*Flow) (*Registry, error) {
	r := &Registry{flows: map[string]*Flow{}, menu: map[string]string{}}
	for _, f := range list {
		if f.index == nil {
			if err := f.check(nil); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
		r.flows[f.ID] = f
	}
	seenTrigger := map[string]string{}
	for _, f := range list {
		if r.flows[f.ID] != f {
			continue // replaced
		}
		r.order = append(r.order, f)
		for _, k := range append([]string{f.ID}, f.MenuKeys...) {
			if other, dup := r.menu[k]; dup && other != f.ID {
				return nil, fmt.Errorf("%w: menu key %q belongs to flows %s and %s", ErrInvalid, k, other, f.ID)
			}
			r.menu[k] = f.ID
		}
		for _, t := range f.Triggers {
			n := intents.Normalize(t)
			if other, dup := seenTrigger[n]; dup && other != f.ID {
				return nil, fmt.Errorf("%w: trigger %q belongs to flows %s and %s", ErrInvalid, t, other, f.ID)
			}
			seenTrigger[n] = f.ID
			r.triggers = append(r.triggers, newTrigger(n, f.ID))
		}
	}
	sort.SliceStable(r.order, func(i, j int) bool { return r.order[i].ID < r.order[j].ID })
	sort.SliceStable(r.triggers, func(i, j int) bool { return len(r.triggers[i].phrase) > len(r.triggers[j].phrase) })
	return r, nil
}

// Flow returns the flow with the given id.
func (r *Registry) Flow(id string) (*Flow, bool) {
	f, ok := r.flows[id]
	return f, ok
}

// List returns every flow, by id.
func (r *Registry) List() []*Flow { return r.order }

// Len is the number of flows.
func (r *Registry) Len() int { return len(r.order) }

// MenuFlow returns the id of the flow a CLICK key starts: the flow's id,
// "flow:<id>" or one of its menu keys.
func (r *Registry) MenuFlow(key string) (string, bool) {
	id, ok := r.menu[strings.TrimPrefix(strings.TrimSpace(key), "flow:")]
	return id, ok
}

// triggerSlack is how much longer than a trigger phrase a message may be
// and still start its flow: "我想导出账单" does, a long story that mentions
// a bill does not (the knowledge base answers it). A Chinese phrase is
// measured in Chinese characters only, so a case number or an e-mail
// after it ("查询进度 KF20261125-7Q4M") does not count.
const triggerSlack = 12

// questionMarks make a message a question about a task ("怎么导出账单"),
// which the knowledge base answers (its article may offer the flow), not
// a request to do it ("我要导出账单").
var questionMarks = []string{"怎么", "如何", "怎样", "什么", "哪里", "在哪", "吗", "?", "？", "how ", "what "}

// MatchTrigger returns the flow whose longest trigger phrase the normalised
// text contains, when the text is a request, not a question, and not much
// longer than the phrase.
func (r *Registry) MatchTrigger(norm string) (string, bool) {
	for _, q := range questionMarks {
		if strings.Contains(norm, q) {
			return "", false
		}
	}
	all, wide := utf8.RuneCountInString(norm), wideRunes(norm)
	for _, t := range r.triggers {
		n := all
		if t.wide {
			n = wide
		}
		if n <= t.size+triggerSlack && strings.Contains(norm, t.phrase) {
			return t.flow, true
		}
	}
	return "", false
}

// wideRunes counts the runes beyond ASCII.
func wideRunes(s string) int {
	n := 0
	for _, r := range s {
		if r >= utf8.RuneSelf {
			n++
		}
	}
	return n
}

package intents

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed rules.yaml
var defaultRules []byte

// ErrBadRules is wrapped by every error about a rules file.
var ErrBadRules = errors.New("intents: bad rules")

// UrgentRule sends matching messages straight to a person in Lane.
type UrgentRule struct {
	Name string `yaml:"name"`
	Lane string `yaml:"lane"`
	// Offer names what the bot does before queueing (act, then escalate),
	// e.g. "emergency_freeze"; empty for nothing.
	Offer    string   `yaml:"offer"`
	Patterns []string `yaml:"patterns"`
	Unless   []string `yaml:"unless"`
}

// Rules is the routing configuration: what is urgent, what asks for a
// person, what says an answer did not help, and the small talk.
type Rules struct {
	Urgent      []UrgentRule `yaml:"urgent"`
	UserRequest struct {
		Always    []string `yaml:"always"`
		Statement []string `yaml:"statement"`
		Question  []string `yaml:"question"`
	} `yaml:"user_request"`
	NotHelpful struct {
		MaxRunes int      `yaml:"max_runes"`
		Patterns []string `yaml:"patterns"`
	} `yaml:"not_helpful"`
	Greeting    []string `yaml:"greeting"`
	Thanks      []string `yaml:"thanks"`
	Ack         []string `yaml:"ack"`
	Cancel      []string `yaml:"cancel"`
	QueueStatus []string `yaml:"queue_status"`
}

// DefaultRules returns the rules shipped with kefu.
func DefaultRules() Rules {
	r, err := ParseRules(defaultRules)
	if err != nil {
		panic(fmt.Sprintf("intents: embedded rules.yaml: %v", err)) // a build defect, caught by tests
	}
	return r
}

// LoadRules reads a rules file in the format of the embedded rules.yaml.
func LoadRules(path string) (Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("intents: %w", err)
	}
	r, err := ParseRules(data)
	if err != nil {
		return Rules{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRules decodes and validates rules from YAML. Unknown keys are errors.
func ParseRules(data []byte) (Rules, error) {
	var r Rules
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("%w: %v", ErrBadRules, err)
	}
	if _, err := compile(r); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// matcher is a compiled "any of patterns, none of unless" rule.
type matcher struct {
	any    *regexp.Regexp
	unless *regexp.Regexp
	// literals, when not nil, are strings one of which s must contain for
	// any to match (a cheap prefilter).
	literals []string
}

func (m matcher) match(s string) bool {
	if m.any == nil || m.literals != nil && !containsAny(s, m.literals) || !m.any.MatchString(s) {
		return false
	}
	return m.unless == nil || !m.unless.MatchString(s)
}

// compileAny joins patterns into one alternation; nil when there are none.
func compileAny(where string, patterns []string) (*regexp.Regexp, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	parts := make([]string, len(patterns))
	for i, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("%w: %s pattern %d %q: %v", ErrBadRules, where, i+1, p, err)
		}
		parts[i] = "(?:" + p + ")"
	}
	return regexp.MustCompile(strings.Join(parts, "|")), nil
}

func compileMatcher(where string, patterns, unless []string) (matcher, error) {
	anyRe, err := compileAny(where, patterns)
	if err != nil {
		return matcher{}, err
	}
	unlessRe, err := compileAny(where+" unless", unless)
	if err != nil {
		return matcher{}, err
	}
	m := matcher{any: anyRe, unless: unlessRe}
	if anyRe != nil {
		m.literals = requiredLiterals(anyRe.String())
	}
	return m, nil
}

// compiled is Rules ready to match.
type compiled struct {
	urgent        []compiledUrgent
	always        matcher
	statement     matcher
	question      matcher
	notHelpful    matcher
	notHelpfulMax int
	greeting      matcher
	thanks        matcher
	ack           matcher
	cancel        matcher
	queueStatus   matcher
}

type compiledUrgent struct {
	rule UrgentRule
	m    matcher
}

func compile(r Rules) (*compiled, error) {
	c := &compiled{notHelpfulMax: r.NotHelpful.MaxRunes}
	seen := map[string]bool{}
	for i, u := range r.Urgent {
		where := fmt.Sprintf("urgent rule %d (%s)", i+1, u.Name)
		if u.Name == "" || u.Lane == "" || len(u.Patterns) == 0 {
			return nil, fmt.Errorf("%w: %s: name, lane and patterns are required", ErrBadRules, where)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("%w: %s: duplicate name", ErrBadRules, where)
		}
		seen[u.Name] = true
		m, err := compileMatcher(where, u.Patterns, u.Unless)
		if err != nil {
			return nil, err
		}
		c.urgent = append(c.urgent, compiledUrgent{rule: u, m: m})
	}
	var err error
	for _, f := range []struct {
		where    string
		dst      *matcher
		patterns []string
	}{
		{"user_request.always", &c.always, r.UserRequest.Always},
		{"user_request.statement", &c.statement, r.UserRequest.Statement},
		{"user_request.question", &c.question, r.UserRequest.Question},
		{"not_helpful", &c.notHelpful, r.NotHelpful.Patterns},
		{"greeting", &c.greeting, r.Greeting},
		{"thanks", &c.thanks, r.Thanks},
		{"ack", &c.ack, r.Ack},
		{"cancel", &c.cancel, r.Cancel},
		{"queue_status", &c.queueStatus, r.QueueStatus},
	} {
		if *f.dst, err = compileMatcher(f.where, f.patterns, nil); err != nil {
			return nil, err
		}
	}
	return c, nil
}

package flows_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/intents/flows"
)

// lanes are the default handoff lanes.
var lanes = []string{"emergency", "minor", "enterprise", "care", "overseas", "normal"}

// demoHeader starts a valid flow "demo"; demoSteps are its valid steps.
const (
	demoHeader = "id: demo\ntitle: 演示\nlane: normal\n"
	demoSteps  = `steps:
  - id: pick
    kind: ask
    field: kind
    text: 哪种？
    input: {type: choice, choices: [甲, 乙]}
  - id: done
    kind: end
    text: 好的
`
)

func mustBuiltin(tb testing.TB) []*flows.Flow {
	tb.Helper()
	fl, err := flows.Builtin(lanes)
	if err != nil {
		tb.Fatalf("Builtin: %v", err)
	}
	return fl
}

func mustRegistry(tb testing.TB, fl []*flows.Flow) *flows.Registry {
	tb.Helper()
	reg, err := flows.NewRegistry(fl)
	if err != nil {
		tb.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

func writeFile(tb testing.TB, dir, name, data string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestBuiltin(t *testing.T) {
	fl := mustBuiltin(t)
	if len(fl) < 10 {
		t.Fatalf("Builtin: %d flows, want at least 10", len(fl))
	}
	for _, f := range fl {
		if !strings.HasPrefix(f.Source, "builtin:") || !strings.HasSuffix(f.Source, ".yaml") {
			t.Errorf("flow %s: Source %q, want builtin:<file>.yaml", f.ID, f.Source)
		}
		if _, ok := f.Step(f.Steps[0].ID); !ok {
			t.Errorf("flow %s: its first step is not indexed", f.ID)
		}
	}
	reg := mustRegistry(t, fl)
	if reg.Len() != len(fl) {
		t.Errorf("Len = %d, want %d", reg.Len(), len(fl))
	}
	list := reg.List()
	for i := 1; i < len(list); i++ {
		if list[i-1].ID >= list[i].ID {
			t.Errorf("List is not sorted by id: %s before %s", list[i-1].ID, list[i].ID)
		}
	}
}

func TestBuiltinStart(t *testing.T) {
	reg := mustRegistry(t, mustBuiltin(t))
	r, err := flows.NewRunner(reg, flows.Options{Cases: fakeCases{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range reg.List() {
		t.Run(f.ID, func(t *testing.T) {
			for _, en := range []bool{false, true} {
				turn, err := r.Start(context.Background(), f.ID, flows.User{OpenID: "o-1", English: en}, "menu", flows.Answer{})
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				if turn.State == nil || turn.Reply == "" {
					t.Errorf("Start (english %v): State %v, Reply %q; want a question", en, turn.State, turn.Reply)
				}
			}
		})
	}
}

func TestBuiltinUnknownLane(t *testing.T) {
	_, err := flows.Builtin([]string{"normal"})
	if !errors.Is(err, flows.ErrInvalid) || !strings.Contains(err.Error(), "builtin:") {
		t.Errorf("Builtin with only the normal lane: %v, want ErrInvalid naming the file", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src string
		ids       []string
	}{
		{"OKOne", demoHeader + demoSteps, []string{"demo"}},
		{"OKDocumentStart", "---\n" + demoHeader + demoSteps, []string{"demo"}},
		{"OKEmptyDocumentAfter", demoHeader + demoSteps + "---\n# nothing\n", []string{"demo"}},
		{"OKDocumentEnd", demoHeader + demoSteps + "...\n", []string{"demo"}},
		{"OKList", "flows:\n" + indent(demoHeader+demoSteps, "  - ", "    ") +
			indent(strings.Replace(demoHeader, "demo", "other", 1)+demoSteps, "  - ", "    "), []string{"demo", "other"}},
		{"OKJSON", `{"id": "demo", "title": "演示", "lane": "normal", "steps": [
			{"id": "pick", "kind": "ask", "field": "kind", "text": "哪种？",
			 "input": {"type": "choice", "choices": ["甲", "乙"], "goto": {"乙": "other"}}},
			{"id": "done", "kind": "end", "text": "好的"},
			{"id": "other", "kind": "handoff", "lane": "care", "text": "转人工"}]}`, []string{"demo"}},
		{"OKJSONList", `{"flows": [{"id": "demo", "title": "演示", "lane": "normal",
			"steps": [{"id": "done", "kind": "end", "text": "好的"}]}]}`, []string{"demo"}},
		{"OKAskItselfNext", demoHeader + `steps:
  - {id: pick, kind: ask, field: kind, text: 哪种, next: pick, input: {type: text}}
`, []string{"demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl, err := flows.Parse("x.yaml", []byte(tt.src), lanes)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var ids []string
			for _, f := range fl {
				ids = append(ids, f.ID)
				if f.Source != "x.yaml" {
					t.Errorf("flow %s: Source %q, want x.yaml", f.ID, f.Source)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
				t.Errorf("flows %v, want %v", ids, tt.ids)
			}
		})
	}
}

// indent puts first before the first line of s and rest before the others.
func indent(s, first, rest string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = first + lines[i]
		} else {
			lines[i] = rest + lines[i]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseErr(t *testing.T) {
	end := "  - {id: done, kind: end, text: 好的}\n"
	tests := []struct {
		name string
		src  string
		// want are parts of the message: the first follows "x.yaml: ".
		want []string
	}{
		{"ErrUnknownField", demoHeader + "steps:\n  - {id: done, kinds: end, text: 好的}\n", []string{"yaml: ", "line 5: field kinds not found"}},
		{"ErrUnknownFlowField", demoHeader + "lanes: normal\n" + demoSteps, []string{"yaml: ", "line 4: field lanes not found"}},
		{"ErrFlowID", strings.Replace(demoHeader, "demo", "Demo-1", 1) + demoSteps, []string{`flow "Demo-1": id must`}},
		{"ErrFlowIDShort", strings.Replace(demoHeader, "demo", "d", 1) + demoSteps, []string{`flow "d": id must`}},
		{"ErrNoTitle", "id: demo\nlane: normal\n" + demoSteps, []string{"flow demo: title is required"}},
		{"ErrBlankTitle", "id: demo\ntitle: ' '\nlane: normal\n" + demoSteps, []string{"flow demo: title is required"}},
		{"ErrNoLane", "id: demo\ntitle: 演示\n" + demoSteps, []string{"flow demo: lane is required"}},
		{"ErrUnknownLane", "id: demo\ntitle: 演示\nlane: vip\n" + demoSteps, []string{`flow demo: lane "vip" is not configured`}},
		{"ErrNoSteps", demoHeader, []string{"flow demo: no steps"}},
		{"ErrEmptySteps", demoHeader + "steps: []\n", []string{"flow demo: no steps"}},
		{"ErrShortTrigger", demoHeader + "triggers: [查]\n" + demoSteps, []string{`flow demo: trigger "查" is too short`}},
		{"ErrEmptyMenuKey", demoHeader + "menu_keys: [' ']\n" + demoSteps, []string{"flow demo: empty menu key"}},
		{"ErrStepID", demoHeader + "steps:\n  - {id: Done, kind: end, text: 好的}\n", []string{`flow demo: step 1: id "Done" must`}},
		{"ErrDuplicateStep", demoHeader + demoSteps + end, []string{"flow demo: step done: defined twice"}},
		{"ErrNoKind", demoHeader + "steps:\n  - {id: done, text: 好的}\n", []string{"flow demo: step done: kind is required"}},
		{"ErrUnknownKind", demoHeader + "steps:\n  - {id: done, kind: finish, text: 好的}\n", []string{`flow demo: step done: unknown kind "finish"`}},
		{"ErrNoText", demoHeader + "steps:\n  - {id: done, kind: end}\n", []string{"flow demo: step done: text is required"}},
		{"ErrAskNoField", demoHeader + "steps:\n  - {id: pick, kind: ask, text: 哪种, input: {type: text}}\n" + end,
			[]string{"flow demo: step pick: field is required"}},
		{"ErrAskNoInput", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种}\n" + end,
			[]string{"flow demo: step pick: input is required"}},
		{"ErrInputNoType", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {min: 1}}\n" + end,
			[]string{"flow demo: step pick: input: type is required"}},
		{"ErrInputUnknownType", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: colour}}\n" + end,
			[]string{`flow demo: step pick: input: unknown type "colour"`}},
		{"ErrOneChoice", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: choice, choices: [甲]}}\n" + end,
			[]string{"flow demo: step pick: input: a choice needs at least 2 choices"}},
		{"ErrDuplicateChoice", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: choice, choices: [甲, 甲]}}\n" + end,
			[]string{`flow demo: step pick: input: choice "甲" is empty or given twice`}},
		{"ErrGotoMissingStep", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: choice, choices: [甲, 乙], goto: {乙: nowhere}}}\n" + end,
			[]string{`flow demo: step pick: input: goto names step "nowhere", which does not exist`}},
		{"ErrGotoNotChoice", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: choice, choices: [甲, 乙], goto: {丙: done}}}\n" + end,
			[]string{`flow demo: step pick: input: goto names "丙", which is not a choice`}},
		{"ErrGotoNotForText", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: text, goto: {甲: done}}}\n" + end,
			[]string{"flow demo: step pick: input: goto and choices_en are only for choices"}},
		{"ErrChoicesENCount", demoHeader + "steps:\n  - {id: pick, kind: ask, field: kind, text: 哪种, input: {type: choice, choices: [甲, 乙], choices_en: [A]}}\n" + end,
			[]string{"flow demo: step pick: input: 1 choices_en for 2 choices"}},
		{"ErrNoPattern", demoHeader + "steps:\n  - {id: ref, kind: ask, field: ref, text: 编号, input: {type: pattern}}\n" + end,
			[]string{"flow demo: step ref: input: a pattern input needs a pattern"}},
		{"ErrBadPattern", demoHeader + "steps:\n  - {id: ref, kind: ask, field: ref, text: 编号, input: {type: pattern, pattern: '[A-Z'}}\n" + end,
			[]string{"flow demo: step ref: input: pattern: error parsing regexp"}},
		{"ErrMinAboveMax", demoHeader + "steps:\n  - {id: count, kind: ask, field: n, text: 几次, input: {type: number, min: 5, max: 2}}\n" + end,
			[]string{"flow demo: step count: input: min 5 and max 2 must be positive"}},
		{"ErrAmountMinAboveMax", demoHeader + "steps:\n  - {id: amount, kind: ask, field: n, text: 多少, input: {type: amount, min: 5, max: 2}}\n" + end,
			[]string{"flow demo: step amount: input: min 5 and max 2 must be positive"}},
		{"ErrTextMinAboveMax", demoHeader + "steps:\n  - {id: detail, kind: ask, field: d, text: 说说, input: {type: text, min_len: 9, max_len: 3}}\n" + end,
			[]string{"flow demo: step detail: input: min_len 9 and max_len 3"}},
		{"ErrNegativeMaxDaysAgo", demoHeader + "steps:\n  - {id: day, kind: ask, field: d, text: 哪天, input: {type: date, max_days_ago: -1}}\n" + end,
			[]string{"flow demo: step day: input: max_days_ago must be positive"}},
		{"ErrNextMissing", demoHeader + "steps:\n  - {id: intro, kind: message, text: 你好, next: nowhere}\n" + end,
			[]string{`flow demo: step intro: next names step "nowhere", which does not exist`}},
		{"ErrNextItself", demoHeader + "steps:\n  - {id: intro, kind: message, text: 你好, next: intro}\n" + end,
			[]string{"flow demo: step intro: next names the step itself"}},
		{"ErrConfirmNoMissing", demoHeader + "steps:\n  - {id: sure, kind: confirm, text: 确认吗, no: nowhere}\n" + end,
			[]string{`flow demo: step sure: no names step "nowhere"`}},
		{"ErrAction", demoHeader + "steps:\n  - {id: submit, kind: action, action: Submit!}\n" + end,
			[]string{`flow demo: step submit: action "Submit!" must be`}},
		{"ErrOnFailMissing", demoHeader + "steps:\n  - {id: submit, kind: action, action: submit, on_fail: nowhere}\n" + end,
			[]string{`flow demo: step submit: on_fail names step "nowhere"`}},
		{"ErrHandoffLane", demoHeader + "steps:\n  - {id: agent, kind: handoff, lane: vip, text: 转人工}\n",
			[]string{`flow demo: step agent: lane "vip" is not configured`}},
		{"ErrWhenUnknownField", demoHeader + "steps:\n  - {id: intro, kind: message, text: 你好, when: {field: colour, equals: red}}\n" + end,
			[]string{`flow demo: step intro: when: field "colour" is not collected`}},
		{"ErrLastStepNotEnding", demoHeader + "steps:\n  - {id: intro, kind: message, text: 你好}\n",
			[]string{"flow demo: step intro: the last step must end the flow"}},
		{"ErrSameIDTwice", "flows:\n" + indent(demoHeader+demoSteps, "  - ", "    ") + indent(demoHeader+demoSteps, "  - ", "    "),
			[]string{"flow demo: defined twice"}},
		{"ErrListAndFlow", demoHeader + demoSteps + "flows:\n" + indent(demoHeader+demoSteps, "  - ", "    "),
			[]string{"either one flow or a list under flows"}},
		{"ErrTwoDocuments", demoHeader + demoSteps + "---\n" + strings.Replace(demoHeader, "demo", "other", 1) + demoSteps,
			[]string{"more than one YAML document"}},
		{"ErrEmpty", "", []string{"empty"}},
		{"ErrOnlyComments", "# nothing here\n", []string{"empty"}},
		{"ErrNoFlow", "{}", []string{"no flow"}},
		{"ErrNotAMapping", "- a\n- b\n", []string{"yaml: ", "cannot unmarshal !!seq"}},
		{"ErrNotUTF8", demoHeader + "description: \xff\xfe\n" + demoSteps, []string{"not UTF-8"}},
		{"ErrTooLarge", demoHeader + demoSteps + "#" + strings.Repeat("x", flows.MaxFileSize), []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl, err := flows.Parse("x.yaml", []byte(tt.src), lanes)
			if err == nil {
				t.Fatalf("Parse succeeded with %d flows, want an error", len(fl))
			}
			if !errors.Is(err, flows.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			for i, want := range tt.want {
				if i == 0 {
					want = "x.yaml: " + want
				}
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestParseNilLanes(t *testing.T) {
	src := "id: demo\ntitle: 演示\nlane: anywhere\nsteps:\n  - {id: agent, kind: handoff, lane: elsewhere, text: 转人工}\n"
	if _, err := flows.Parse("x.yaml", []byte(src), nil); err != nil {
		t.Errorf("Parse with nil lanes: %v, want any lane accepted", err)
	}
}

func TestLoad(t *testing.T) {
	builtin := len(mustBuiltin(t))
	t.Run("OKNoDir", func(t *testing.T) {
		reg, err := flows.Load("", lanes)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Len() != builtin {
			t.Errorf("Len = %d, want %d", reg.Len(), builtin)
		}
	})
	t.Run("OKOverrideAndAdd", func(t *testing.T) {
		dir := t.TempDir()
		override := writeFile(t, dir, "bill.yaml", strings.Replace(demoHeader, "demo", "bill_export", 1)+
			"menu_keys: [BILL_EXPORT]\ntriggers: [我要导出账单]\n"+demoSteps)
		writeFile(t, dir, "extra.json", `{"id": "extra", "title": "额外", "lane": "care",
			"steps": [{"id": "done", "kind": "end", "text": "好的"}]}`)
		writeFile(t, dir, "README.md", "not a flow")
		if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		reg, err := flows.Load(dir, lanes)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Len() != builtin+1 {
			t.Errorf("Len = %d, want %d", reg.Len(), builtin+1)
		}
		f, ok := reg.Flow("bill_export")
		if !ok || f.Title != "演示" || f.Source != override {
			t.Errorf("bill_export = %+v, want the one from %s", f, override)
		}
		if id, ok := reg.MenuFlow("BILL_EXPORT"); !ok || id != "bill_export" {
			t.Errorf("MenuFlow(BILL_EXPORT) = %q, %v", id, ok)
		}
		if _, ok := reg.Flow("extra"); !ok {
			t.Error("the flow of extra.json is missing")
		}
	})
	t.Run("ErrSameIDInTwoFiles", func(t *testing.T) {
		dir := t.TempDir()
		a := writeFile(t, dir, "a.yaml", demoHeader+demoSteps)
		b := writeFile(t, dir, "b.yml", demoHeader+demoSteps)
		_, err := flows.Load(dir, lanes)
		if !errors.Is(err, flows.ErrInvalid) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
			t.Errorf("Load: %v, want ErrInvalid naming %s and %s", err, a, b)
		}
	})
	t.Run("ErrInvalidFile", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "a.yaml", demoHeader+demoSteps)
		bad := writeFile(t, dir, "b.yaml", "id: broken\n")
		reg, err := flows.Load(dir, lanes)
		if !errors.Is(err, flows.ErrInvalid) || !strings.Contains(err.Error(), bad) || reg != nil {
			t.Errorf("Load = %v, %v; want nil, ErrInvalid naming %s", reg, err, bad)
		}
	})
	t.Run("ErrTriggerOfAnotherBuiltin", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "a.yaml", demoHeader+"triggers: [我要导出账单]\n"+demoSteps)
		if _, err := flows.Load(dir, lanes); !errors.Is(err, flows.ErrInvalid) {
			t.Errorf("Load: %v, want ErrInvalid", err)
		}
	})
	t.Run("ErrNoDir", func(t *testing.T) {
		if _, err := flows.Load(filepath.Join(t.TempDir(), "missing"), lanes); !errors.Is(err, flows.ErrInvalid) {
			t.Errorf("Load: %v, want ErrInvalid", err)
		}
	})
}

// mustParse parses src as x.yaml with the default lanes.
func mustParse(tb testing.TB, src string) []*flows.Flow {
	tb.Helper()
	fl, err := flows.Parse("x.yaml", []byte(src), lanes)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return fl
}

func TestNewRegistry(t *testing.T) {
	flow := func(id, extra string) *flows.Flow {
		return mustParse(t, strings.Replace(demoHeader, "demo", id, 1)+extra+demoSteps)[0]
	}
	t.Run("OKLaterReplaces", func(t *testing.T) {
		a, b := flow("demo", "triggers: [办理演示]\n"), flow("demo", "triggers: [办理演示]\nmenu_keys: [DEMO]\n")
		reg := mustRegistry(t, []*flows.Flow{a, b})
		if f, _ := reg.Flow("demo"); f != b || reg.Len() != 1 {
			t.Errorf("Flow(demo) is not the later one, or Len %d != 1", reg.Len())
		}
	})
	t.Run("OKUnchecked", func(t *testing.T) {
		f := &flows.Flow{ID: "plain", Title: "直接", Lane: "normal", Steps: []flows.Step{{ID: "done", Kind: flows.KindEnd, Text: "好"}}}
		reg := mustRegistry(t, []*flows.Flow{f})
		if _, ok := reg.Flow("plain"); !ok {
			t.Error("the flow is missing")
		}
	})
	tests := []struct {
		name string
		list []*flows.Flow
	}{
		{"ErrMenuKey", []*flows.Flow{flow("one", "menu_keys: [SAME]\n"), flow("two", "menu_keys: [SAME]\n")}},
		{"ErrMenuKeyIsID", []*flows.Flow{flow("one", ""), flow("two", "menu_keys: [one]\n")}},
		{"ErrTrigger", []*flows.Flow{flow("one", "triggers: [导出账单]\n"), flow("two", "triggers: [导出 账单]\n")}},
		{"ErrTriggerCase", []*flows.Flow{flow("one", "triggers: [Export Bill]\n"), flow("two", "triggers: [export bill]\n")}},
		{"ErrUnchecked", []*flows.Flow{{ID: "plain", Lane: "normal"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := flows.NewRegistry(tt.list); !errors.Is(err, flows.ErrInvalid) {
				t.Errorf("NewRegistry: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestMatchTrigger(t *testing.T) {
	reg := mustRegistry(t, mustBuiltin(t))
	tests := []struct {
		name, text, want string
	}{
		{"OK", "我要导出账单", "bill_export"},
		{"OKPolite", "你好，我要导出账单，谢谢！", "bill_export"},
		{"OKSpaces", "我要 导出 账单", "bill_export"},
		{"OKCaseNumber", "查询进度 KF20261125-7Q4M", "case_status"},
		{"OKEnglish", "Please, export my bill", "bill_export"},
		{"OKLongestPhrase", "我要举报诈骗", "fraud_report"},
		{"NoMatchLongSentence", "上个月我在商场买了很多东西回家以后发现好像被重复扣了钱所以我要导出账单核对", ""},
		{"NoMatchUnrelated", "今天天气怎么样", ""},
		{"NoMatchEmpty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := reg.MatchTrigger(intents.Normalize(tt.text))
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("MatchTrigger(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
			}
		})
	}
}

func TestMenuFlow(t *testing.T) {
	reg := mustRegistry(t, mustBuiltin(t))
	tests := []struct {
		name, key, want string
	}{
		{"OKMenuKey", "BILL_EXPORT", "bill_export"},
		{"OKPrefixedID", "flow:bill_export", "bill_export"},
		{"OKID", "bill_export", "bill_export"},
		{"OKSpaces", " flow:case_status ", "case_status"},
		{"OKPrefixedMenuKey", "flow:CASE_STATUS", "case_status"},
		{"NoMatchCase", "Bill_Export", ""},
		{"NoMatchUnknown", "flow:nothing", ""},
		{"NoMatchEmpty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := reg.MenuFlow(tt.key)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("MenuFlow(%q) = %q, %v; want %q", tt.key, got, ok, tt.want)
			}
		})
	}
}

var (
	topID       = regexp.MustCompile(`(?m)^id: \w+$`)
	topTriggers = regexp.MustCompile(`(?m)^(triggers|menu_keys):.*\n`)
)

func BenchmarkLoad100(b *testing.B) {
	names, err := filepath.Glob("builtin/*.yaml")
	if err != nil || len(names) == 0 {
		b.Fatalf("builtin files: %v %v", names, err)
	}
	dir := b.TempDir()
	for i := range 100 {
		data, err := os.ReadFile(names[i%len(names)])
		if err != nil {
			b.Fatal(err)
		}
		src := topTriggers.ReplaceAllString(topID.ReplaceAllString(string(data), fmt.Sprintf("id: flow_%03d", i)), "")
		writeFile(b, dir, fmt.Sprintf("flow_%03d.yaml", i), src)
	}
	reg, err := flows.Load(dir, lanes)
	if err != nil {
		b.Fatal(err)
	}
	if want := 100 + len(mustBuiltin(b)); reg.Len() != want {
		b.Fatalf("Len = %d, want %d", reg.Len(), want)
	}
	for b.Loop() {
		if _, err := flows.Load(dir, lanes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	tests := []struct {
		name string
		in   *flows.Input
		text string
	}{
		{"Choice", &flows.Input{Type: flows.InputChoice, Choices: []string{"近1个月", "近3个月", "近6个月", "近1年", "自定义时间段"}}, "我要近6个月的"},
		{"Amount", &flows.Input{Type: flows.InputAmount, Max: 50000}, "￥1,280.50"},
		{"Date", &flows.Input{Type: flows.InputDate}, "2026年11月20日"},
		{"Phone", &flows.Input{Type: flows.InputPhone}, "+86 138-0013-8000"},
		{"IDCard", &flows.Input{Type: flows.InputIDCard}, "11010519491231002x"},
		{"Email", &flows.Input{Type: flows.InputEmail}, "first-last@example.com"},
		{"Case", &flows.Input{Type: flows.InputCase}, "查询进度 kf20261125-7q4m"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			a := flows.Answer{Text: tt.text}
			for b.Loop() {
				if _, ok := tt.in.Check(a, now); !ok {
					b.Fatalf("%q refused", tt.text)
				}
			}
		})
	}
}

func TestIsAnswer(t *testing.T) {
	reg := mustRegistry(t, mustBuiltin(t))
	r, err := flows.NewRunner(reg, flows.Options{Cases: fakeCases{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flow, step, text string
		want             bool
	}{
		{"minor_refund", "guardian", "王小明", false}, // a short text: a question would pass too
		{"minor_refund", "guardian", "取消", true},
		{"minor_refund", "relation", "母亲", true},
		{"minor_refund", "relation", "退款要多久", false},
		{"minor_refund", "age", "9", true},
		{"minor_refund", "age", "三十", false},
		{"minor_refund", "confirm", "确认提交", true},
		{"minor_refund", "confirm", "要多久", false},
		{"minor_refund", "evidence", "图片怎么发", false},
		{"payment_dispute", "detail", "为什么重复扣款一直没退？", true}, // a description
		{"payment_dispute", "merchant", "某某便利店", false},
		{"no_such_flow", "x", "anything", true},
	}
	for _, tt := range tests {
		st := flows.State{Flow: tt.flow, Step: tt.step, StartedAt: now, UpdatedAt: now}
		if got := r.IsAnswer(st, flows.Answer{Text: tt.text}); got != tt.want {
			t.Errorf("IsAnswer(%s/%s, %q) = %v, want %v", tt.flow, tt.step, tt.text, got, tt.want)
		}
	}
}

package flows_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/intents/flows"
)

// fakeCases is a cases service that opens every case as KF20261125-7Q4M
// and finds none.
type fakeCases struct{}

var _ flows.Cases = fakeCases{}

func (fakeCases) Open(_ context.Context, n cases.NewCase) (cases.Case, error) {
	return cases.Case{ID: "KF20261125-7Q4M", OpenID: n.OpenID, Flow: n.Flow, Title: n.Title,
		Status: cases.StatusSubmitted, Fields: n.Fields, CreatedAt: now, UpdatedAt: now}, nil
}

func (fakeCases) UserCase(_ context.Context, _, id string) (cases.Case, error) {
	return cases.Case{}, cases.ErrNotFound
}

func (fakeCases) ForUser(context.Context, string, int) ([]cases.Case, error) {
	return nil, nil
}

// fuzzInputs are one input of every type, as a flow would load them.
func fuzzInputs(tb testing.TB) []*flows.Input {
	tb.Helper()
	return []*flows.Input{
		{Type: flows.InputChoice, Choices: []string{"近1个月", "近3个月", "自定义时间段", "Other"}},
		{Type: flows.InputNumber, Min: 1, Max: 1000},
		{Type: flows.InputAmount, Max: 50000},
		{Type: flows.InputDate, MaxDaysAgo: 365},
		{Type: flows.InputPhone},
		{Type: flows.InputIDCard},
		mustInput(tb, `{type: pattern, pattern: "[A-Z]{2}\\d{4,12}"}`),
		{Type: flows.InputText, MinLen: 1, MaxLen: 50},
		{Type: flows.InputImage},
		{Type: flows.InputEmail},
		{Type: flows.InputCase},
	}
}

// stable are the input types whose value, checked again, is accepted as
// itself.
var stable = map[flows.InputType]bool{
	flows.InputNumber: true, flows.InputAmount: true, flows.InputDate: true, flows.InputPhone: true,
	flows.InputIDCard: true, flows.InputEmail: true, flows.InputCase: true,
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"2", "第3个", "近3个月吧", "12", "3次", "-5", "￥1,280.50", "648元", "1.005", "0",
		"2026-11-20", "2026/1/5", "2026年11月20日", "11月20日", "11-20", "20261120", "昨天", "2026-02-30",
		"+86 138-0013-8000", "0086 13800138000", "+86+8600000", "+447911123456", "0044 7911 123456", "12345",
		"11010519491231002x", "110105194912310021", "AB123456", "ab 1234-5678",
		"转错账了", "name@Example.COM", "first-last@my-domain.com", "查询进度 kf20261125-7q4m",
		"ＫＦ２０２６１１２５－７Ｑ４Ｍ", "", "　", "\xff",
	} {
		f.Add(s, "")
	}
	f.Add("", "media-1")
	inputs := fuzzInputs(f)
	f.Fuzz(func(t *testing.T, text, media string) {
		for _, in := range inputs {
			v, ok := in.Check(flows.Answer{Text: text, Media: media}, now)
			if !ok {
				if v != "" {
					t.Errorf("%s: Check(%q) refused it but returned %q", in.Type, text, v)
				}
				continue
			}
			if v == "" {
				t.Errorf("%s: Check(%q) accepted an empty value", in.Type, text)
			}
			if !stable[in.Type] {
				continue
			}
			again, ok := in.Check(flows.Answer{Text: v}, now)
			if !ok {
				t.Errorf("%s: Check(%q) = %q, which Check refuses", in.Type, text, v)
				continue
			}
			if again != v {
				t.Errorf("%s: Check(%q) = %q, and Check(%q) = %q", in.Type, text, v, v, again)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	names, err := filepath.Glob("builtin/*.yaml")
	if err != nil || len(names) == 0 {
		f.Fatalf("builtin files: %v %v", names, err)
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		demoHeader + demoSteps,
		"flows:\n" + indent(demoHeader+demoSteps, "  - ", "    "),
		`{"id": "demo", "title": "演示", "lane": "normal", "steps": [{"id": "done", "kind": "end", "text": "{case}", "case": true}]}`,
		demoHeader + "steps:\n  - {id: one, kind: message, text: a, next: two}\n  - {id: two, kind: message, text: b, next: one}\n",
		demoHeader + "steps:\n  - {id: submit, kind: action, action: kefu.case_status, on_fail: agent}\n" +
			"  - {id: done, kind: end, text: '{result}'}\n  - {id: agent, kind: handoff, text: 转人工}\n",
		"", "{}", "- a", "id: &a x\nsteps: *a\n",
	} {
		f.Add([]byte(s))
	}
	runner := func(t *testing.T, reg *flows.Registry) *flows.Runner {
		r, err := flows.NewRunner(reg, flows.Options{Cases: fakeCases{}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := flows.Parse("fuzz.yaml", data, lanes)
		if err != nil {
			if !errors.Is(err, flows.ErrInvalid) || !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Errorf("Parse: %v, want ErrInvalid naming the file", err)
			}
			return
		}
		if len(fl) == 0 {
			t.Fatal("Parse accepted a file without flows")
		}
		reg, err := flows.NewRegistry(fl)
		if err != nil {
			if !errors.Is(err, flows.ErrInvalid) {
				t.Errorf("NewRegistry: %v, want ErrInvalid", err)
			}
			return
		}
		r := runner(t, reg)
		ctx := context.Background()
		u := flows.User{OpenID: "o-fuzz"}
		for _, prefill := range []flows.Answer{{}, {Text: "1"}} {
			turn, err := r.Start(ctx, fl[0].ID, u, "menu", prefill)
			if err != nil {
				continue // a loop without a question fails at run time
			}
			if (turn.State == nil) == (turn.End == "") {
				t.Errorf("Start: State %v with End %q", turn.State, turn.End)
			}
			if turn.State != nil {
				_, _ = r.Continue(ctx, *turn.State, u, flows.Answer{Text: "1", Media: "m"})
			}
		}
	})
}

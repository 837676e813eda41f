package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEvalCommand runs kefu eval on the small Chinese set beside the
// repository (../shared/data/xsid_zh): -tune on dev, then test with the
// printed threshold, and the last line in the documented format.
func TestEvalCommand(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "xsid_zh"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no labelled data at %s", dir)
	}
	line := regexp.MustCompile(`^dataset=xsid_zh split=(dev|test) in_scope_acc=[0-9.]+ in_scope_acc_nothreshold=[0-9.]+ ` +
		`oos_recall=[0-9.]+ oos_precision=[0-9.]+ urgent_recall=[0-9.]+ threshold=([0-9.]+) p50_us=[0-9.]+ p99_us=[0-9.]+$`)
	last := func(args ...string) []string {
		t.Helper()
		var out, errw bytes.Buffer
		if err := run(context.Background(), append([]string{"eval", "-data", dir}, args...), nil, &out, &errw, nil); err != nil {
			t.Fatalf("kefu eval %v: %v\n%s", args, err, errw.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		m := line.FindStringSubmatch(lines[len(lines)-1])
		if m == nil {
			t.Fatalf("kefu eval %v: last line %q is not in the documented format", args, lines[len(lines)-1])
		}
		return m
	}
	dev := last("-split", "dev", "-tune")
	test := last("-split", "test", "-threshold", dev[2])
	if test[1] != "test" || test[2] != dev[2] {
		t.Errorf("test run %q, want split test at threshold %s", test[0], dev[2])
	}
	var out, errw bytes.Buffer
	err = run(context.Background(), []string{"eval", "-data", dir, "-split", "test", "-tune"}, nil, &out, &errw, nil)
	if !errors.Is(err, errUsage) {
		t.Errorf("-tune on test: %v, want a usage error (never tune on test)", err)
	}
}

// TestEvalGivenKB measures a given knowledge base: the default one on its
// everyday questions, listing the misses before the figures, and an
// exported file; a broken file is an error naming it.
func TestEvalGivenKB(t *testing.T) {
	eval := func(args ...string) (string, error) {
		var out, errw bytes.Buffer
		err := run(context.Background(), append([]string{"eval"}, args...), nil, &out, &errw, nil)
		return out.String(), err
	}
	out, err := eval("-kb", "default", "-data", filepath.Join("..", "..", "kb", "testdata", "default_kb"), "-split", "dev", "-misses")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "dataset=default_kb split=dev ") {
		t.Errorf("last line %q, want the figures of default_kb", last)
	}
	miss := regexp.MustCompile(`^miss want=[a-z0-9-]+ (answered|refused)=[a-z0-9-]+ score=[0-9.]+ .+$`)
	misses := 0
	for _, l := range lines[1 : len(lines)-1] {
		if !miss.MatchString(l) {
			t.Errorf("line %q is not a miss", l)
		}
		misses++
	}
	t.Logf("%d misses of the default knowledge base on its dev questions", misses)

	dir := t.TempDir()
	export := filepath.Join(dir, "kb.json")
	if err := os.WriteFile(export, []byte(`[{"id": "bill", "question": "how do I export my bill", "answer": "Settings.", "kind": "faq", "status": "published"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev.jsonl"), []byte(`{"text": "export my bill", "intent": "bill"}`+"\n"+
		`{"text": "sing me a song", "intent": "bill"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = eval("-kb", export, "-data", dir, "-misses")
	if err != nil || !strings.Contains(out, " in_scope_acc=0.5000 ") || !strings.Contains(out, "\nmiss want=bill refused=- score=0.000 sing me a song\n") {
		t.Errorf("eval of an export with a known miss: %v\n%s", err, out)
	}
	if err := os.WriteFile(export, []byte(`[{"id": "bill"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := eval("-kb", export, "-data", dir); err == nil || !strings.Contains(err.Error(), "kb.json") {
		t.Errorf("eval of a broken export: %v, want an error naming the file", err)
	}
}

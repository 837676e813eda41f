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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/internal/webui"
)

// casesApp opens the part of the app kefu cases uses: the cases on the
// embedded store in dataDir.
func casesApp(dataDir string) func() (*app, error) {
	return func() (*app, error) {
		db, err := sqlitedb.Open(filepath.Join(dataDir, "kefu.db"))
		if err != nil {
			return nil, err
		}
		a := &app{closers: []io.Closer{db}}
		return a, a.openCases(nil, db)
	}
}

// casesKefu runs kefu cases with args on the embedded store in dataDir.
func casesKefu(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := casesCmd(context.Background(), casesApp(dataDir), args, &out, io.Discard)
	return out.String(), err
}

func mustCasesKefu(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	out, err := casesKefu(t, dataDir, args...)
	if err != nil {
		t.Fatalf("kefu cases %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// seedCases opens a case of each of two flows in dataDir's store.
func seedCases(t *testing.T, dataDir string) (fraud, bill cases.Case) {
	t.Helper()
	a, err := casesApp(dataDir)()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	if fraud, err = a.cases.Open(ctx, cases.NewCase{OpenID: "o-1", Flow: "fraud_report", Title: "诈骗举报",
		Fields: []cases.Field{{Name: "receipt", Label: "报案回执编号", Value: "A1234567"}}}); err != nil {
		t.Fatal(err)
	}
	if bill, err = a.cases.Open(ctx, cases.NewCase{OpenID: "o-2", Flow: "bill_export", Title: "账单导出"}); err != nil {
		t.Fatal(err)
	}
	return fraud, bill
}

func TestCasesCommand(t *testing.T) {
	dir := t.TempDir()
	fraud, bill := seedCases(t, dir)

	out := mustCasesKefu(t, dir)
	for _, want := range []string{fraud.ID, bill.ID, "fraud_report", "诈骗举报", "o-2", "2 case(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("kefu cases has no %q:\n%s", want, out)
		}
	}
	if out := mustCasesKefu(t, dir, "-flow", "bill_export"); strings.Contains(out, fraud.ID) || !strings.Contains(out, bill.ID) {
		t.Errorf("kefu cases -flow bill_export:\n%s", out)
	}

	out = mustCasesKefu(t, dir, "set", "-by", "wang", strings.ToLower(fraud.ID), "processing", "已转交风控团队")
	if !strings.Contains(out, fraud.ID) || !strings.Contains(out, "处理中") {
		t.Errorf("kefu cases set printed %q", out)
	}
	if out := mustCasesKefu(t, dir, "-status", "processing"); !strings.Contains(out, fraud.ID) || strings.Contains(out, bill.ID) {
		t.Errorf("kefu cases -status processing:\n%s", out)
	}
	out = mustCasesKefu(t, dir, "show", fraud.ID)
	for _, want := range []string{"报案回执编号: A1234567", "processing", "wang", "已转交风控团队"} {
		if !strings.Contains(out, want) {
			t.Errorf("kefu cases show has no %q:\n%s", want, out)
		}
	}
	var got cases.Case
	if err := json.Unmarshal([]byte(mustCasesKefu(t, dir, "show", "-json", fraud.ID)), &got); err != nil ||
		len(got.History) != 2 || got.History[1].By != "wang" {
		t.Errorf("kefu cases show -json: %+v, %v", got, err)
	}

	for _, tt := range []struct {
		name string
		args []string
		want error
	}{
		{"BadStatus", []string{"set", fraud.ID, "done"}, errUsage},
		{"SetNoStatus", []string{"set", fraud.ID}, errUsage},
		{"ShowNoID", []string{"show"}, errUsage},
		{"Stray", []string{"list"}, errUsage},
		{"ListBadStatus", []string{"-status", "done"}, cases.ErrBadStatus},
		{"NotFound", []string{"show", "KF20261125-2222"}, cases.ErrNotFound},
		{"SetNotFound", []string{"set", "KF20261125-2222", "resolved"}, cases.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := casesKefu(t, dir, tt.args...); !errors.Is(err, tt.want) {
				t.Errorf("kefu cases %s: err = %v, want %v", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}

// TestCasesRoutes checks kefu serve mounts the cases API behind sign-in
// and the cases page with the shell's security headers.
func TestCasesRoutes(t *testing.T) {
	dir := t.TempDir()
	fraud, _ := seedCases(t, dir)
	h := apiServer(t, dir, "admin password")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/panel/cases", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != webui.ContentSecurityPolicy {
		t.Errorf("GET /panel/cases: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/cases", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/cases signed out: %d, want 401", w.Code)
	}

	_, token := login(t, h, "admin", "admin password")
	r := httptest.NewRequest(http.MethodGet, "/api/v1/cases/"+fraud.ID, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "A1234567") {
		t.Errorf("GET /api/v1/cases/%s as admin: %d %s", fraud.ID, w.Code, w.Body.String())
	}
}

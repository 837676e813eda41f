package cases_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/cases"
)

func TestNewID(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	// 01:00 in Beijing is still the 24th in UTC: the date is now's own.
	now := time.Date(2026, 11, 25, 1, 0, 0, 0, cst)
	id, err := cases.NewID(now, bytes.NewReader([]byte{0, 31, 32, 255}))
	if err != nil {
		t.Fatal(err)
	}
	if id != "KF20261125-2Z2Z" {
		t.Errorf("NewID = %q, want KF20261125-2Z2Z", id)
	}
	seen := map[string]bool{}
	for range 200 {
		id, err := cases.NewID(now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !cases.ValidID(id) || !strings.HasPrefix(id, "KF20261125-") {
			t.Fatalf("NewID = %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 random IDs, %d distinct", len(seen))
	}
	if _, err := cases.NewID(now, bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("NewID with 2 random bytes: err = nil")
	}
}

func TestFindID(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"Plain", "KF20261125-7Q4M", "KF20261125-7Q4M"},
		{"Query", "查询进度 kf20261125-7q4m", "KF20261125-7Q4M"},
		{"NoSpace", "查询进度KF20261125-7Q4M谢谢", "KF20261125-7Q4M"},
		{"FullWidth", "查询进度 ＫＦ２０２６１１２５－７Ｑ４Ｍ", "KF20261125-7Q4M"},
		{"NoHyphen", "进度 KF202611257Q4M", "KF20261125-7Q4M"},
		{"EnDash", "KF20261125–7Q4M", "KF20261125-7Q4M"},
		{"Punctuation", "我的案件号是：KF20261125-7Q4M。", "KF20261125-7Q4M"},
		{"Second", "KF20261399-7Q4M 或 KF20261126-ABCD", "KF20261126-ABCD"},
		{"English", "status of case kf20261125-7q4m please", "KF20261125-7Q4M"},
		{"Misread", "KF20261125-7Q0M", ""},
		{"LetterO", "KF20261125-7QOM", ""},
		{"BadDate", "KF20261332-7Q4M", ""},
		{"Glued", "XKF20261125-7Q4M", ""},
		{"Longer", "KF20261125-7Q4MX", ""},
		{"Short", "KF20261125-7Q4", ""},
		{"None", "查询进度", ""},
		{"Empty", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cases.FindID(tt.text)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("FindID(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
			}
		})
	}
}

func TestNormalizeID(t *testing.T) {
	for in, want := range map[string]string{
		" kf20261125-7q4m\n": "KF20261125-7Q4M",
		"ｋｆ20261125７Ｑ４Ｍ":     "KF20261125-7Q4M",
		"  whatever ":        "WHATEVER",
	} {
		if got := cases.NormalizeID(in); got != want {
			t.Errorf("NormalizeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusTitle(t *testing.T) {
	for _, st := range cases.Statuses {
		if !st.Valid() || st.Title(false) == string(st) || st.Title(true) == string(st) {
			t.Errorf("status %q: valid %v, titles %q %q", st, st.Valid(), st.Title(false), st.Title(true))
		}
	}
	if cases.StatusRejected.Title(false) != "已驳回" || cases.StatusProcessing.Title(true) != "Processing" {
		t.Error("titles of rejected and processing")
	}
	if cases.Status("x").Valid() || cases.Status("x").Title(false) != "x" {
		t.Error("an unknown status")
	}
}

// FuzzFindID: FindID never panics, and what it finds is a case number in
// normal form that the text holds (normalised) and Get's normalisation
// keeps as it is.
func FuzzFindID(f *testing.F) {
	for _, s := range []string{"查询进度 kf20261125-7q4m", "ＫＦ２０２６１１２５－７Ｑ４Ｍ", "KF202611257Q4M", "KFKF20261125-7Q4M",
		"KF20260229-AAAA", "KF20280229-AAAA", "\xffKF20261125-7Q4M\xfe", "kf20261125—7q4m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		id, ok := cases.FindID(text)
		if !ok {
			if id != "" {
				t.Fatalf("FindID(%q) = %q, false", text, id)
			}
			return
		}
		if !cases.ValidID(id) {
			t.Fatalf("FindID(%q) = %q: not a case number", text, id)
		}
		if n := cases.NormalizeID(id); n != id {
			t.Fatalf("FindID(%q) = %q, normalised to %q", text, id, n)
		}
		if n := cases.NormalizeID(text); n != id {
			t.Fatalf("NormalizeID(%q) = %q, FindID %q", text, n, id)
		}
		if again, _ := cases.FindID(id); again != id {
			t.Fatalf("FindID(%q) = %q", id, again)
		}
	})
}

package auth_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/auth"
)

func TestCan(t *testing.T) {
	all := []auth.Perm{auth.PermServe, auth.PermAllLanes, auth.PermEditKB, auth.PermManageAccounts}
	for _, tc := range []struct {
		role auth.Role
		want []auth.Perm
	}{
		{auth.RoleAgent, []auth.Perm{auth.PermServe}},
		{auth.RoleEditor, []auth.Perm{auth.PermEditKB}},
		{auth.RoleAdmin, all},
		{"root", nil},
		{"", nil},
	} {
		for _, p := range all {
			want := false
			for _, w := range tc.want {
				want = want || w == p
			}
			if got := auth.Can(tc.role, p); got != want {
				t.Errorf("Can(%q, %s) = %v, want %v", tc.role, p, got, want)
			}
		}
	}
	if (auth.Account{Role: auth.RoleAdmin, Disabled: true}).Can(auth.PermServe) {
		t.Error("a disabled admin can serve")
	}
}

func TestServesLane(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    auth.Account
		lane string
		want bool
	}{
		{"AgentSkill", auth.Account{Role: auth.RoleAgent, Lanes: []string{"emergency", "normal"}}, "normal", true},
		{"AgentOtherLane", auth.Account{Role: auth.RoleAgent, Lanes: []string{"emergency"}}, "normal", false},
		{"AdminAnyLane", auth.Account{Role: auth.RoleAdmin}, "minor", true},
		{"EditorWithLanes", auth.Account{Role: auth.RoleEditor, Lanes: []string{"normal"}}, "normal", false},
		{"DisabledAgent", auth.Account{Role: auth.RoleAgent, Lanes: []string{"normal"}, Disabled: true}, "normal", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.ServesLane(tc.lane); got != tc.want {
				t.Errorf("ServesLane(%s) = %v, want %v", tc.lane, got, tc.want)
			}
		})
	}
}

// FuzzParseToken: any input is either refused with ErrUnauthenticated or
// is the one spelling of 32 bytes, and is hashed to 64 hex digits.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("_", 43), strings.Repeat("A", 42) + "B",
		strings.Repeat("A", 44), "Bearer " + strings.Repeat("A", 43), strings.Repeat("é", 22)} {
		f.Add(s)
	}
	enc := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		hash, err := auth.ParseToken(s)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) || hash != "" {
				t.Fatalf("ParseToken(%q) = %q, %v", s, hash, err)
			}
			return
		}
		b, derr := enc.DecodeString(s)
		if derr != nil || len(b) != 32 || enc.EncodeToString(b) != s {
			t.Fatalf("ParseToken accepted %q, which is not a canonical 32-byte token", s)
		}
		if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
			t.Fatalf("ParseToken(%q) hash = %q, want 64 hex digits", s, hash)
		}
	})
}

package bot

import "testing"

func TestLanguage(t *testing.T) {
	tests := []struct {
		text           string
		english, known bool
	}{
		{"How can overseas users contact support?", true, true},
		{"I want to talk to a human", true, true},
		{"海外用户怎么联系客服", false, true},
		{"iPhone闪退", false, true},
		{"ok", false, false},
		{"QQ", false, false},
		{"13800138000", false, false},
		{"T20261125-00001", false, false},
		{"agent", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		english, known := language(tt.text)
		if english != tt.english || known != tt.known {
			t.Errorf("language(%q) = %v, %v; want %v, %v", tt.text, english, known, tt.english, tt.known)
		}
	}
}

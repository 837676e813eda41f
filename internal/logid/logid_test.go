package logid

import "testing"

func TestHash(t *testing.T) {
	if Hash("") != "" {
		t.Error("Hash of an empty id is not empty")
	}
	a, b := Hash("oKefuTestUser0000000000000A"), Hash("oKefuTestUser0000000000000B")
	if len(a) != 12 || a == b || a != Hash("oKefuTestUser0000000000000A") {
		t.Errorf("Hash = %q, %q: want 12 stable, distinct hex digits", a, b)
	}
}

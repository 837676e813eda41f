package i18n

import "testing"

func TestIn(t *testing.T) {
	both, zhOnly := Text{ZH: "你好", EN: "Hello"}, Text{ZH: "你好"}
	for _, tt := range []struct {
		t       Text
		english bool
		want    string
	}{
		{both, false, "你好"}, {both, true, "Hello"}, {zhOnly, true, "你好"},
	} {
		if got := tt.t.In(tt.english); got != tt.want {
			t.Errorf("%+v.In(%v) = %q, want %q", tt.t, tt.english, got, tt.want)
		}
	}
}

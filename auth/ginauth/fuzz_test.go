package ginauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/internal/apierr"
)

// FuzzLogin: whatever body and content type arrive, POST /login answers
// 200 with a token only for the right password, and otherwise an error in
// the API's JSON shape with a 4xx status, never a 5xx, never a cookie.
func FuzzLogin(f *testing.F) {
	for _, s := range []struct{ ctype, body string }{
		{"application/json", `{"username":"agent","password":"` + password + `"}`},
		{"application/json", `{"username":"AGENT","password":"wrong password"}`},
		{"application/json", `{"username":"agent"}`},
		{"application/json", `{"username":null,"password":1}`},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", `{"username":"agent","password":"x"} trailing`},
		{"application/json", `{"username":"\u0000","password":"\ud800"}`},
		{"application/json; charset=gbk", `{"username":"客服","password":"密码密码密码密码"}`},
		{"text/plain", `{"username":"agent","password":"x"}`},
		{"", ``},
		{"application/json", strings.Repeat(`{"a":`, 1000)},
	} {
		f.Add(s.ctype, s.body)
	}
	s := newServer(f)
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			var b struct{ Token string }
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Token == "" {
				t.Fatalf("200 without a token: %s", w.Body)
			}
			return
		}
		var e apierr.Body
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || w.Code < 400 || w.Code >= 500 {
			t.Fatalf("POST /login %q %q: %d %s", ctype, body, w.Code, w.Body)
		}
		if len(w.Result().Cookies()) != 0 {
			t.Fatalf("a refused sign-in set cookies")
		}
	})
}

// FuzzAuthorization: only "Bearer <the token>" (the scheme in any case)
// is admitted; every other Authorization header is a 401 in the API's
// error shape.
func FuzzAuthorization(f *testing.F) {
	s := newServer(f)
	b, _ := s.login("agent", password)
	for _, h := range []string{"Bearer " + b.Token, "bearer " + b.Token, "Bearer  " + b.Token, "Bearer " + b.Token + " x",
		"Bearer", "Bearer ", "Basic " + b.Token, b.Token, "Bearer " + strings.ToUpper(b.Token), "Bearer\t" + b.Token} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
		r.Header["Authorization"] = []string{header}
		r.AddCookie(&http.Cookie{Name: ginauth.SessionCookie, Value: b.Token})
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		scheme, token, _ := strings.Cut(header, " ")
		valid := strings.EqualFold(scheme, "bearer") && strings.TrimLeft(token, " ") == b.Token
		switch {
		case valid && w.Code != http.StatusOK:
			t.Fatalf("Authorization %q: %d %s", header, w.Code, w.Body)
		case !valid && w.Code != http.StatusUnauthorized:
			t.Fatalf("Authorization %q admitted: %d %s", header, w.Code, w.Body)
		}
	})
}

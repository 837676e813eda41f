package ginauth_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

const (
	adminPassword = "admin password"
	password      = "agent password"
)

// server is the auth routes on /api/v1 of a fresh store with an admin,
// an agent and an editor, plus two routes for the middleware's tests:
// POST /api/v1/write (any signed-in account) and GET /api/v1/kb (editors).
type server struct {
	t   testing.TB
	h   http.Handler
	svc *auth.Service
	clk *clocktest.Clock
}

func newServer(t testing.TB) *server {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.NewNear()
	store.Now = clk.Now
	svc, err := auth.NewService(auth.Options{Store: store, Now: clk.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	for _, n := range []auth.NewAccount{
		{Username: "agent", Password: password, Role: auth.RoleAgent, Lanes: []string{"normal"}},
		{Username: "editor", Password: password, Role: auth.RoleEditor},
	} {
		if _, err := svc.CreateAccount(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	h, err := ginauth.New(ginauth.Options{Service: svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	api := r.Group("/api/v1")
	h.Register(api)
	signedIn := api.Group("", h.Authenticate())
	signedIn.POST("/write", func(c *gin.Context) {
		a, _ := ginauth.AccountFrom(c)
		c.JSON(http.StatusOK, gin.H{"by": a.Username})
	})
	signedIn.GET("/kb", ginauth.RequireRole(auth.RoleEditor), func(c *gin.Context) { c.Status(http.StatusOK) })
	return &server{t: t, h: r, svc: svc, clk: clk}
}

// req is one request to the server.
type req struct {
	method, path, body string
	// bearer is sent as Authorization: Bearer.
	bearer string
	// cookies are sent as they are.
	cookies []*http.Cookie
	header  map[string]string
}

func (s *server) do(r req) *httptest.ResponseRecorder {
	s.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.RemoteAddr = "203.0.113.7:4242"
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, hr)
	return w
}

// login signs in and returns the response body and the cookies set.
func (s *server) login(username, pw string) (loginBody, []*http.Cookie) {
	s.t.Helper()
	w := s.do(req{method: http.MethodPost, path: "/api/v1/login", body: `{"username":"` + username + `","password":"` + pw + `"}`})
	if w.Code != http.StatusOK {
		s.t.Fatalf("login %s: %d %s", username, w.Code, w.Body)
	}
	var b loginBody
	decode(s.t, w, &b)
	return b, w.Result().Cookies()
}

// loginBody is the JSON of a sign-in.
type loginBody struct {
	Token     string          `json:"token"`
	ExpiresAt time.Time       `json:"expires_at"`
	CSRFToken string          `json:"csrf_token"`
	Account   json.RawMessage `json:"account"`
}

func decode(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
}

// wantError checks an error response: status, JSON shape and code.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var b apierr.Body
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != status || b.Error.Code != code || b.Error.Message == "" {
		t.Errorf("got %d %s, want %d with error code %s", w.Code, w.Body, status, code)
	}
}

func cookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	s := newServer(t)
	t.Run("OK", func(t *testing.T) {
		b, cookies := s.login("agent", password)
		if len(b.Token) != auth.TokenLen || b.CSRFToken == "" || !b.ExpiresAt.After(s.clk.Now()) {
			t.Errorf("login body %+v", b)
		}
		var a map[string]any
		if err := json.Unmarshal(b.Account, &a); err != nil {
			t.Fatal(err)
		}
		if a["username"] != "agent" || a["role"] != "agent" {
			t.Errorf("account %v", a)
		}
		for k := range a {
			if strings.Contains(strings.ToLower(k), "pass") || strings.Contains(k, "hash") {
				t.Errorf("the account JSON has %q", k)
			}
		}
		sc, cc := cookie(cookies, ginauth.SessionCookie), cookie(cookies, ginauth.CSRFCookie)
		if sc == nil || sc.Value != b.Token || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure ||
			sc.Path != "/" || sc.MaxAge != int((12*time.Hour).Seconds()) {
			t.Errorf("session cookie %+v", sc)
		}
		if cc == nil || cc.Value != b.CSRFToken || cc.HttpOnly || cc.SameSite != http.SameSiteStrictMode {
			t.Errorf("CSRF cookie %+v", cc)
		}
	})
	t.Run("Secure", func(t *testing.T) {
		for _, r := range []req{
			{header: map[string]string{"X-Forwarded-Proto": "https"}},
			{header: map[string]string{"X-Forwarded-Proto": "HTTPS"}},
		} {
			r.method, r.path, r.body = http.MethodPost, "/api/v1/login", `{"username":"agent","password":"`+password+`"}`
			w := s.do(r)
			for _, c := range w.Result().Cookies() {
				if !c.Secure {
					t.Errorf("cookie %s behind an https proxy is not Secure", c.Name)
				}
			}
		}
		hr := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"username":"agent","password":"`+password+`"}`))
		hr.Header.Set("Content-Type", "application/json")
		hr.TLS = &tls.ConnectionState{}
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, hr)
		for _, c := range w.Result().Cookies() {
			if !c.Secure {
				t.Errorf("cookie %s over TLS is not Secure", c.Name)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, ctype string
			status            int
			code              string
		}{
			{"WrongPassword", `{"username":"agent","password":"wrong password"}`, "", http.StatusUnauthorized, "invalid_credentials"},
			{"UnknownUser", `{"username":"nobody","password":"wrong password"}`, "", http.StatusUnauthorized, "invalid_credentials"},
			{"BadJSON", `{"username":`, "", http.StatusBadRequest, apierr.CodeBadRequest},
			{"UnknownField", `{"username":"agent","password":"x","admin":true}`, "", http.StatusBadRequest, apierr.CodeBadRequest},
			{"Form", `username=agent&password=x`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia},
			{"TooLarge", `{"username":"` + strings.Repeat("a", 20<<10) + `"}`, "", http.StatusRequestEntityTooLarge, apierr.CodeTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := req{method: http.MethodPost, path: "/api/v1/login", body: tc.body}
				if tc.ctype != "" {
					r.header = map[string]string{"Content-Type": tc.ctype}
				}
				w := s.do(r)
				wantError(t, w, tc.status, tc.code)
				if len(w.Result().Cookies()) != 0 {
					t.Errorf("a refused sign-in set cookies")
				}
			})
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		if _, err := s.svc.CreateAccount(context.Background(), auth.NewAccount{Username: "gone", Password: password, Role: auth.RoleAgent}); err != nil {
			t.Fatal(err)
		}
		a, _ := s.svc.AccountByUsername(context.Background(), "gone")
		yes := true
		if _, err := s.svc.UpdateAccount(context.Background(), a.ID, auth.Patch{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		wantError(t, s.do(req{method: http.MethodPost, path: "/api/v1/login", body: `{"username":"gone","password":"` + password + `"}`}),
			http.StatusForbidden, "account_disabled")
	})
}

func TestLoginRateLimit(t *testing.T) {
	s := newServer(t)
	wrong := req{method: http.MethodPost, path: "/api/v1/login", body: `{"username":"agent","password":"wrong password"}`}
	for range 5 {
		wantError(t, s.do(wrong), http.StatusUnauthorized, "invalid_credentials")
	}
	s.clk.Advance(5 * time.Minute)
	right := req{method: http.MethodPost, path: "/api/v1/login", body: `{"username":"agent","password":"` + password + `"}`}
	w := s.do(right)
	wantError(t, w, http.StatusTooManyRequests, apierr.CodeRateLimited)
	if got := w.Header().Get("Retry-After"); got != "600" {
		t.Errorf("Retry-After = %q, want 600", got)
	}
	var b apierr.Body
	decode(t, w, &b)
	if !strings.Contains(b.Error.Message, "try again in 10m0s") {
		t.Errorf("message %q does not say when to try again", b.Error.Message)
	}
	s.clk.Advance(10 * time.Minute)
	if w := s.do(right); w.Code != http.StatusOK {
		t.Errorf("sign-in after the window: %d %s", w.Code, w.Body)
	}
}

func TestAuthenticate(t *testing.T) {
	s := newServer(t)
	b, cookies := s.login("agent", password)
	me := func(r req) *httptest.ResponseRecorder {
		r.method, r.path = http.MethodGet, "/api/v1/me"
		return s.do(r)
	}
	t.Run("Bearer", func(t *testing.T) {
		w := me(req{bearer: b.Token})
		var a auth.Account
		decode(t, w, &a)
		if w.Code != http.StatusOK || a.Username != "agent" || len(a.Lanes) != 1 || a.Lanes[0] != "normal" {
			t.Errorf("GET /me: %d %s", w.Code, w.Body)
		}
	})
	t.Run("Cookie", func(t *testing.T) {
		if w := me(req{cookies: cookies}); w.Code != http.StatusOK {
			t.Errorf("GET /me with the session cookie: %d %s", w.Code, w.Body)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			r    req
		}{
			{"None", req{}},
			{"BadToken", req{bearer: "not-a-token"}},
			{"UnknownToken", req{bearer: strings.Repeat("A", auth.TokenLen)}},
			{"BadCookie", req{cookies: []*http.Cookie{{Name: ginauth.SessionCookie, Value: "x"}}}},
			{"Basic", req{header: map[string]string{"Authorization": "Basic YWdlbnQ6cGFzc3dvcmQ="}}},
			// A bad Authorization header is not rescued by a good cookie.
			{"BadBearerGoodCookie", req{header: map[string]string{"Authorization": "Bearer"}, cookies: cookies}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := me(tc.r)
				wantError(t, w, http.StatusUnauthorized, apierr.CodeUnauthenticated)
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			})
		}
	})
	t.Run("Expired", func(t *testing.T) {
		s.clk.Advance(12 * time.Hour)
		wantError(t, me(req{bearer: b.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
	})
}

func TestCSRF(t *testing.T) {
	s := newServer(t)
	b, cookies := s.login("agent", password)
	write := func(r req) *httptest.ResponseRecorder {
		r.method, r.path, r.body = http.MethodPost, "/api/v1/write", `{}`
		return s.do(r)
	}
	csrf := func(v string) map[string]string { return map[string]string{ginauth.CSRFHeader: v} }
	t.Run("OK", func(t *testing.T) {
		if w := write(req{cookies: cookies, header: csrf(b.CSRFToken)}); w.Code != http.StatusOK {
			t.Errorf("cookie write with the CSRF header: %d %s", w.Code, w.Body)
		}
	})
	t.Run("BearerExempt", func(t *testing.T) {
		if w := write(req{bearer: b.Token}); w.Code != http.StatusOK {
			t.Errorf("bearer write without a CSRF header: %d %s", w.Code, w.Body)
		}
	})
	t.Run("SafeMethodExempt", func(t *testing.T) {
		if w := s.do(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies}); w.Code != http.StatusOK {
			t.Errorf("cookie GET without a CSRF header: %d %s", w.Code, w.Body)
		}
	})
	session := []*http.Cookie{cookie(cookies, ginauth.SessionCookie)}
	forged := append(session, &http.Cookie{Name: ginauth.CSRFCookie, Value: "planted"})
	for _, tc := range []struct {
		name string
		r    req
	}{
		{"NoHeader", req{cookies: cookies}},
		{"WrongHeader", req{cookies: cookies, header: csrf("guess")}},
		{"NoCookie", req{cookies: session, header: csrf(b.CSRFToken)}},
		// A site that plants a CSRF cookie and sends the same header
		// still cannot derive the right token.
		{"Planted", req{cookies: forged, header: csrf("planted")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, write(tc.r), http.StatusForbidden, ginauth.CodeCSRF)
		})
	}
	t.Run("Logout", func(t *testing.T) {
		wantError(t, s.do(req{method: http.MethodPost, path: "/api/v1/logout", cookies: cookies}), http.StatusForbidden, ginauth.CodeCSRF)
		if w := s.do(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies}); w.Code != http.StatusOK {
			t.Errorf("a logout refused for CSRF signed out: %d", w.Code)
		}
	})
}

func TestLogout(t *testing.T) {
	s := newServer(t)
	t.Run("Cookie", func(t *testing.T) {
		b, cookies := s.login("agent", password)
		w := s.do(req{method: http.MethodPost, path: "/api/v1/logout", cookies: cookies, header: map[string]string{ginauth.CSRFHeader: b.CSRFToken}})
		if w.Code != http.StatusNoContent {
			t.Fatalf("logout: %d %s", w.Code, w.Body)
		}
		for _, name := range []string{ginauth.SessionCookie, ginauth.CSRFCookie} {
			if c := cookie(w.Result().Cookies(), name); c == nil || c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("logout did not clear cookie %s: %+v", name, c)
			}
		}
		wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/me", cookies: cookies}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
		wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: b.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
	})
	t.Run("Bearer", func(t *testing.T) {
		b, _ := s.login("agent", password)
		other, _ := s.login("agent", password)
		if w := s.do(req{method: http.MethodPost, path: "/api/v1/logout", bearer: b.Token}); w.Code != http.StatusNoContent {
			t.Fatalf("logout: %d %s", w.Code, w.Body)
		}
		wantError(t, s.do(req{method: http.MethodPost, path: "/api/v1/logout", bearer: b.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
		if w := s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: other.Token}); w.Code != http.StatusOK {
			t.Errorf("logout ended another session: %d", w.Code)
		}
	})
}

func TestChangePassword(t *testing.T) {
	s := newServer(t)
	b, _ := s.login("agent", password)
	other, _ := s.login("agent", password)
	change := func(body string) *httptest.ResponseRecorder {
		return s.do(req{method: http.MethodPost, path: "/api/v1/me/password", bearer: b.Token, body: body})
	}
	wantError(t, change(`{"current":"wrong password","password":"new password"}`), http.StatusUnauthorized, "invalid_credentials")
	wantError(t, change(`{"current":"`+password+`","password":"short"}`), http.StatusBadRequest, apierr.CodeInvalid)
	if w := change(`{"current":"` + password + `","password":"new password"}`); w.Code != http.StatusNoContent {
		t.Fatalf("change password: %d %s", w.Code, w.Body)
	}
	if w := s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: b.Token}); w.Code != http.StatusOK {
		t.Errorf("the session that changed the password was ended: %d", w.Code)
	}
	wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: other.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
	s.login("agent", "new password")
}

func TestRequireRole(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		username, pw string
		status       int
	}{
		{"agent", password, http.StatusForbidden},
		{"editor", password, http.StatusOK},
		{"admin", adminPassword, http.StatusOK},
	} {
		t.Run(tc.username, func(t *testing.T) {
			b, _ := s.login(tc.username, tc.pw)
			w := s.do(req{method: http.MethodGet, path: "/api/v1/kb", bearer: b.Token})
			if tc.status == http.StatusOK && w.Code != http.StatusOK {
				t.Errorf("GET /kb as %s: %d %s", tc.username, w.Code, w.Body)
			}
			if tc.status != http.StatusOK {
				wantError(t, w, tc.status, apierr.CodeForbidden)
			}
		})
	}
}

func TestAgents(t *testing.T) {
	s := newServer(t)
	admin, _ := s.login("admin", adminPassword)
	as := func(method, path, body string) *httptest.ResponseRecorder {
		return s.do(req{method: method, path: path, body: body, bearer: admin.Token})
	}

	w := as(http.MethodPost, "/api/v1/agents", `{"username":"Wang","password":"password1","name":"小王","role":"agent","lanes":["emergency","normal"],"capacity":3}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /agents: %d %s", w.Code, w.Body)
	}
	var wang auth.Account
	decode(t, w, &wang)
	if wang.ID == "" || wang.Username != "wang" || wang.Name != "小王" || wang.Capacity != 3 || len(wang.Lanes) != 2 {
		t.Errorf("created %+v", wang)
	}
	if strings.Contains(w.Body.String(), "$2a$") {
		t.Errorf("the response has the password hash: %s", w.Body)
	}
	s.login("wang", "password1")

	t.Run("CreateErrors", func(t *testing.T) {
		wantError(t, as(http.MethodPost, "/api/v1/agents", `{"username":"wang","password":"password1"}`), http.StatusConflict, apierr.CodeConflict)
		wantError(t, as(http.MethodPost, "/api/v1/agents", `{"username":"li","password":"short"}`), http.StatusBadRequest, apierr.CodeInvalid)
		wantError(t, as(http.MethodPost, "/api/v1/agents", `{"username":"li","password":"password1","role":"root"}`), http.StatusBadRequest, apierr.CodeInvalid)
		wantError(t, as(http.MethodPost, "/api/v1/agents", `{"username":"li","password":"password1","capacity":"3"}`), http.StatusBadRequest, apierr.CodeBadRequest)
	})
	t.Run("DefaultRole", func(t *testing.T) {
		w := as(http.MethodPost, "/api/v1/agents", `{"username":"zhao","password":"password1"}`)
		var a auth.Account
		decode(t, w, &a)
		if w.Code != http.StatusCreated || a.Role != auth.RoleAgent || a.Capacity != auth.DefaultCapacity {
			t.Errorf("POST /agents without role and capacity: %d %s", w.Code, w.Body)
		}
	})
	t.Run("List", func(t *testing.T) {
		w := as(http.MethodGet, "/api/v1/agents", "")
		var list []auth.Account
		decode(t, w, &list)
		var names []string
		for _, a := range list {
			names = append(names, a.Username)
		}
		if w.Code != http.StatusOK || strings.Join(names, ",") != "admin,agent,editor,wang,zhao" {
			t.Errorf("GET /agents: %d %v", w.Code, names)
		}
	})
	t.Run("Get", func(t *testing.T) {
		if w := as(http.MethodGet, "/api/v1/agents/"+wang.ID, ""); w.Code != http.StatusOK {
			t.Errorf("GET /agents/%s: %d", wang.ID, w.Code)
		}
		wantError(t, as(http.MethodGet, "/api/v1/agents/A000000000000", ""), http.StatusNotFound, apierr.CodeNotFound)
	})
	t.Run("Patch", func(t *testing.T) {
		w := as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"role":"editor","lanes":["care"],"capacity":0,"name":"王"}`)
		var a auth.Account
		decode(t, w, &a)
		if w.Code != http.StatusOK || a.Role != auth.RoleEditor || len(a.Lanes) != 1 || a.Lanes[0] != "care" || a.Capacity != 0 || a.Name != "王" {
			t.Errorf("PATCH: %d %s", w.Code, w.Body)
		}
		// An absent field stays.
		w = as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"capacity":2}`)
		decode(t, w, &a)
		if a.Role != auth.RoleEditor || a.Name != "王" || a.Capacity != 2 {
			t.Errorf("PATCH capacity changed other fields: %s", w.Body)
		}
		wantError(t, as(http.MethodPatch, "/api/v1/agents/A000000000000", `{"capacity":2}`), http.StatusNotFound, apierr.CodeNotFound)
		wantError(t, as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"capacity":-1}`), http.StatusBadRequest, apierr.CodeInvalid)
		wantError(t, as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"username":"other"}`), http.StatusBadRequest, apierr.CodeBadRequest)
	})
	t.Run("PatchPasswordAndDisable", func(t *testing.T) {
		b, _ := s.login("wang", "password1")
		if w := as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"password":"password2"}`); w.Code != http.StatusOK {
			t.Fatalf("PATCH password: %d %s", w.Code, w.Body)
		}
		wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: b.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
		b, _ = s.login("wang", "password2")
		if w := as(http.MethodPatch, "/api/v1/agents/"+wang.ID, `{"disabled":true}`); w.Code != http.StatusOK {
			t.Fatalf("PATCH disabled: %d %s", w.Code, w.Body)
		}
		wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: b.Token}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
	})
	t.Run("LastAdmin", func(t *testing.T) {
		var me auth.Account
		decode(t, as(http.MethodGet, "/api/v1/me", ""), &me)
		wantError(t, as(http.MethodPatch, "/api/v1/agents/"+me.ID, `{"role":"agent"}`), http.StatusConflict, apierr.CodeConflict)
	})
	t.Run("Forbidden", func(t *testing.T) {
		for _, who := range [][2]string{{"agent", password}, {"editor", password}} {
			b, _ := s.login(who[0], who[1])
			for _, r := range []req{
				{method: http.MethodGet, path: "/api/v1/agents"},
				{method: http.MethodPost, path: "/api/v1/agents", body: `{"username":"x1","password":"password1","role":"admin"}`},
				{method: http.MethodGet, path: "/api/v1/agents/" + wang.ID},
				{method: http.MethodPatch, path: "/api/v1/agents/" + wang.ID, body: `{"role":"admin"}`},
			} {
				r.bearer = b.Token
				wantError(t, s.do(r), http.StatusForbidden, apierr.CodeForbidden)
			}
		}
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		wantError(t, s.do(req{method: http.MethodGet, path: "/api/v1/agents"}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
		wantError(t, s.do(req{method: http.MethodPost, path: "/api/v1/agents", body: `{}`}), http.StatusUnauthorized, apierr.CodeUnauthenticated)
	})
}

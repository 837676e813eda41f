package webui_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/webui"
	"github.com/kefuhq/kefu/internal/webui/webuitest"
)

func newRouter() http.Handler {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	webui.Register(r)
	return r
}

func TestLoginPage(t *testing.T) {
	h := newRouter()
	got := webuitest.CheckPage(t, h, webui.LoginPath)
	got = append(got, webuitest.CheckPage(t, h, "/panel/assets/dom.js")...)
	for _, want := range []string{"/panel/assets/base.css", "/panel/assets/login.js", "/panel/assets/api.js", "/panel/assets/dom.js"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is not loaded (got %v)", want, got)
		}
	}
}

func TestAssetsFollowTheRules(t *testing.T) {
	sub, err := fs.Sub(webui.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckAssets(t, sub)
}

func TestStatic(t *testing.T) {
	h := newRouter()
	tests := []struct {
		name, method, path string
		status             int
		ctype              string
	}{
		{"OK", http.MethodGet, "/panel/assets/base.css", http.StatusOK, "text/css; charset=utf-8"},
		{"OKScript", http.MethodGet, "/panel/assets/api.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"OKHead", http.MethodHead, "/panel/assets/login.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"ErrMissing", http.MethodGet, "/panel/assets/nope.js", http.StatusNotFound, ""},
		{"ErrDirectory", http.MethodGet, "/panel/assets/", http.StatusNotFound, ""},
		{"ErrUnknownType", http.MethodGet, "/panel/assets/login", http.StatusNotFound, ""},
		{"ErrOutside", http.MethodGet, "/panel/assets/..%2Fwebui.go", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, w.Code, tt.status)
			}
			if tt.ctype != "" && w.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != webui.ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	csp := webui.ContentSecurityPolicy
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the policy lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("the policy allows something unsafe: %s", csp)
	}
}

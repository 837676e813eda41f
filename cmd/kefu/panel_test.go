package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/internal/webui"
)

// TestPanelRoutes checks kefu serve mounts the web pages: /panel sends a
// stranger to sign in, and the pages carry the shell's security headers.
func TestPanelRoutes(t *testing.T) {
	h := apiServer(t, t.TempDir(), "admin password")
	tests := []struct {
		name, path string
		status     int
		location   string
	}{
		{"Panel", "/panel", http.StatusFound, "/panel/login"},
		{"Editor", "/panel/kb", http.StatusOK, ""},
		{"Login", "/panel/login", http.StatusOK, ""},
		{"Asset", "/panel/kb/assets/app.js", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Fatalf("GET %s: %d %q, want %d %q", tt.path, w.Code, w.Header().Get("Location"), tt.status, tt.location)
			}
			if tt.status == http.StatusOK && w.Header().Get("Content-Security-Policy") != webui.ContentSecurityPolicy {
				t.Errorf("GET %s: no Content-Security-Policy", tt.path)
			}
		})
	}
}

// TestAPINotFound checks that an unknown API route answers in the API's
// JSON error shape, not with plain text.
func TestAPINotFound(t *testing.T) {
	h := apiServer(t, t.TempDir(), "admin password")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/no-such-thing", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"code":"not_found"`) {
		t.Errorf("GET /api/v1/no-such-thing: %d %s, want 404 with a JSON error", w.Code, w.Body.String())
	}
}

// TestTrustedProxies checks that X-Forwarded-For is ignored unless the
// peer is a configured proxy, so nobody can pick their own address for
// the sign-in limits.
func TestTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		name, proxies, want string
	}{
		{"None", "", "192.0.2.1"},
		{"Trusted", "192.0.2.0/24", "203.0.113.9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load("", false, []string{"KEFU_DATA_DIR=" + t.TempDir(), "KEFU_TRUSTED_PROXIES=" + tt.proxies})
			if err != nil {
				t.Fatal(err)
			}
			a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			h, err := a.routes()
			if err != nil {
				t.Fatal(err)
			}
			r := h.(*gin.Engine)
			var got string
			r.GET("/_ip", func(c *gin.Context) { got = c.ClientIP() })
			req := httptest.NewRequest(http.MethodGet, "/_ip", nil)
			req.RemoteAddr = "192.0.2.1:1234"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			r.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

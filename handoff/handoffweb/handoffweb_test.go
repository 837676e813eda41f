package handoffweb_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/handoff/handoffweb"
	"github.com/kefuhq/kefu/internal/webui"
	"github.com/kefuhq/kefu/internal/webui/webuitest"
)

// TestPage gets the panel's page and every script and style sheet it
// loads, transitively through the modules' imports, from the shell and
// the panel as kefu serve mounts them.
func TestPage(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	webui.Register(r)
	handoffweb.Register(r)
	got := webuitest.CheckPage(t, http.Handler(r), handoffweb.Path)
	sub, err := fs.Sub(handoffweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckLoadsAll(t, got, handoffweb.Path, sub)
}

func TestAssetsFollowTheRules(t *testing.T) {
	sub, err := fs.Sub(handoffweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckAssets(t, sub)
}

// TestMissingAsset checks an unknown file is not found, not the page.
func TestMissingAsset(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	handoffweb.Register(r)
	for _, p := range []string{handoffweb.Path + "/assets/nope.js", handoffweb.Path + "/assets/", handoffweb.Path + "/assets/../handoffweb.go"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

// TestHome checks /panel sends agents and admins to the agent panel and
// everyone else elsewhere, and that no cache keeps the answer.
func TestHome(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, tt := range []struct {
		name string
		role auth.Role
		ok   bool
		want string
	}{
		{"Stranger", "", false, "/panel/login"},
		{"Editor", auth.RoleEditor, true, "/panel/kb"},
		{"Agent", auth.RoleAgent, true, handoffweb.Path},
		{"Admin", auth.RoleAdmin, true, handoffweb.Path},
		{"Disabled", auth.RoleAgent, false, "/panel/login"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.GET("/panel", handoffweb.Home(func(*http.Request) (auth.Role, bool) { return tt.role, tt.ok }, "/panel/kb"))
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/panel", nil))
			if w.Code != http.StatusFound || w.Header().Get("Location") != tt.want {
				t.Errorf("GET /panel: %d %q, want 302 %q", w.Code, w.Header().Get("Location"), tt.want)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
			}
		})
	}
}

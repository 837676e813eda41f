package kbweb_test

import (
	"io/fs"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/webui"
	"github.com/kefuhq/kefu/internal/webui/webuitest"
	"github.com/kefuhq/kefu/kb/kbweb"
)

// TestPage gets the editor's page and every script and style sheet it
// loads, transitively through the modules' imports, from the shell and
// the editor as kefu serve mounts them.
func TestPage(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	webui.Register(r)
	kbweb.Register(r)
	got := webuitest.CheckPage(t, http.Handler(r), kbweb.Path)
	sub, err := fs.Sub(kbweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckLoadsAll(t, got, kbweb.Path, sub)
}

func TestAssetsFollowTheRules(t *testing.T) {
	sub, err := fs.Sub(kbweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckAssets(t, sub)
}

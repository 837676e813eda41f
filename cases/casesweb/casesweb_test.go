package casesweb_test

import (
	"io/fs"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/cases/casesweb"
	"github.com/kefuhq/kefu/internal/webui"
	"github.com/kefuhq/kefu/internal/webui/webuitest"
)

// TestPage gets the cases page and every script and style sheet it loads,
// transitively through the modules' imports, from the shell and the page
// as kefu serve mounts them.
func TestPage(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	webui.Register(r)
	casesweb.Register(r)
	got := webuitest.CheckPage(t, http.Handler(r), casesweb.Path)
	sub, err := fs.Sub(casesweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckLoadsAll(t, got, casesweb.Path, sub)
}

func TestAssetsFollowTheRules(t *testing.T) {
	sub, err := fs.Sub(casesweb.Assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckAssets(t, sub)
}

// Package casesweb serves the cases page of the agents' panel: the cases
// the self-service flows opened, filtered by status and flow or found by
// case number or open_id, each with the data its flow collected and its
// status history, and a form to set its status with a note. The page is
// plain JavaScript, embedded, on the shell of internal/webui; it uses the
// JSON API of cases/casesapi under /api/v1/cases and nothing else.
package casesweb

import (
	"embed"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/webui"
)

// Path is where the page is served; the open case is the hash route
// #/case/{id} of this one page.
const Path = "/panel/cases"

// assets are the page, its script and style sheet, under assets/.
//
//go:embed assets
var assets embed.FS

// Register mounts the page on r: GET Path and its files under
// Path/assets. The page asks the API who is signed in; the API, not this
// route, decides what an account may see and do.
func Register(r gin.IRouter) {
	g := r.Group(Path, webui.Secure())
	g.GET("", webui.Page(assets, "assets/index.html"))
	webui.Static(g, "/assets", assets, "assets")
}

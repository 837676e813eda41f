// Package kbweb serves the knowledge-base editor: the web pages content
// editors use to write and publish articles, read their history and roll
// back, try questions in the test console, work the unanswered queue, and
// import and export the knowledge base. The pages are one plain-JavaScript
// application, embedded, on the shell of internal/webui; they use the JSON
// API of kb/kbapi under /api/v1/kb and nothing else.
package kbweb

import (
	"embed"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/webui"
)

// Path is where the editor is served; its screens are hash routes of
// this one page (#/, #/article/{id}, #/test, …).
const Path = "/panel/kb"

// assets are the editor's page, scripts and style sheet, under assets/.
//
//go:embed assets
var assets embed.FS

// Register mounts the editor on r: GET Path, the page, and its files
// under Path/assets. The page asks the API who is signed in; the API, not
// this route, decides what an account may see and do.
func Register(r gin.IRouter) {
	g := r.Group(Path, webui.Secure())
	g.GET("", webui.Page(assets, "assets/index.html"))
	webui.Static(g, "/assets", assets, "assets")
}

// Package handoffweb serves the agents' panel: the web page agents work
// tickets on. It shows their lanes with waiting and breached counts and
// SLA countdowns, the queue of a lane and the agent's own sessions,
// claim-next, and the conversation of a ticket (the full transcript, the
// user's earlier tickets, the reply quota, reply, internal notes, transfer,
// release and close), kept live over the SSE stream of handoff/handoffsse.
// The page is plain JavaScript, embedded, on the shell of internal/webui;
// it uses the JSON API under /api/v1 and nothing else.
package handoffweb

import (
	"embed"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/internal/webui"
)

// Path is where the panel is served; the open ticket is the hash route
// #/ticket/{id} of this one page.
const Path = "/panel/agent"

// assets are the panel's page, scripts and style sheet, under assets/.
//
//go:embed assets
var assets embed.FS

// Register mounts the panel on r: GET Path, the page, and its files under
// Path/assets. The page asks the API who is signed in; the API, not this
// route, decides what an account may see and do.
func Register(r gin.IRouter) {
	g := r.Group(Path, webui.Secure())
	g.GET("", webui.Page(assets, "assets/index.html"))
	webui.Static(g, "/assets", assets, "assets")
}

// Home returns the handler of /panel, the panel's front door: it sends an
// account that serves tickets (agents and admins) to the agent panel at
// Path, editors to other (their editor), and strangers (or disabled
// accounts) to the sign-in page, which comes back here. role reports the role of the
// account signed in on the request, if there is one and it is enabled.
func Home(role func(*http.Request) (auth.Role, bool), other string) gin.HandlerFunc {
	return func(c *gin.Context) {
		to := other
		switch r, ok := role(c.Request); {
		case !ok:
			// Signing in comes back to /panel, which then knows who it is.
			to = webui.LoginPath
		case auth.Can(r, auth.PermServe):
			to = Path
		}
		// The answer depends on who asks: no cache may keep it.
		c.Header("Cache-Control", "no-store")
		c.Header("Vary", "Cookie")
		c.Redirect(http.StatusFound, to)
	}
}

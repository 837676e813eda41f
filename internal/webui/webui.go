// Package webui is the shell every web page of kefu shares: the sign-in
// page, the base style sheet, and the JavaScript modules that talk to the
// JSON API (api.js) and build the DOM safely (dom.js). The pages are plain
// HTML, CSS and JavaScript embedded in the binary: no front-end build.
//
// Pages served through this package get a strict Content-Security-Policy
// (scripts and styles from the same origin only, no inline script, no
// framing), so every page keeps its JavaScript in files, and the scripts
// insert every piece of user or editor text as text (dom.js el), never as
// HTML.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
)

// Paths of the shell.
const (
	// LoginPath is the sign-in page. It takes ?next=, the same-origin path
	// to go to once signed in.
	LoginPath = "/panel/login"
	// AssetsPath is where the shared assets are served: base.css, api.js,
	// dom.js.
	AssetsPath = "/panel/assets"
)

// ContentSecurityPolicy is the policy of every page and asset served
// through this package: everything from this origin only, no inline
// script or style, no plugins, no framing, forms post only here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assets are the shared files, under assets/.
//
//go:embed assets
var assets embed.FS

// Register mounts the shell on r: GET LoginPath and the files under
// AssetsPath.
func Register(r gin.IRouter) {
	g := r.Group("", Secure())
	g.GET(LoginPath, Page(assets, "assets/login.html"))
	Static(g, AssetsPath, assets, "assets")
}

// Secure sets the security headers of a page or asset: the
// Content-Security-Policy, nosniff, no framing, no referrer, and no caching
// by shared caches (pages and scripts change with the binary).
func Secure() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache, private")
		c.Next()
	}
}

// Page returns a handler that answers the HTML file name of fsys. Mount it
// behind Secure.
func Page(fsys fs.FS, name string) gin.HandlerFunc {
	return func(c *gin.Context) { serveFile(c, fsys, name) }
}

// Static mounts GET (and HEAD) prefix/*file on r, answering the files of
// fsys under dir. Directories and files of an unknown type are not found.
// Mount it behind Secure.
func Static(r gin.IRouter, prefix string, fsys fs.FS, dir string) {
	serve := func(c *gin.Context) {
		serveFile(c, fsys, path.Join(dir, path.Clean("/"+c.Param("file"))))
	}
	r.GET(prefix+"/*file", serve)
	r.HEAD(prefix+"/*file", serve)
}

// contentTypes are the media types of the files the shell and the pages
// embed, by extension; nosniff makes the browser hold to them.
var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// serveFile answers the file name of fsys with the media type of its
// extension; a file that is missing, or of a type not in contentTypes, is
// not found.
func serveFile(c *gin.Context, fsys fs.FS, name string) {
	ctype, ok := contentTypes[path.Ext(name)]
	b, err := fs.ReadFile(fsys, name)
	if !ok || err != nil {
		c.String(http.StatusNotFound, "not found")
		return
	}
	c.Data(http.StatusOK, ctype, b)
}

// Package webuitest checks web pages built on internal/webui: that their
// files keep to the rules the Content-Security-Policy and safe rendering
// need, and that a served page finds every file it loads.
package webuitest

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/internal/webui"
)

// Patterns that break the rules. HTML: a script without src or with a
// body, an inline event handler, a style attribute or element, a
// javascript: URL. JavaScript: any way of turning text into markup or code.
var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	htmlBanned  = regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:`)
	jsBanned    = regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|createContextualFragment|srcdoc|javascript:`)
	linkAttr    = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"]+)"`)
	jsImport    = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	jsComment   = regexp.MustCompile(`(?m)^\s*//.*$|/\*[\s\S]*?\*/`)
	contentType = map[string]string{".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
)

// CheckAssets fails the test for every problem AssetProblems finds in
// fsys.
func CheckAssets(t *testing.T, fsys fs.FS) {
	t.Helper()
	problems, err := AssetProblems(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// AssetProblems checks every .html and .js file of fsys against the rules:
// scripts only from files, no inline handlers or styles, and no JavaScript
// that inserts text as HTML or runs text as code. A tree without such
// files is a problem too.
func AssetProblems(fsys fs.FS) ([]string, error) {
	var problems []string
	n := 0
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		src := string(b)
		switch path.Ext(name) {
		case ".html":
			n++
			for _, m := range scriptTag.FindAllStringSubmatch(src, -1) {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					problems = append(problems, fmt.Sprintf("%s: inline script %q: scripts must come from files", name, m[0]))
				}
			}
			if m := htmlBanned.FindString(src); m != "" {
				problems = append(problems, fmt.Sprintf("%s: %q: no inline handlers, styles or javascript: URLs", name, m))
			}
		case ".js":
			n++
			if m := jsBanned.FindString(jsComment.ReplaceAllString(src, "")); m != "" {
				problems = append(problems, fmt.Sprintf("%s: uses %s: insert text with textContent (dom.js el), never as HTML or code", name, m))
			}
		}
		return nil
	})
	if err == nil && n == 0 {
		problems = append(problems, "no .html or .js files to check")
	}
	return problems, err
}

// CheckPage gets the page at pagePath from h and checks it and every file
// it loads, and every module those import, transitively: each answers 200
// with its content type, the Content-Security-Policy of webui and nosniff.
// It returns the paths it got, the page first.
func CheckPage(t *testing.T, h http.Handler, pagePath string) []string {
	t.Helper()
	var got []string
	seen := map[string]bool{}
	queue := []string{pagePath}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		got = append(got, p)
		body, ctype := get(t, h, p)
		ext := path.Ext(p)
		if ext == "" {
			ext = ".html"
		}
		if want := contentType[ext]; want != "" && !strings.HasPrefix(ctype, want) {
			t.Errorf("GET %s: Content-Type %q, want %s", p, ctype, want)
		}
		var refs []string
		switch ext {
		case ".html":
			for _, m := range linkAttr.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		case ".js":
			for _, m := range jsImport.FindAllStringSubmatch(jsComment.ReplaceAllString(body, ""), -1) {
				refs = append(refs, m[1]+m[2])
			}
		}
		for _, ref := range refs {
			u, err := url.Parse(ref)
			if err != nil {
				t.Errorf("%s: bad reference %q: %v", p, ref, err)
				continue
			}
			if u.IsAbs() || u.Host != "" {
				t.Errorf("%s: loads %q from elsewhere: everything comes from this origin", p, ref)
				continue
			}
			base, _ := url.Parse(p)
			queue = append(queue, base.ResolveReference(u).Path)
		}
	}
	return got
}

// get answers GET p from h, failing the test unless it is a 200 with the
// security headers of webui.Secure.
func get(t *testing.T, h http.Handler, p string) (body, ctype string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", p, resp.StatusCode)
		return "", ""
	}
	for k, v := range map[string]string{
		"Content-Security-Policy": webui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET %s: %s %q, want %q", p, k, got, v)
		}
	}
	return string(b), resp.Header.Get("Content-Type")
}

// CheckLoadsAll fails the test unless loaded (the paths CheckPage got)
// holds every script and style sheet of fsys as served under
// base+"/assets/" — none is dead, none is missed — and the shell's own
// files, which every page needs.
func CheckLoadsAll(t *testing.T, loaded []string, base string, fsys fs.FS) {
	t.Helper()
	names, _ := fs.Glob(fsys, "*.[jc]s*")
	if len(names) == 0 {
		t.Fatal("no scripts or style sheets")
	}
	for _, name := range names {
		if p := base + "/assets/" + name; !slices.Contains(loaded, p) {
			t.Errorf("%s is never loaded (loaded: %v)", p, loaded)
		}
	}
	for _, p := range []string{"/panel/assets/api.js", "/panel/assets/dom.js", "/panel/assets/base.css"} {
		if !slices.Contains(loaded, p) {
			t.Errorf("%s does not load %s", base, p)
		}
	}
}

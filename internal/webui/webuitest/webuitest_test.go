package webuitest

import (
	"testing"
	"testing/fstest"
)

func TestAssetProblems(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		bad     bool
	}{
		{"OKPage", "p.html", `<script type="module" src="/a.js"></script><p class="x">hi</p>`, false},
		{"OKScript", "a.js", "// innerHTML is never used\nnode.textContent = s;", false},
		{"ErrInlineScript", "p.html", `<script>alert(1)</script>`, true},
		{"ErrScriptWithBody", "p.html", `<script src="/a.js">go()</script>`, true},
		{"ErrHandler", "p.html", `<button onclick="go()">x</button>`, true},
		{"ErrStyleAttribute", "p.html", `<p style="color:red">x</p>`, true},
		{"ErrStyleElement", "p.html", `<style>p{}</style>`, true},
		{"ErrInnerHTML", "a.js", "node.innerHTML = s;", true},
		{"ErrInsertHTML", "a.js", "node.insertAdjacentHTML('beforeend', s);", true},
		{"ErrEval", "a.js", "eval(s);", true},
		{"ErrFunction", "a.js", "new Function(s)();", true},
		{"ErrNothingToCheck", "a.css", "p {}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := AssetProblems(fstest.MapFS{tt.file: {Data: []byte(tt.content)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(problems) > 0; got != tt.bad {
				t.Errorf("%s %q: problems %q, want bad=%v", tt.file, tt.content, problems, tt.bad)
			}
		})
	}
}

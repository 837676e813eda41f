package intents

import (
	"strings"
	"unicode"
)

// Normalize prepares text for the rules: lower case, full-width ASCII forms
// folded to ASCII, the ideographic space and all whitespace removed, except
// single spaces kept between Latin words.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	var last rune
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if unicode.IsSpace(r) {
			pendingSpace = true
			continue
		}
		r = unicode.ToLower(r)
		if pendingSpace && isLatinWord(last) && isLatinWord(r) {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

func isLatinWord(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

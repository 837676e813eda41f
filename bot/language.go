package bot

import "unicode"

// language tells whether text is English, and whether it tells at all: a
// message switches the conversation's language only when it clearly has
// one. Two or more Latin words and no Chinese make it English; two or more
// Chinese characters make it Chinese; "ok", "QQ", a phone number or an
// order number leave the language as it was.
func language(text string) (english, known bool) {
	han, words := 0, 0
	inWord := false
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
			inWord = false
		case r < 0x80 && unicode.IsLetter(r):
			if !inWord {
				words++
			}
			inWord = true
		case r == '\'' && inWord: // don't, what's
		default:
			inWord = false
		}
	}
	switch {
	case han >= 2:
		return false, true
	case han == 0 && words >= 2:
		return true, true
	}
	return false, false
}

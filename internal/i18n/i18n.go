// Package i18n holds kefu's own words in the two languages it speaks:
// Chinese first, English for users who write English.
package i18n

// Text is one user-facing message in Chinese and English.
type Text struct{ ZH, EN string }

// In returns the English text when english is set and there is one, else
// the Chinese.
func (t Text) In(english bool) string {
	if english && t.EN != "" {
		return t.EN
	}
	return t.ZH
}

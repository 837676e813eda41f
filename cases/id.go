package cases

import (
	"crypto/rand"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// IDAlphabet are the characters of the random part of a case number:
// digits and capitals without 0, O, 1 and I, which people misread.
const IDAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// idPrefix starts every case number.
const idPrefix = "KF"

// idRandLen is the length of the random part of a case number.
const idRandLen = 4

// NewID returns a new case number: "KF", the date of now in its own
// location (the local time zone for time.Now) as yyyymmdd, "-" and four
// characters of IDAlphabet drawn from r, e.g. "KF20261125-7Q4M". r nil is
// crypto/rand. Numbers are unique within a day only by chance (32⁴ ≈ 10⁶
// a day): Service.Open draws again when the store has the number.
func NewID(now time.Time, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [idRandLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("cases: new id: %w", err)
	}
	for i := range b {
		b[i] = IDAlphabet[int(b[i])%len(IDAlphabet)] // 256 is a multiple of 32: no bias
	}
	return idPrefix + now.Format("20060102") + "-" + string(b[:]), nil
}

// idPattern matches a case number in normalised text (see normalise),
// the hyphen optional.
var idPattern = regexp.MustCompile(`KF([0-9]{8})-?([2-9A-HJ-NP-Z]{4})`)

// ValidID reports whether id is a case number in its normal form, as NewID
// makes them.
func ValidID(id string) bool {
	if len(id) != len(idPrefix)+8+1+idRandLen {
		return false
	}
	m := idPattern.FindStringSubmatch(id)
	return m != nil && m[0] == id && id[len(idPrefix)+8] == '-' && validDate(m[1])
}

// validDate reports whether s (8 digits) is a date, yyyymmdd.
func validDate(s string) bool {
	_, err := time.Parse("20060102", s)
	return err == nil
}

// NormalizeID returns id as stores keep case numbers: trimmed, full-width
// characters as their ASCII forms, letters in upper case, a missing or
// odd hyphen as "-". Text that is not a case number is returned trimmed
// and in upper case, so that lookups of it find nothing.
func NormalizeID(id string) string {
	if found, ok := FindID(id); ok {
		return found
	}
	return normalise(strings.TrimSpace(id))
}

// FindID finds the first case number in text a user wrote, e.g.
// "查询进度 kf20261125-7q4m" or "ＫＦ２０２６１１２５－７Ｑ４Ｍ", and returns it
// in its normal form. The number must stand apart from other letters and
// digits, and its date must be a real date.
func FindID(text string) (id string, ok bool) {
	s := normalise(text)
	for from := 0; from < len(s); {
		loc := idPattern.FindStringSubmatchIndex(s[from:])
		if loc == nil {
			return "", false
		}
		start, end := from+loc[0], from+loc[1]
		date, suffix := s[from+loc[2]:from+loc[3]], s[from+loc[4]:from+loc[5]]
		if (start == 0 || !isAlnum(s[start-1])) && (end == len(s) || !isAlnum(s[end])) && validDate(date) {
			return idPrefix + date + "-" + suffix, true
		}
		from = start + 1
	}
	return "", false
}

// normalise maps full-width ASCII (U+FF01…U+FF5E) to ASCII, dashes to "-",
// and ASCII letters to upper case; other characters stay as they are.
func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFF01 - '!'
		case r == '‐' || r == '‑' || r == '‒' || r == '–' || r == '—' || r == '―' || r == '−':
			r = '-'
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}, s)
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
}

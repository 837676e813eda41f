package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// tokenBytes is the length of a session token before encoding.
const tokenBytes = 32

// TokenLen is the length of an encoded session token.
var TokenLen = tokenEncoding.EncodedLen(tokenBytes)

// tokenEncoding encodes tokens: URL-safe base64 without padding, strict so
// that every token has one spelling.
var tokenEncoding = base64.RawURLEncoding.Strict()

// newToken returns a new random session token.
func newToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: new token: %w", err)
	}
	return tokenEncoding.EncodeToString(b[:]), nil
}

// ParseToken checks that s is a session token as Login hands out — 32
// random bytes in URL-safe base64, 43 characters — and returns the hash a
// Store keeps it by. Anything else is ErrUnauthenticated.
func ParseToken(s string) (hash string, err error) {
	if len(s) != TokenLen {
		return "", ErrUnauthenticated
	}
	var b [tokenBytes + 2]byte // DecodedLen bound of a 43-character input
	n, err := tokenEncoding.Decode(b[:], []byte(s))
	if err != nil || n != tokenBytes {
		return "", ErrUnauthenticated
	}
	sum := sha256.Sum256(b[:n])
	return hex.EncodeToString(sum[:]), nil
}

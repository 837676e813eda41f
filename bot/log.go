package bot

import (
	"crypto/sha256"
	"encoding/hex"
)

// hashID masks a user id for info-level logs: the same user gets the same
// short hash, and the id cannot be read back.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

// HashID is hashID for the adapters, so every log line masks users alike.
func HashID(id string) string { return hashID(id) }

// Package storetest is the conformance suite of the bot's stores: every
// implementation of bot.SessionStore, bot.Deduper and bot.Locker runs these
// tests from its own test file, so the embedded and the shared mode behave
// alike.
//
//	func TestSessionStore(t *testing.T) {
//		storetest.TestSessionStore(t, func(t *testing.T) bot.SessionStore { return newStore(t) })
//	}
package storetest

import (
	"testing"
	"time"
)

// awkward is text that storage must keep byte for byte: Chinese, quotes,
// an XML CDATA end, emoji, backslashes, and control characters other than
// NUL.
const awkward = "我的账号被盗了！\"转人工\" 'quote' ]]> <xml>&amp; 😀👨‍👩‍👧 \\n\\\" tab\there\r\nbell\a\x01\x1f\x7f end"

// eventually calls cond every few milliseconds until it returns true or
// the deadline passes. It is for what only the server's clock can bring
// about (a Redis key expiring), never a substitute for synchronisation.
func eventually(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

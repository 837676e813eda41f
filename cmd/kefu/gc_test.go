package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
)

// TestSetGCPercent checks that serve raises the collector's target unless
// the environment sets GOGC.
func TestSetGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	log := slog.New(slog.DiscardHandler)

	t.Setenv("GOGC", "150") // restored after the test, like its absence
	setGCPercent(log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the target became %d; want it left at 100", got)
	}

	os.Unsetenv("GOGC")
	setGCPercent(log)
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("without GOGC, the target is %d; want %d", got, defaultGCPercent)
	}
}

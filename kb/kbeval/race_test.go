//go:build race

package kbeval

const raceEnabled = true

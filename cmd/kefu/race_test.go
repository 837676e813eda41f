//go:build race

package main

// raceEnabled is set when the race detector slows everything down.
const raceEnabled = true

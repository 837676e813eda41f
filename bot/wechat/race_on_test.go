//go:build race

package wechat

// raceEnabled is set when testing with -race, which changes allocation
// counts.
const raceEnabled = true

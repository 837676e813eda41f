package main

import "testing"

// TestRedisOptions checks that kefu speaks RESP2 to Redis unless the URL
// asks for a protocol.
func TestRedisOptions(t *testing.T) {
	for url, want := range map[string]int{
		"redis://127.0.0.1:6379/0":            2,
		"redis://127.0.0.1:6379/0?protocol=3": 3,
		"redis://127.0.0.1:6379/0?protocol=2": 2,
	} {
		opts, err := redisOptions(url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if opts.Protocol != want {
			t.Errorf("%s: protocol %d, want %d", url, opts.Protocol, want)
		}
	}
	if _, err := redisOptions("http://x"); err == nil {
		t.Error("http URL: no error")
	}
}

package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestWriteBehindLinger checks that values offered within the linger share
// one write, that a full batch is written without waiting for it, and that
// Close writes what is queued.
func TestWriteBehindLinger(t *testing.T) {
	var (
		mu      sync.Mutex
		batches [][]int
		wrote   = make(chan struct{}, 16)
	)
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	w := newWriteBehind(16, 4, time.Hour, dropped, func(_ context.Context, b []int) {
		mu.Lock()
		batches = append(batches, slices.Clone(b))
		mu.Unlock()
		wrote <- struct{}{}
	})
	for v := range 6 {
		w.Offer(v)
	}
	select {
	case <-wrote: // the first four: a full batch does not wait an hour
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch was not written")
	}
	w.Offer(6)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := [][]int{{0, 1, 2, 3}, {4, 5, 6}}
	if !slices.EqualFunc(batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", batches, want)
	}
}

// TestWriteBehindNoLinger checks that without a linger a value is written
// at once.
func TestWriteBehindNoLinger(t *testing.T) {
	wrote := make(chan []int, 1)
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	w := newWriteBehind(16, 4, 0, dropped, func(_ context.Context, b []int) { wrote <- slices.Clone(b) })
	defer w.Close()
	w.Offer(1)
	select {
	case b := <-wrote:
		if !slices.Equal(b, []int{1}) {
			t.Errorf("batch %v, want [1]", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not written")
	}
}

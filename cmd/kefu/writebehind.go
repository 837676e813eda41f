package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// writeDrainTimeout bounds how long Close of a writeBehind waits for the
// queued values to be written before it cancels the writes: within the
// 10 s that kefu serve gives itself to shut down.
const writeDrainTimeout = 5 * time.Second

// writeBehind hands values from the turns to one goroutine that writes
// them in batches, so a turn never waits for a store. Offer never blocks:
// when the queue is full the value is dropped and counted. Close stops
// taking values, writes those queued and waits for the writer.
type writeBehind[T any] struct {
	queue   chan T
	dropped prometheus.Counter
	mu      sync.RWMutex // read-held by Offer, write-held by Close
	closed  bool
	done    chan struct{} // closed when the writer has returned
	cancel  context.CancelFunc
	drain   time.Duration // how long Close waits for the queued values
}

// writeLinger is how long the writer of a writeBehind waits after a
// value for more to share its write. Nothing waits for these writes, and a
// commit costs about the same for one row as for fifty: without the wait,
// each unanswered question of a busy bot was a transaction of its own.
const writeLinger = 50 * time.Millisecond

// newWriteBehind starts the writer: write gets each batch of up to batch
// values, in the order offered, gathered for at most linger after the
// first, with a context that ends only when Close gives up draining. A
// batch taken after that is dropped and counted.
func newWriteBehind[T any](size, batch int, linger time.Duration, dropped prometheus.Counter, write func(context.Context, []T)) *writeBehind[T] {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeBehind[T]{queue: make(chan T, size), dropped: dropped, done: make(chan struct{}), cancel: cancel,
		drain: writeDrainTimeout}
	go w.run(ctx, max(batch, 1), linger, write)
	return w
}

func (w *writeBehind[T]) run(ctx context.Context, size int, linger time.Duration, write func(context.Context, []T)) {
	defer close(w.done)
	batch := make([]T, 0, size)
	for v := range w.queue {
		batch = w.gather(append(batch[:0], v), size, linger)
		if ctx.Err() != nil {
			w.dropped.Add(float64(len(batch)))
			continue
		}
		write(ctx, batch)
	}
}

// gather adds queued values to batch until it holds size, linger has
// passed, or the queue is closed; with no linger, only those queued
// already.
func (w *writeBehind[T]) gather(batch []T, size int, linger time.Duration) []T {
	var until <-chan time.Time // nil: do not wait
	if linger > 0 {
		t := time.NewTimer(linger)
		defer t.Stop()
		until = t.C
	}
	for len(batch) < size {
		var (
			v  T
			ok bool
		)
		select {
		case v, ok = <-w.queue:
		default:
			if until == nil {
				return batch
			}
			select {
			case v, ok = <-w.queue:
			case <-until:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, v)
	}
	return batch
}

// Offer queues v for the writer without blocking; it drops v, counting
// it, when the queue is full or the writer closed.
func (w *writeBehind[T]) Offer(v T) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.closed {
		select {
		case w.queue <- v:
			return
		default:
		}
	}
	w.dropped.Inc()
}

// Close stops taking values and waits for the queued ones to be written,
// at most writeDrainTimeout before it cancels the writes (the rest are
// dropped and counted). It may be called more than once.
func (w *writeBehind[T]) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	t := time.NewTimer(w.drain)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.cancel()
		<-w.done
	}
	w.cancel()
	return nil
}

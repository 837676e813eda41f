package bot

import (
	"sync"
	"sync/atomic"
)

// workers runs turns on long-lived goroutines. A turn needs a goroutine of
// its own (the webhook must be able to stop waiting for it), and a fresh
// goroutine per message spends a tenth of the turn growing its stack
// through JSON and SQLite; a worker's stack has grown already.
type workers struct {
	jobs    chan func()
	idle    atomic.Int32
	running sync.WaitGroup // jobs started and not finished
}

// maxIdleWorkers bounds the goroutines kept waiting for work.
const maxIdleWorkers = 256

func newWorkers() workers { return workers{jobs: make(chan func())} }

// run runs f on an idle worker, or on a new one when none is idle.
func (w *workers) run(job func()) {
	w.running.Add(1)
	f := func() {
		defer w.running.Done()
		job()
	}
	select {
	case w.jobs <- f:
	default:
		go w.loop(f)
	}
}

// wait returns when every job started has finished.
func (w *workers) wait() { w.running.Wait() }

// loop runs f, then waits for more work unless enough workers wait already.
func (w *workers) loop(f func()) {
	for {
		f()
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		f = <-w.jobs
		w.idle.Add(-1)
	}
}

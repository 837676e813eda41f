package kb

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time used by the calling OS thread, or false
// where that cannot be measured. Callers lock the goroutine to its thread.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

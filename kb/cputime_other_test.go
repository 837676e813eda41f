//go:build !linux

package kb

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }

//go:build !linux

package queue

import "time"

// threadCPU falls back to the clock where no per-thread CPU clock is
// read: a render that waited for a CPU then counts as slow.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }

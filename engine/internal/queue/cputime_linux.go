package queue

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time the calling OS thread has used. With the
// goroutine locked to its thread (runtime.LockOSThread), the difference
// of two calls is the CPU it used in between, however busy the machine:
// a render that waited for a CPU is not a slow render.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}

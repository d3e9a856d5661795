//go:build unix

package verifierapi_test

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time this process has used, user and system:
// unlike the wall clock, it does not count what other processes on a busy
// machine take.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

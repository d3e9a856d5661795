package verifier_test

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUTime is the CPU time the calling thread has used
// (CLOCK_THREAD_CPUTIME_ID): unlike the wall clock, it does not count the
// time other processes on a busy machine take from us.
func threadCPUTime() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}

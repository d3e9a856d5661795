package verifierapi_test

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// machineIdle is the time all the machine's cores have spent idle (idle
// and iowait of /proc/stat's cpu line, in USER_HZ ticks of 10 ms), and
// whether it could be read: where the benchmark's process keeps fewer
// cores busy than there are, it tells waiting (the cores idle) from work
// done outside the process (kernel threads, other processes).
func machineIdle() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, s := range f[4:6] { // idle, iowait
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

package testenv

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// MemoryBound marks a test that fails when memory exceeds a stated bound.
// The race detector multiplies memory and time (5–10×), so such a test
// measures nothing under -race and skips there; `make test` runs the
// resource-bound tests (named *MemoryBound, in ./api/... and ./document/...) once more without -race, so
// that they always run in CI.
func MemoryBound(t testing.TB) {
	t.Helper()
	if Race {
		t.Skip("memory bound: not measured under -race (make test runs it without -race)")
	}
	SkipShort(t, "memory bound")
}

// PrintPeakRSS writes the process's peak resident set, the VmHWM line of
// /proc/self/status (Linux), to standard output: a memory-bound test's
// child reports it so, and the parent reads it with PeakRSS.
func PrintPeakRSS(t testing.TB) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			os.Stdout.WriteString(line + "\n")
		}
	}
}

// PeakRSS returns the peak resident set in bytes that a child's output
// reports (see PrintPeakRSS).
func PeakRSS(t testing.TB, out []byte) int64 {
	t.Helper()
	_, rest, ok := strings.Cut(string(out), "VmHWM:")
	if !ok {
		t.Fatalf("child reported no VmHWM:\n%s", out)
	}
	fields := strings.Fields(rest)
	kb, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || len(fields) < 2 || fields[1] != "kB" {
		t.Fatalf("child's VmHWM %q: %v", rest, err)
	}
	return kb << 10
}

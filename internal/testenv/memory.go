package testenv

import "testing"

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

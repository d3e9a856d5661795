// Package testenv lets tests demand the outside tools and servers they need:
// in CI (CI=true) a missing one fails the test, locally it skips with a
// message naming what is missing and how to install it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in continuous integration, where nothing
// real may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test in CI and skips it elsewhere, naming what is missing.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s is required in CI but missing (%s)", what, hint)
	}
	t.Skipf("%s missing, skipping (%s)", what, hint)
}

// RequireTool returns the path of the command name, or fails (CI) or skips
// (locally) the test with a hint to install the Debian package pkg.
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, "apt-get install "+pkg)
	}
	return p
}

// SkipShort skips a slow test under go test -short, except in CI, where
// every test runs whatever the flags say.
func SkipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() && !CI() {
		t.Skip("-short: " + why)
	}
}

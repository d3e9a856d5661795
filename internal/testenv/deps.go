package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// Deps returns the import paths of the dependencies of pkgs (with their
// tests' dependencies when test is set), pkgs included, as go list sees
// them: what architecture tests check against the layers' rules.
func Deps(t testing.TB, test bool, pkgs ...string) []string {
	t.Helper()
	args := []string{"list", "-deps", "-json=ImportPath"}
	if test {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(pkgs, " "), err, stderr.Bytes())
	}
	var deps []string
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps = append(deps, p.ImportPath)
	}
	if len(deps) < len(pkgs) {
		t.Fatalf("go list listed %d packages for %s", len(deps), strings.Join(pkgs, " "))
	}
	return deps
}

// Under returns the paths among deps that are one of prefixes or lie
// below one ("p/…" or, for a module path such as "modernc.org/sqlite",
// "p.…" too).
func Under(deps []string, prefixes ...string) []string {
	var out []string
	for _, d := range deps {
		for _, p := range prefixes {
			if d == p || strings.HasPrefix(d, p+"/") || strings.HasPrefix(d, p+".") {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

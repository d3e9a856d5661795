package issuerapi_test

import (
	"os/exec"
	"strings"
	"testing"

	"elicence/internal/testenv"
)

// drivers are the import path prefixes of the two database drivers.
var drivers = []string{"github.com/jackc/pgx", "modernc.org/sqlite"}

// driverDeps lists the driver packages among the (non-test) dependencies
// of pkgs, as go list sees them.
func driverDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	return testenv.Under(testenv.Deps(t, false, pkgs...), drivers...)
}

// TestDomainLinksNoDriver keeps the wiring out of the domain: the issuer,
// its rooms and the issuer's HTTP API link no database driver; only
// issuer/store/storeopen (imported by cli/) and the backends themselves do.
func TestDomainLinksNoDriver(t *testing.T) {
	testenv.SkipShort(t, "runs go list")
	out, err := exec.Command("go", "list", "elicence/issuer/...").Output()
	if err != nil {
		t.Fatalf("go list elicence/issuer/...: %v", err)
	}
	pkgs := []string{"elicence/api/issuerapi"}
	for _, p := range strings.Fields(string(out)) {
		// The backends, their test helpers and the opener are the
		// driver's side of the line.
		if strings.HasPrefix(p, "elicence/issuer/store/postgres") || strings.HasPrefix(p, "elicence/issuer/store/sqlite") ||
			p == "elicence/issuer/store/storeopen" || p == "elicence/issuer/issuertest" {
			continue
		}
		pkgs = append(pkgs, p)
	}
	if bad := driverDeps(t, pkgs...); len(bad) > 0 {
		t.Errorf("the domain or its API links %s", strings.Join(bad, ", "))
	}
	// The check itself works: the opener links both drivers.
	bad := driverDeps(t, "elicence/issuer/store/storeopen")
	for _, d := range drivers {
		found := false
		for _, b := range bad {
			found = found || strings.HasPrefix(b, d)
		}
		if !found {
			t.Errorf("the check finds no %s in storeopen", d)
		}
	}
}

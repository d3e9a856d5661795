package verifierapi_test

import (
	"os/exec"
	"strings"
	"testing"

	"elicence/internal/testenv"
)

// forbidden are the import path prefixes the stateless verifier must never
// depend on: the issuer (and its store), and the database drivers.
var forbidden = []string{"elicence/issuer", "github.com/jackc/pgx", "modernc.org/sqlite"}

// forbiddenDeps lists the forbidden packages among the dependencies of pkgs
// (with their tests' dependencies when test is set), as go list sees them.
func forbiddenDeps(t *testing.T, test bool, pkgs ...string) []string {
	t.Helper()
	return testenv.Under(testenv.Deps(t, test, pkgs...), forbidden...)
}

// TestVerifierImportsNoIssuerNorStore keeps the verifier stateless: neither
// it, nor its HTTP API, nor their tests may depend on the issuer, the store
// or a database driver.
func TestVerifierImportsNoIssuerNorStore(t *testing.T) {
	testenv.SkipShort(t, "runs go list")
	pkgs := []string{"elicence/verifier", "elicence/verifier/verifiertest", "elicence/api/verifierapi"}
	for _, test := range []bool{false, true} {
		if bad := forbiddenDeps(t, test, pkgs...); len(bad) > 0 {
			t.Errorf("the verifier depends on %s (tests included: %v)", strings.Join(bad, ", "), test)
		}
	}
	// The check itself works: it finds what packages that do depend on a
	// driver or the issuer depend on.
	for _, pkg := range []string{"github.com/jackc/pgx/v5/pgxpool", "elicence/issuer/store/postgres", "elicence/issuer"} {
		if err := exec.Command("go", "list", pkg).Run(); err != nil {
			if strings.HasPrefix(pkg, "elicence/") {
				t.Logf("%s not present, not used as a known offender", pkg)
				continue
			}
			t.Fatalf("go list %s: %v", pkg, err)
		}
		if bad := forbiddenDeps(t, false, pkg); len(bad) == 0 {
			t.Errorf("the check finds nothing forbidden in %s", pkg)
		}
	}
}

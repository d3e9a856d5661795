package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"elicence/internal/testenv"
	"elicence/issuer/store/postgres/pgtest"
)

// TestDeployOperatorPath runs docs/deploy.md's path from an empty
// PostgreSQL database to a first verified licence, verbatim but for the
// places (/etc/elicence, the database, the address), on a database of its
// own: issuer init, issuer serve, issuing over the API with the token init
// printed, and elicence verify against the published lists.
func TestDeployOperatorPath(t *testing.T) {
	testenv.SkipShort(t, "runs an issuer on PostgreSQL")
	testenv.RequireTool(t, "bash", "bash")
	testenv.RequireTool(t, "curl", "curl")
	db := pgtest.NewDatabase(t)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()

	b, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "<!-- operator path: tested by cmd/elicence/deploy_test.go -->\n```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```\n")
	}
	if !ok {
		t.Fatal("docs/deploy.md has no operator path block")
	}
	dbLine := regexp.MustCompile(`(?m)^export ELICENCE_ISSUER_DB=.*$`)
	if !dbLine.MatchString(block) {
		t.Fatal("the operator path no longer sets ELICENCE_ISSUER_DB")
	}
	block = dbLine.ReplaceAllLiteralString(block, "export ELICENCE_ISSUER_DB='"+db+"'")
	block = strings.ReplaceAll(block, "/etc/elicence", "$WORK/etc/elicence")
	block = strings.ReplaceAll(block, "127.0.0.1:8080", addr)

	dir := t.TempDir()
	script, err := os.ReadFile("testdata/deploy/operator.txtar")
	if err != nil {
		t.Fatal(err)
	}
	script = append(script, "-- operator.sh --\n"+block...)
	if err := os.WriteFile(filepath.Join(dir, "operator.txtar"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	p := params(dir)
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		// The test database's URL, for the commands after the block.
		env.Setenv("ELICENCE_ISSUER_DB", db)
		return setup(env)
	}
	testscript.Run(t, p)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"elicence/internal/testenv"
)

// readmeMarker precedes the walk-through's sh block in README.md.
const readmeMarker = "<!-- walkthrough: tested by cmd/elicence/readme_test.go -->"

// walkthrough returns the sh block that follows the marker in README.md.
func walkthrough(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), readmeMarker)
	if !ok {
		t.Fatalf("README.md has no %q", readmeMarker)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("no ```sh block after the marker")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("the ```sh block does not end")
	}
	return block
}

// TestREADME runs the README's CLI walk-through verbatim with bash (with
// word splitting off, as in zsh), from a copy of the repository's
// testdata, and checks each verdict it promises: the README stays true.
func TestREADME(t *testing.T) {
	testenv.RequireTool(t, "bash", "bash")
	dir := t.TempDir()
	// IFS= turns off word splitting, as zsh (the macOS shell) does
	// without it: the walk-through must not rely on it.
	script := `# The walk-through from README.md, run by bash -e without word splitting.
exec bash -euo pipefail -c 'IFS=; . ./walkthrough.sh'
! exists licence.txt
stdout -count=2 '^通过 PASSED$'
stdout -count=1 '^不通过 FAILED SIG_CRYPTO_FAILURE$'
stdout -count=1 '^不通过 FAILED REVOKED$'
stdout -count=2 '^exit status 1$'
stdout '^wrote .*licence.png'
stdout '^qr text \d+ characters, version \d+ at level M$'
! stderr .

-- walkthrough.sh --
` + walkthrough(t)
	if err := os.WriteFile(filepath.Join(dir, "readme.txtar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, params(dir))
}

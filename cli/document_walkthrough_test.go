package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"elicence/document/pdf"
	"elicence/internal/testenv"
)

// documentsWalkthrough returns the shell block of README.md's signed
// documents walkthrough.
func documentsWalkthrough(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- documents walkthrough: tested by ")
	if ok {
		_, rest, ok = strings.Cut(rest, "-->\n```sh\n")
	}
	if !ok {
		t.Fatal("README.md has no documents walkthrough")
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestDocumentsWalkthrough builds the binary, runs "elicence serve" on a
// fresh data directory and runs README.md's signed-documents walkthrough
// verbatim against it (only the address and "go run" replaced): sign a
// PDF, verify it (PASSED), change a byte (HASH_FAILURE), rescind, verify
// again (REVOKED), in that order.
func TestDocumentsWalkthrough(t *testing.T) {
	testenv.SkipShort(t, "builds the binary and starts a server")
	testenv.RequireTool(t, "curl", "curl")
	testenv.RequireTool(t, "bash", "bash")
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "elicence")
	if out, err := exec.Command("go", "build", "-o", bin, "elicence/cmd/elicence").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	repo, _ := filepath.Abs("..")
	for _, d := range []string{"testdata", "document"} {
		if err := os.Symlink(filepath.Join(repo, d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	srv, base, _, logs := startServe(t, bin, work)
	defer stopServe(t, srv, logs)

	script := documentsWalkthrough(t)
	if !strings.Contains(script, "http://127.0.0.1:8080") || !strings.Contains(script, "go run ./cmd/elicence") {
		t.Fatalf("the walkthrough no longer names the address or go run:\n%s", script)
	}
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", base)
	script = strings.ReplaceAll(script, "go run ./cmd/elicence", bin)
	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Dir = work
	sh.Env = append(os.Environ(), "TMPDIR="+dir)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough: %v\n%s", err, out)
	}
	// The verdicts in the walkthrough's order, each with its exit status.
	want := regexp.MustCompile(`(?s)^document [0-9A-F]+\n.*receipt HTTP.*\n通过 PASSED\n.*关于同意设立分公司的批复 闽市监〔2026〕12号.*` +
		`不通过 FAILED HASH_FAILURE\n.*exit status 1\n.*rescinded \(withdrawn\)\n.*不通过 FAILED REVOKED\n.*withdrawn.*exit status 1\n$`)
	if !want.Match(out) {
		t.Fatalf("walkthrough output does not show PASSED, HASH_FAILURE, rescinded, REVOKED in order:\n%s", out)
	}
}

package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"elicence/document/pdf"
	"elicence/internal/testenv"
)

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
	bin, work, dir := buildWork(t, "testdata", "document")
	srv, base, _, logs := startServe(t, bin, work)
	defer stopServe(t, srv, logs)

	script := readmeBlock(t, "documents walkthrough")
	if !strings.Contains(script, "http://127.0.0.1:8080") || !strings.Contains(script, "go run ./cmd/elicence") {
		t.Fatalf("the walkthrough no longer names the address or go run:\n%s", script)
	}
	out, err := runWalkthrough(script, base, bin, work, dir)
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

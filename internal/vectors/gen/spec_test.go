package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"elicence/internal/vectors"
	"elicence/qr"
)

// TestWorkedExample holds docs/FORMAT.md §13 to the vector it shows: the
// QR text (wrapped there), its length and its QR version at level M.
func TestWorkedExample(t *testing.T) {
	b, err := os.ReadFile("../../../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "## 13. Worked example")
	if !ok {
		t.Fatal("FORMAT.md has no §13")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	m := regexp.MustCompile(`(\d+)\s+characters, QR version (\d+) at level M`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatal("§13 does not state the length and QR version")
	}
	_, block, _ := strings.Cut(sec, "```\n")
	block, _, _ = strings.Cut(block, "```")
	shown := strings.ReplaceAll(block, "\n", "")

	raw, err := os.ReadFile(vectorDir + "/credential_valid")
	if err != nil {
		t.Fatal(err)
	}
	v, err := vectors.Parse("credential_valid", raw)
	if err != nil {
		t.Fatal(err)
	}
	if shown != v.Text {
		t.Errorf("§13 shows another QR text than credential_valid:\n%s\n%s", shown, v.Text)
	}
	version, err := qr.VersionFor(v.Text, qr.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != strconv.Itoa(len(v.Text)) || m[2] != strconv.Itoa(version) {
		t.Errorf("§13 says %s characters, version %s; the vector has %d characters, version %d at level M", m[1], m[2], len(v.Text), version)
	}
}

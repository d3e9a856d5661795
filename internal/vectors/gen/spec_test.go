package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"elicence/format"
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

// TestWorkedExampleV2 holds docs/FORMAT.md §13.1 to the version-2 vector it
// shows: the QR text, its length and QR version, and the payload's length.
func TestWorkedExampleV2(t *testing.T) {
	b, err := os.ReadFile("../../../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "### 13.1 Worked example, format version 2")
	if !ok {
		t.Fatal("FORMAT.md has no §13.1")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	m := regexp.MustCompile(`(\d+) characters, QR version (\d+) at level M`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatal("§13.1 does not state the length and QR version")
	}
	_, block, _ := strings.Cut(sec, "```\n")
	block, _, _ = strings.Cut(block, "```")
	shown := strings.ReplaceAll(block, "\n", "")
	raw, err := os.ReadFile(vectorDir + "/v2_credential_valid")
	if err != nil {
		t.Fatal(err)
	}
	v, err := vectors.Parse("v2_credential_valid", raw)
	if err != nil {
		t.Fatal(err)
	}
	if shown != v.Text {
		t.Errorf("§13.1 shows another QR text than v2_credential_valid:\n%s\n%s", shown, v.Text)
	}
	version, err := qr.VersionFor(v.Text, qr.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != strconv.Itoa(len(v.Text)) || m[2] != strconv.Itoa(version) {
		t.Errorf("§13.1 says %s characters, version %s; the vector has %d characters, version %d at level M", m[1], m[2], len(v.Text), version)
	}
	q, err := format.ParseQR(v.Text)
	if err != nil {
		t.Fatal(err)
	}
	s, err := format.ParseSigned("credential", q.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("a %d-byte envelope, `82 58 %02x`, a %d-byte payload", len(q.Envelope), len(s.Payload), len(s.Payload)); !strings.Contains(sec, want) {
		t.Errorf("§13.1 does not say %q", want)
	}
	u, err := os.ReadFile(vectorDir + "/v2_credential_url")
	if err != nil {
		t.Fatal(err)
	}
	uv, err := vectors.Parse("v2_credential_url", u)
	if err != nil {
		t.Fatal(err)
	}
	uver, err := qr.VersionFor(uv.Text, qr.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("(%d characters, version\n%d-M)", len(uv.Text), uver); !strings.Contains(sec, want) {
		t.Errorf("§13.1 does not say %q of the QR URL", want)
	}
}

package format_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"elicence/format"
)

// TestInvalidObjectVectors holds the signed objects in testdata/vectors
// that break one rule of docs/FORMAT.md each: a parser refuses them as
// malformed (FORMAT_FAILURE), whatever their signature.
func TestInvalidObjectVectors(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// §10: an active key has no since time.
	if _, _, err := format.ParseTrustList(read("invalid_trust_active_since.cbor")); format.ProblemOf(err) != format.ProblemFormat || !strings.Contains(err.Error(), "is active but has a since time") {
		t.Errorf("trust list with since on an active key: %v", err)
	}
	// §9: nothing follows the zlib stream.
	_, l, err := format.ParseStatusList(read("invalid_status_zlib_trailing.cbor"))
	if err == nil {
		_, err = l.Statuses()
	}
	if err == nil || !strings.Contains(err.Error(), "1 bytes after the zlib stream") {
		t.Errorf("status list with a byte after its zlib stream: %v", err)
	}
	// The valid ones next to them parse.
	if _, _, err := format.ParseTrustList(read("trust.cbor")); err != nil {
		t.Errorf("trust.cbor: %v", err)
	}
	if _, l, err := format.ParseStatusList(read("status-11350100MB00000012-1.cbor")); err != nil {
		t.Errorf("status list: %v", err)
	} else if _, err := l.Statuses(); err != nil {
		t.Errorf("status list entries: %v", err)
	}
}

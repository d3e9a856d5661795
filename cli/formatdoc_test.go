package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"elicence/internal/vectors"
	"elicence/verifier"
)

// TestFormatIndicationTable holds the table of docs/FORMAT.md §12 that
// pairs each sub-indication with its indication to every sub-indication
// the reports know (subIndicationZH) and to every test vector.
func TestFormatIndicationTable(t *testing.T) {
	b, err := os.ReadFile("../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	table := map[verifier.SubIndication]verifier.Indication{}
	row := regexp.MustCompile("(?m)^\\| `(PASSED|FAILED|INDETERMINATE)` \\| (.*) \\|$")
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		for _, sub := range regexp.MustCompile("`([A-Z_]+)`").FindAllStringSubmatch(m[2], -1) {
			if _, dup := table[verifier.SubIndication(sub[1])]; dup {
				t.Errorf("%s is in the table twice", sub[1])
			}
			table[verifier.SubIndication(sub[1])] = verifier.Indication(m[1])
		}
	}
	if len(table) == 0 {
		t.Fatal("FORMAT.md has no indication table")
	}
	for sub := range subIndicationZH {
		if _, ok := table[sub]; !ok {
			t.Errorf("%s is missing from the table of FORMAT.md §12", sub)
		}
	}
	for sub := range table {
		if _, ok := subIndicationZH[sub]; !ok {
			t.Errorf("FORMAT.md §12 tables %s, which no report has", sub)
		}
	}
	vs, err := vectors.Load("../testdata/vectors")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.SubIndication == "" {
			continue
		}
		if got := table[verifier.SubIndication(v.SubIndication)]; string(got) != v.Indication {
			t.Errorf("vector %s expects %s %s; FORMAT.md §12 pairs %s with %q", v.Name, v.Indication, v.SubIndication, v.SubIndication, got)
		}
	}
	if !strings.Contains(string(b), "| `PASSED` | none |") {
		t.Error("the table does not say that PASSED has no sub-indication")
	}
}

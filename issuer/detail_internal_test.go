package issuer

import (
	"bytes"
	"testing"

	"elicence/issuer/store"
)

// TestIssueDetailMatchesJSON holds the reflection-free audit detail to
// encoding/json's, for plain codes and for strings it would escape.
func TestIssueDetailMatchesJSON(t *testing.T) {
	base := store.Licence{DepartmentCode: "11350100MB00000012", StatusListID: "11350100MB00000012-3", TypeCode: "1.2.156.3005.2.11100000000013127D.001",
		Serial: 12345678, Version: 2, StatusIndex: 65535}
	cases := []store.Licence{base, {}}
	for _, odd := range []string{"a\"b", `a\b`, "<x>", "a&b", "é", "\u2028", "\x00", "\xff", "\x7f", " ~"} {
		for i := range 3 {
			l := base
			switch i {
			case 0:
				l.DepartmentCode = odd
			case 1:
				l.StatusListID = odd
			case 2:
				l.TypeCode = odd
			}
			cases = append(cases, l)
		}
	}
	neg := base
	neg.Serial, neg.StatusIndex, neg.Version = -1, -7, -3
	cases = append(cases, neg)
	for _, l := range cases {
		if got, want := issueDetail(&l), issueDetailJSON(&l); !bytes.Equal(got, want) {
			t.Errorf("issueDetail = %s, encoding/json %s", got, want)
		}
	}
}

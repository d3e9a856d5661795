package verifier_test

import (
	"context"
	"testing"

	"elicence/internal/vectors"
	"elicence/verifier"
)

// FuzzVerify: Verify never panics, always gives one of the three
// indications, and never PASSES a text that is not a valid vector's.
func FuzzVerify(f *testing.F) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		f.Fatal(err)
	}
	root := vectorRoot(f)
	var valid *vectors.Vector
	for _, v := range vs {
		f.Add(v.Text)
		if v.Name == "credential_valid" {
			valid = v
		}
	}
	cfg := vectorConfig(f, root, valid)
	passing := map[string]bool{}
	for _, v := range vs {
		if v.Indication == "PASSED" && v.Department == "" {
			passing[v.Text] = true
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := verifier.Verify(context.Background(), text, cfg)
		switch r.Indication {
		case verifier.Passed:
			if !passing[text] {
				t.Fatalf("PASSED a text that no one signed: %q", text)
			}
		case verifier.Failed, verifier.Indeterminate:
			if r.SubIndication == "" {
				t.Fatalf("%s without a sub-indication", r.Indication)
			}
		default:
			t.Fatalf("indication %q", r.Indication)
		}
	})
}

package verifier_test

import (
	"context"
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/internal/vectors"
	"elicence/keys"
	"elicence/verifier"
)

const vectorDir = "../testdata/vectors"

// vectorRoot returns the pinned root key of the test vectors.
func vectorRoot(t testing.TB) *ecdsa.PublicKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, "keys", "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// vectorConfig is the verifier configuration a vector asks for: its trust
// list and status lists, read as at the vector's time.
func vectorConfig(t testing.TB, root *ecdsa.PublicKey, v *vectors.Vector) verifier.Config {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorDir, v.Trust))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := verifier.NewTrust(root, raw, v.Now)
	if err != nil {
		t.Fatalf("%s: trust list: %v", v.Name, err)
	}
	set := verifier.StatusSet{}
	for _, s := range v.Status {
		raw, err := os.ReadFile(filepath.Join(vectorDir, s))
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Add(trust, raw, v.Now, "file"); err != nil {
			t.Fatalf("%s: status list %s: %v", v.Name, s, err)
		}
	}
	now := v.Now
	return verifier.Config{
		Trust: verifier.StaticTrust(trust), Status: set.Func(),
		Now: func() time.Time { return now }, Department: v.Department,
	}
}

// genericSubIndications are allowed only for the vectors listed: every other
// failure must name its own reason.
var genericSubIndications = map[verifier.SubIndication][]string{
	verifier.FormatFailure: {"truncated", "credential_missing_key", "v2_compact_in_v1_text"},
}

func TestVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	root := vectorRoot(t)
	seen := map[verifier.SubIndication]bool{}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			r := verifier.Verify(context.Background(), v.Text, vectorConfig(t, root, v))
			if string(r.Indication) != v.Indication || string(r.SubIndication) != v.SubIndication {
				t.Fatalf("got %s %s (%s), want %s %s", r.Indication, r.SubIndication, r.Reason, v.Indication, v.SubIndication)
			}
			if r.Indication != verifier.Passed {
				if r.SubIndication == "" || r.Reason == "" {
					t.Fatalf("%s without a sub-indication and reason", r.Indication)
				}
				if allowed, generic := genericSubIndications[r.SubIndication]; generic && !contains(allowed, v.Name) {
					t.Fatalf("generic sub-indication %s: this failure needs its own", r.SubIndication)
				}
			}
			seen[r.SubIndication] = true
			// Every check has a result, and the first non-passing one decided.
			if len(r.Checks) != 10 {
				t.Errorf("%d checks reported, want 10", len(r.Checks))
			}
			if r.Indication == verifier.Passed && (r.Licence == nil || r.Status == nil || r.Status.Value != "valid") {
				t.Errorf("PASSED without licence details and a valid status: %+v", r)
			}
		})
	}
	// The vectors cover every failure the brief names.
	for _, sub := range []verifier.SubIndication{
		verifier.SigCryptoFailure, verifier.UnknownKey, verifier.UnknownIssuer, verifier.TypeNotAuthorised,
		verifier.Expired, verifier.NotYetValid, verifier.Revoked, verifier.Suspended, verifier.EncodingFailure,
		verifier.FormatFailure, verifier.TrailingData, verifier.NonCanonical, verifier.InputTooLarge,
		verifier.UnsupportedFormat, verifier.PresentationExpired, verifier.WrongRelyingDepartment,
		verifier.KeyCompromised, verifier.KeyRetired, verifier.TryLater, verifier.FutureDated, verifier.LifetimeTooLong,
	} {
		if !seen[sub] {
			t.Errorf("no vector gives %s", sub)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestVersion1VectorsUnderNumberedTrust: every version-1 vector gives the
// same verdict under trust-v2.cbor, the same trust list with catalogue
// numbers, so that old texts keep verifying once an operator numbers its
// catalogue (docs/FORMAT.md §14).
func TestVersion1VectorsUnderNumberedTrust(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	root := vectorRoot(t)
	n := 0
	for _, v := range vs {
		if v.Trust != "trust.cbor" {
			continue
		}
		w := *v
		w.Trust = "trust-v2.cbor"
		r := verifier.Verify(context.Background(), w.Text, vectorConfig(t, root, &w))
		if string(r.Indication) != v.Indication || string(r.SubIndication) != v.SubIndication {
			t.Errorf("%s under trust-v2.cbor: %s %s (%s), want %s %s", v.Name, r.Indication, r.SubIndication, r.Reason, v.Indication, v.SubIndication)
		}
		n++
	}
	if n < 35 {
		t.Fatalf("only %d version-1 vectors", n)
	}
}

// TestVersion2VectorsUnderVersion1Rules: a verifier of format version 1
// reads the prefix first and knows only LC1:, LP1: and LA1:, so it answers
// FAILED UNSUPPORTED_FORMAT to every version-2 vector (docs/FORMAT.md §14);
// the version-1 trust list and status lists it needs are unchanged. This
// holds the vectors to that rule: every v2_ vector is a version-2 text or
// URL, and no version-1 vector is.
func TestVersion2VectorsUnderVersion1Rules(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(text string) bool {
		for _, p := range []string{"LC1:", "LP1:", "LA1:"} {
			if strings.HasPrefix(text, p) {
				return true
			}
		}
		return false
	}
	for _, v := range vs {
		isV2 := strings.HasPrefix(v.Name, "v2_")
		switch {
		case isV2 && v1(v.Text) && v.Name != "v2_compact_in_v1_text":
			t.Errorf("%s: a version-1 verifier would read it", v.Name)
		case isV2 && v.Trust != "trust-v2.cbor":
			t.Errorf("%s uses %s", v.Name, v.Trust)
		case !isV2 && v.Trust != "trust.cbor":
			t.Errorf("%s (version 1) uses %s", v.Name, v.Trust)
		}
	}
}

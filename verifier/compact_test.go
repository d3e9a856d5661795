package verifier

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/internal/vectors"
	"elicence/keys"
)

// compactVector loads a version-2 vector and the verifier configuration it
// asks for, with the trust list returned for further changes.
func compactVector(t *testing.T, name string) (*vectors.Vector, *Trust, Config) {
	t.Helper()
	dir := "../testdata/vectors"
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vectors.Parse(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(dir, "keys", "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParsePublicKey(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(filepath.Join(dir, v.Trust))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := NewTrust(root, tb, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	set := StatusSet{}
	for _, s := range v.Status {
		b, err := os.ReadFile(filepath.Join(dir, s))
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Add(trust, b, v.Now, "file"); err != nil {
			t.Fatal(err)
		}
	}
	now := v.Now
	return v, trust, Config{Trust: StaticTrust(trust), Status: set.Func(), Now: func() time.Time { return now }}
}

// A short key ID that two keys of the trust list share names neither: the
// credential fails UNKNOWN_KEY rather than being checked under either.
func TestCompactAmbiguousShortKey(t *testing.T) {
	v, trust, cfg := compactVector(t, "v2_credential_valid")
	if r := Verify(context.Background(), v.Text, cfg); r.Indication != Passed {
		t.Fatalf("before: %s %s %s", r.Indication, r.SubIndication, r.Reason)
	}
	q, err := format.ParseQR(v.Text)
	if err != nil {
		t.Fatal(err)
	}
	_, _, cc, err := format.ParseAnyCredential(q.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	// A second key with the same short ID, as a key of another department
	// whose ID happened to start alike would be.
	e := trust.short[[format.ShortKeyIDSize]byte(cc.ShortKeyID)]
	e.n++
	e.dept, e.key = nil, nil
	r := Verify(context.Background(), v.Text, cfg)
	if r.SubIndication != UnknownKey || !strings.Contains(r.Reason, "names 2 keys") || r.Licence != nil {
		t.Fatalf("ambiguous short key id: %s %s %s", r.Indication, r.SubIndication, r.Reason)
	}
}

// A list that gives a catalogue number to another type than the list held
// did is refused; adding numbers, or keeping them, is not.
func TestRenumberedCatalogue(t *testing.T) {
	held := &format.TrustList{Types: []format.TypeInfo{{Code: "T1", Number: 1}, {Code: "T2", Number: 2}}}
	same := &format.TrustList{Types: []format.TypeInfo{{Code: "T2", Number: 2}, {Code: "T1", Number: 1}, {Code: "T3", Number: 3}}}
	if err := renumbered(held, same); err != nil {
		t.Errorf("reordered and extended catalogue refused: %v", err)
	}
	reused := &format.TrustList{Types: []format.TypeInfo{{Code: "T3", Number: 1}}}
	if err := renumbered(held, reused); err == nil || !strings.Contains(err.Error(), "catalogue number 1") {
		t.Errorf("reused number: %v", err)
	}
}

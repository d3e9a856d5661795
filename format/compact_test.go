package format

import (
	"bytes"
	"strings"
	"testing"
)

// A compact credential round-trips, resolves to the credential it was made
// from, and refuses the zero numbers and a wrong short key ID.
func TestCompactCredential(t *testing.T) {
	p := testKey(t)
	c := sampleCredential(p.id)
	c.Kind = KindCredential
	c.Status.List = StatusListName(c.IssuerCode, 7)
	cc, err := c.Compact(1, 7)
	if err != nil {
		t.Fatal(err)
	}
	s, err := SignCompactCredential(p.key, *cc)
	if err != nil {
		t.Fatal(err)
	}
	_, v1, got, err := ParseAnyCredential(s.Encode())
	if err != nil || v1 != nil || got == nil {
		t.Fatalf("ParseAnyCredential: %v %v %v", v1, got, err)
	}
	r := got.Resolve(c.IssuerCode, c.TypeCode, p.id[:])
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.ID() != c.ID() || r.Status != c.Status || !bytes.Equal(r.KeyID, c.KeyID) {
		t.Fatalf("resolved %+v, want %+v", r, c)
	}
	// The compact payload is smaller by at least the type code, issuer
	// code, key ID and list name it leaves out.
	full, _ := SignCredential(p.key, c)
	if saved := len(full.Payload) - len(s.Payload); saved < 21+19+4+len(c.Status.List)-1 {
		t.Errorf("compact payload saves %d bytes", saved)
	}
	// A version-1 parser refuses it by kind.
	if _, _, err := ParseCredential(s.Encode()); ProblemOf(err) != ProblemKind {
		t.Errorf("ParseCredential of a compact credential: %v", err)
	}
	for name, mod := range map[string]func(*CompactCredential){
		"type 0": func(c *CompactCredential) { c.TypeNumber = 0 },
		"list 0": func(c *CompactCredential) { c.Status.List = 0 },
		"key id": func(c *CompactCredential) { c.ShortKeyID = p.id[:] },
		"serial": func(c *CompactCredential) { c.Serial = "abc" },
	} {
		bad := *cc
		mod(&bad)
		if _, err := SignCompactCredential(p.key, bad); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestStatusListNumber(t *testing.T) {
	for id, want := range map[string]uint32{"D-1": 1, "D-42": 42, "D-0": 0, "D-01": 0, "E-1": 0, "D-": 0, "D-x": 0, "D-4294967296": 0, "": 0, "D": 0, "DD-1": 0, "D-+1": 0, "D--1": 0} {
		n, ok := StatusListNumber("D", id)
		if n != want || ok != (want != 0) {
			t.Errorf("StatusListNumber(D, %q) = %d, %v", id, n, ok)
		}
		if ok && StatusListName("D", n) != id {
			t.Errorf("StatusListName(D, %d) = %q", n, StatusListName("D", n))
		}
	}
}

// Catalogue numbers are unique within a list; a short key ID names a key
// only when exactly one key of the whole list has it.
func TestTrustListNumbers(t *testing.T) {
	a, b := testKey(t), testKey(t)
	tl := TrustList{IssuedAt: 1, NextUpdate: 2,
		Types: []TypeInfo{{Code: "T1", Name: "one", Number: 1}, {Code: "T2", Name: "two", Number: 2}, {Code: "T3", Name: "none"}},
		Departments: []Department{
			{Code: "A", Name: "a", Keys: []TrustedKey{{ID: a.id[:], PublicKey: []byte("a")}}},
			{Code: "B", Name: "b", Keys: []TrustedKey{{ID: b.id[:], PublicKey: []byte("b")}}},
		}}
	if err := tl.Validate(); err != nil {
		t.Fatal(err)
	}
	if ti := tl.TypeNumbered(2); ti == nil || ti.Code != "T2" {
		t.Errorf("TypeNumbered(2) = %v", ti)
	}
	if tl.TypeNumbered(0) != nil || tl.TypeNumbered(3) != nil {
		t.Error("number 0 or 3 names a type")
	}
	if d, k, n := tl.KeyByShortID(b.id[:ShortKeyIDSize]); n != 1 || d.Code != "B" || !bytes.Equal(k.ID, b.id[:]) {
		t.Errorf("KeyByShortID = %v %v %d", d, k, n)
	}
	// Two keys sharing a short ID (here: the same first bytes): none.
	other := bytes.Clone(b.id[:])
	copy(other, a.id[:ShortKeyIDSize])
	tl.Departments[1].Keys[0].ID = other
	if d, k, n := tl.KeyByShortID(a.id[:ShortKeyIDSize]); n != 2 || d != nil || k != nil {
		t.Errorf("ambiguous short id: %v %v %d", d, k, n)
	}
	tl.Types[1].Number = 1
	if err := tl.Validate(); err == nil || !strings.Contains(err.Error(), "catalogue number 1") {
		t.Errorf("two types numbered 1: %v", err)
	}
}

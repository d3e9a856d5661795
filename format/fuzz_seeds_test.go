package format_test

import (
	"os"
	"path/filepath"
	"testing"

	"elicence/format"
)

// seedTrustLists seeds FuzzTrustList with small trust lists cut from the
// vector trust.cbor: one department, short keys, one type. The vector
// itself is 3 KB (certificates, many field labels), and the fuzzer spends
// nearly all its time minimising each new input that size (about 11
// executions a minute); these seeds reach the same code in a few hundred
// bytes. Each seed parses, so the fuzzer starts from valid lists.
func seedTrustLists(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join(vectorDir, "trust.cbor"))
	if err != nil {
		f.Fatal(err)
	}
	s, tl, err := format.ParseTrustList(raw)
	if err != nil {
		f.Fatal(err)
	}
	sig := s.Signature // parsing checks its length only
	add := func(t format.TrustList) {
		f.Helper()
		payload, err := canonical.Marshal(t)
		if err != nil {
			f.Fatal(err)
		}
		b := format.Signed{Payload: payload, Signature: sig}.Encode()
		if _, _, err := format.ParseTrustList(b); err != nil {
			f.Fatalf("seed does not parse: %v", err)
		}
		f.Add(b)
	}
	d := tl.Departments[0]
	k := d.Keys[0]
	k.PublicKey, k.Certificate = k.PublicKey[:4], []byte{0x30, 0x00}
	d.Keys, d.Types = []format.TrustedKey{k}, d.Types[:1]
	base := format.TrustList{Kind: tl.Kind, Sequence: tl.Sequence, IssuedAt: tl.IssuedAt, NextUpdate: tl.NextUpdate, Departments: []format.Department{d}}
	add(base)

	// Key states, and a type with one field label.
	states := base
	rk, ck := k, k
	rk.ID, rk.State, rk.Since = []byte("retired1"), format.KeyRetired, tl.IssuedAt
	ck.ID, ck.State, ck.Since = []byte("comprom1"), format.KeyCompromised, tl.IssuedAt
	// A trust list names each public key once (format.ErrDuplicateKey).
	rk.PublicKey, ck.PublicKey = append([]byte{}, k.PublicKey[:3]...), append([]byte{}, k.PublicKey[:2]...)
	sd := d
	sd.Keys = []format.TrustedKey{k, rk, ck}
	states.Departments = []format.Department{sd}
	if len(tl.Types) > 0 {
		ty := tl.Types[0]
		ty.Fields = ty.Fields[:min(1, len(ty.Fields))]
		states.Types = []format.TypeInfo{ty}
	}
	add(states)

	// Two departments.
	two := base
	d2 := d
	d2.Code, d2.StatusURL = d.Code+"2", ""
	k2 := k
	k2.ID, k2.PublicKey = []byte("otherkey"), append([]byte{}, k.PublicKey[:3]...)
	d2.Keys = []format.TrustedKey{k2}
	two.Departments = []format.Department{d, d2}
	add(two)
}

package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"elicence/format"
)

// Vectors for rules docs/FORMAT.md once left open, where its text and the
// code disagreed (issue 13): each settles one rule.
//
//   - credential_missing_key: a correctly signed credential without a
//     required key is FORMAT_FAILURE (§12, step 1), not NON_CANONICAL.
//   - invalid_trust_active_since.cbor: a root-signed trust list whose active
//     key has a since time (§10): a verifier refuses the list.
//   - invalid_status_zlib_trailing.cbor: a department-signed status list with
//     a byte after its zlib stream (§9): a verifier refuses the list.

// Names of the invalid objects.
const (
	invalidTrustActiveSince  = "invalid_trust_active_since.cbor"
	invalidStatusZlibTrailer = "invalid_status_zlib_trailing.cbor"
)

// rawMode encodes as format does (RFC 8949 core deterministic), without its
// validation, so that objects breaking a rule can be signed.
var rawMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// signUnchecked encodes payload canonically and signs it with k, checking
// nothing.
func signUnchecked(k *vectorKey, payload any) ([]byte, error) {
	b, err := rawMode.Marshal(payload)
	if err != nil {
		return nil, err
	}
	sig, err := signRaw(k, b)
	if err != nil {
		return nil, err
	}
	return format.Signed{Payload: b, Signature: sig}.Encode(), nil
}

func (g *generator) specVectors(valid format.Signed) error {
	root, a := g.keys[rootSpec.file], g.keys[deptASpec.file]

	// The valid credential without key 12 (the record digest): the map
	// header 0xad (13 entries) becomes 0xac and "0c 50 <16 bytes>" goes.
	p := valid.Payload
	i := bytes.Index(p, []byte{0x0c, 0x50})
	if p[0] != 0xad || i < 0 || len(p) < i+18 || p[i+18] != 0x0d {
		return fmt.Errorf("record digest not found in the valid credential")
	}
	missing := append(append([]byte{0xac}, p[1:i]...), p[i+18:]...)
	sig, err := signRaw(a, missing)
	if err != nil {
		return err
	}
	text := format.QRText(format.KindCredential, format.Signed{Payload: missing, Signature: sig})
	if err := g.vector("credential_missing_key", "FAILED FORMAT_FAILURE", t0,
		"the valid credential without key 12 (record digest), correctly signed:\na required key missing is FORMAT_FAILURE, not NON_CANONICAL", text); err != nil {
		return err
	}

	// The vectors' trust list with "since" on department A's active key.
	tl := g.trustList()
	tl.Kind = format.KindTrustList
	tl.Departments[0].Keys[0].Since = t0.Add(-100 * day).Unix()
	if tl.Departments[0].Keys[0].State != format.KeyActive {
		return fmt.Errorf("department A's first key is not active")
	}
	b, err := signUnchecked(root, tl)
	if err != nil {
		return err
	}
	if err := g.write(invalidTrustActiveSince, b); err != nil {
		return err
	}

	// Department A's status list with one zero byte after the zlib stream.
	entries := format.NewStatuses(format.MinStatusListSize, format.StatusBits)
	b, err = signUnchecked(a, format.StatusList{
		Kind: format.KindStatusList, Issuer: deptA, List: statusList, IssuedAt: t0.Add(-time.Hour).Unix(), TTL: 3600,
		Bits: format.StatusBits, Size: format.MinStatusListSize, Lst: append(entries.Compress(), 0), KeyID: a.id[:],
	})
	if err != nil {
		return err
	}
	return g.write(invalidStatusZlibTrailer, b)
}

package format

import (
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// Record is the issuer's full licence record, which the credential binds by
// its SM3 digest without disclosing it. Unlike the credential it holds the
// holder's full identifier; the random Salt keeps the digest from being
// searched for the hidden digits of a masked ID number.
type Record struct {
	// Salt is 16 random bytes chosen at issuance.
	Salt       []byte `cbor:"0,keyasint"`
	TypeCode   string `cbor:"1,keyasint"`
	IssuerCode string `cbor:"2,keyasint"`
	Serial     string `cbor:"3,keyasint"`
	Version    uint16 `cbor:"4,keyasint"`
	HolderName string `cbor:"5,keyasint"`
	// HolderKind is 1 for a citizen ID number, 2 for a unified social credit code.
	HolderKind uint8  `cbor:"6,keyasint"`
	HolderCode string `cbor:"7,keyasint"`
	ValidFrom  int64  `cbor:"8,keyasint"`
	ValidUntil int64  `cbor:"9,keyasint,omitempty"`
	// Fields are all the licence's fields, disclosed in the credential or not.
	Fields map[string]string `cbor:"10,keyasint,omitempty"`
}

// Encode returns the record's canonical CBOR encoding.
func (r *Record) Encode() []byte {
	if b, ok := r.encode(); ok {
		return b
	}
	b, err := encMode.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("format: encode record: %v", err))
	}
	return b
}

// DigestSize is the length of a record digest: SM3 truncated to 128 bits,
// which keeps 128-bit second-preimage resistance and saves 16 bytes of QR.
const DigestSize = 16

// Digest returns the first 16 bytes of SM3 over the record's canonical
// encoding, the value of a credential's RecordDigest.
func (r *Record) Digest() []byte {
	_, d := r.EncodeDigest()
	return d
}

// EncodeDigest returns the record's canonical encoding and its digest
// (Digest), encoding it once.
func (r *Record) EncodeDigest() (encoded, digest []byte) {
	b := r.Encode()
	sum := sm3.Sum(b)
	return b, sum[:DigestSize]
}

// DecodeRecord decodes a record strictly (canonical CBOR only).
func DecodeRecord(b []byte) (*Record, error) {
	var r Record
	if err := decMode.Unmarshal(b, &r); err != nil {
		return nil, parseErr("record", ProblemFormat, "%v", err)
	}
	if string(r.Encode()) != string(b) {
		return nil, parseErr("record", ProblemNonCanonical, "record is not canonical cbor")
	}
	if len(r.Salt) != 16 {
		return nil, parseErr("record", ProblemFormat, "salt is %d bytes, want 16", len(r.Salt))
	}
	return &r, nil
}

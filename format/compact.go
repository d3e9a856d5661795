package format

import (
	"bytes"
	"crypto"
	"fmt"
	"strconv"
)

// KindCompactCredential is the kind of a version-2 (compact) credential
// payload. It names no issuer and carries numbers where version 1 carries
// codes; a verifier recovers them from the trust list (docs/FORMAT.md
// §5.1).
const KindCompactCredential Kind = 6

// ShortKeyIDSize is the length of a compact credential's short key ID: the
// first bytes of the signing key's ID (§2).
const ShortKeyIDSize = 4

// CompactCredential is the version-2 credential payload. Against
// Credential it drops what the verifier recovers from the root-signed trust
// list, and the signature binds each number it keeps in its place:
//
//   - no issuer code: the short key ID names exactly one key in the whole
//     trust list, or the credential fails, and the department is that
//     key's;
//   - a type number instead of the 21-character type code: the number the
//     trust-list operator gave the type in its catalogue, once, never
//     reused;
//   - a status-list number instead of the list identifier, which is the
//     issuer code, "-" and the number.
type CompactCredential struct {
	Kind Kind `cbor:"0,keyasint"`
	// TypeNumber is the licence type's catalogue number (TypeInfo.Number).
	TypeNumber uint32 `cbor:"1,keyasint"`
	// Key 2 (the issuer code in Credential) is not used.
	Serial       string            `cbor:"3,keyasint"`
	Version      uint16            `cbor:"4,keyasint"`
	HolderName   string            `cbor:"5,keyasint"`
	HolderID     string            `cbor:"6,keyasint"`
	ValidFrom    int64             `cbor:"7,keyasint"`
	ValidUntil   int64             `cbor:"8,keyasint,omitempty"`
	IssuedAt     int64             `cbor:"9,keyasint"`
	Status       CompactStatusRef  `cbor:"10,keyasint"`
	ShortKeyID   []byte            `cbor:"11,keyasint"`
	RecordDigest []byte            `cbor:"12,keyasint"`
	Fields       map[string]string `cbor:"13,keyasint,omitempty"`
}

// CompactStatusRef locates a licence in a status list by the list's number
// within its department.
type CompactStatusRef struct {
	_     struct{} `cbor:",toarray"`
	List  uint32
	Index uint32
}

// StatusListName returns the identifier of list number n of the department
// issuer: the issuer code, "-" and n in decimal.
func StatusListName(issuer string, n uint32) string {
	return issuer + "-" + strconv.FormatUint(uint64(n), 10)
}

// StatusListNumber is the inverse of StatusListName: the number of the
// list id of department issuer, if id has that form (n ≥ 1, no leading
// zero).
func StatusListNumber(issuer, id string) (uint32, bool) {
	if len(id) < len(issuer)+2 || id[:len(issuer)] != issuer || id[len(issuer)] != '-' {
		return 0, false
	}
	s := id[len(issuer)+1:]
	if s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// Compact returns the compact form of c, with its type's catalogue number
// and its list's number. c.KeyID must be a full key ID.
func (c *Credential) Compact(typeNumber, listNumber uint32) (*CompactCredential, error) {
	if len(c.KeyID) < ShortKeyIDSize {
		return nil, fmt.Errorf("compact credential: key id is %d bytes", len(c.KeyID))
	}
	cc := &CompactCredential{
		Kind: KindCompactCredential, TypeNumber: typeNumber, Serial: c.Serial, Version: c.Version,
		HolderName: c.HolderName, HolderID: c.HolderID, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, IssuedAt: c.IssuedAt,
		Status: CompactStatusRef{List: listNumber, Index: c.Status.Index}, ShortKeyID: bytes.Clone(c.KeyID[:ShortKeyIDSize]),
		RecordDigest: c.RecordDigest, Fields: c.Fields,
	}
	if err := cc.Validate(); err != nil {
		return nil, fmt.Errorf("compact credential: %w", err)
	}
	return cc, nil
}

// Resolve returns the credential that c stands for, given what the trust
// list says: the department of the key its short key ID names, that key's
// full ID, and the code of the type with c's number. The signature over c
// binds each of them, through the number or short ID it replaces. The
// result is not validated: an empty type code (a number the catalogue does
// not have) leaves it invalid.
func (c *CompactCredential) Resolve(issuer, typeCode string, keyID []byte) *Credential {
	r := &Credential{
		Kind: KindCredential, TypeCode: typeCode, IssuerCode: issuer, Serial: c.Serial, Version: c.Version,
		HolderName: c.HolderName, HolderID: c.HolderID, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, IssuedAt: c.IssuedAt,
		Status: StatusRef{List: StatusListName(issuer, c.Status.List), Index: c.Status.Index}, KeyID: keyID,
		RecordDigest: c.RecordDigest, Fields: c.Fields,
	}
	return r
}

// Validate checks the compact credential's own consistency: the rules of
// Credential.Validate for the fields it shares.
func (c *CompactCredential) Validate() error {
	if c.Kind != KindCompactCredential {
		return fmt.Errorf("kind %d, want %d", c.Kind, KindCompactCredential)
	}
	if c.TypeNumber == 0 {
		return fmt.Errorf("type number must be at least 1")
	}
	if c.Status.List == 0 {
		return fmt.Errorf("status list number must be at least 1")
	}
	if len(c.ShortKeyID) != ShortKeyIDSize {
		return fmt.Errorf("short key id is %d bytes, want %d", len(c.ShortKeyID), ShortKeyIDSize)
	}
	// The shared rules, with placeholders for what the trust list supplies.
	full := Credential{
		Kind: KindCredential, TypeCode: "1", IssuerCode: "1", Serial: c.Serial, Version: c.Version,
		HolderName: c.HolderName, HolderID: c.HolderID, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, IssuedAt: c.IssuedAt,
		Status: StatusRef{List: "1", Index: c.Status.Index}, KeyID: make([]byte, 8), RecordDigest: c.RecordDigest, Fields: c.Fields,
	}
	return full.Validate()
}

// SignCompactCredential validates c, sets its kind and signs it.
func SignCompactCredential(signer crypto.Signer, c CompactCredential) (Signed, error) {
	c.Kind = KindCompactCredential
	if err := c.Validate(); err != nil {
		return Signed{}, fmt.Errorf("compact credential: %w", err)
	}
	return seal(signer, &c)
}

// ParseCompactCredential decodes a signed compact credential without
// verifying the signature.
func ParseCompactCredential(b []byte) (Signed, *CompactCredential, error) {
	s, err := ParseSigned("credential", b)
	if err != nil {
		return s, nil, err
	}
	var c CompactCredential
	if err := decodePayload("credential", s.Payload, KindCompactCredential, &c); err != nil {
		return s, nil, err
	}
	if err := c.Validate(); err != nil {
		return s, nil, &ParseError{What: "credential", Problem: ProblemFormat, Err: err}
	}
	return s, &c, nil
}

// ParseAnyCredential decodes a signed credential of either layout, by the
// kind its payload names: exactly one of the two results is set.
func ParseAnyCredential(b []byte) (Signed, *Credential, *CompactCredential, error) {
	s, err := ParseSigned("credential", b)
	if err != nil {
		return s, nil, nil, err
	}
	if len(s.Payload) >= 3 && s.Payload[1] == 0x00 && s.Payload[2] == byte(KindCompactCredential) {
		s, c, err := ParseCompactCredential(b)
		return s, nil, c, err
	}
	c, err := DecodeCredential(s.Payload)
	return s, c, nil, err
}

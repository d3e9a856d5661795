package format

import (
	"crypto"
	"fmt"
	"time"

	"elicence/identifier"
)

// Credential is a signed licence (电子证照) as it travels in a QR code. It
// discloses what a relying department needs and binds, by an SM3 digest, the
// full licence record that only the issuer holds.
type Credential struct {
	Kind Kind `cbor:"0,keyasint"`
	// TypeCode is the licence type code.
	TypeCode string `cbor:"1,keyasint"`
	// IssuerCode is the issuing department's code.
	IssuerCode string `cbor:"2,keyasint"`
	// Serial is the issuer's serial number for this licence, as text.
	Serial string `cbor:"3,keyasint"`
	// Version is the licence version, 1 to 999.
	Version uint16 `cbor:"4,keyasint"`
	// HolderName is the holder's name (a person's or an enterprise's).
	HolderName string `cbor:"5,keyasint"`
	// HolderID is the holder's identifier in masked form; a citizen ID
	// number never appears in full.
	HolderID string `cbor:"6,keyasint"`
	// ValidFrom and ValidUntil bound the validity, Unix seconds. ValidUntil
	// 0 means no end date (长期).
	ValidFrom  int64 `cbor:"7,keyasint"`
	ValidUntil int64 `cbor:"8,keyasint,omitempty"`
	// IssuedAt is when the credential was signed, Unix seconds.
	IssuedAt int64 `cbor:"9,keyasint"`
	// Status points at the licence's entry in its issuer's status list.
	Status StatusRef `cbor:"10,keyasint"`
	// KeyID identifies the department key that signed the credential.
	KeyID []byte `cbor:"11,keyasint"`
	// RecordDigest is SM3 over the issuer's full licence record, truncated
	// to its first 16 bytes to keep the QR code small.
	RecordDigest []byte `cbor:"12,keyasint"`
	// Fields are further disclosed fields, keyed by the short keys that the
	// licence type defines (e.g. "lr" for the legal representative).
	Fields map[string]string `cbor:"13,keyasint,omitempty"`
}

// StatusRef locates a licence in a status list: the list's identifier
// (scoped to the issuer) and the entry index.
type StatusRef struct {
	_     struct{} `cbor:",toarray"`
	List  string
	Index uint32
}

// LicenceID returns the credential's GB/T 36904 licence identifier.
func (c *Credential) LicenceID() identifier.LicenceID {
	return identifier.LicenceID{TypeCode: c.TypeCode, IssuerCode: c.IssuerCode, Serial: c.Serial, Version: int(c.Version)}
}

// ID returns the identifier's text form, check character included.
func (c *Credential) ID() string { return c.LicenceID().String() }

// Validity returns the validity window; until is zero when open-ended.
func (c *Credential) Validity() (from, until time.Time) {
	from = time.Unix(c.ValidFrom, 0).UTC()
	if c.ValidUntil != 0 {
		until = time.Unix(c.ValidUntil, 0).UTC()
	}
	return from, until
}

// Limits on credential contents, so that every credential fits a QR code.
const (
	maxTextLen   = 256
	maxFields    = 16
	digestLength = 16
)

// Validate checks the credential's own consistency.
func (c *Credential) Validate() error {
	if c.Kind != KindCredential {
		return fmt.Errorf("kind %d, want %d", c.Kind, KindCredential)
	}
	if err := c.LicenceID().Validate(); err != nil {
		return err
	}
	if c.HolderName == "" || len(c.HolderName) > maxTextLen {
		return fmt.Errorf("holder name: want 1 to %d bytes", maxTextLen)
	}
	if c.HolderID == "" || len(c.HolderID) > 64 {
		return fmt.Errorf("holder id: want 1 to 64 bytes")
	}
	if c.ValidUntil != 0 && c.ValidUntil <= c.ValidFrom {
		return fmt.Errorf("valid until must be after valid from")
	}
	if c.ValidFrom < 0 || c.IssuedAt <= 0 {
		return fmt.Errorf("times must be positive unix seconds")
	}
	if c.Status.List == "" || len(c.Status.List) > 32 {
		return fmt.Errorf("status list id: want 1 to 32 bytes")
	}
	if len(c.KeyID) != 8 {
		return fmt.Errorf("key id is %d bytes, want 8", len(c.KeyID))
	}
	if len(c.RecordDigest) != digestLength {
		return fmt.Errorf("record digest is %d bytes, want %d", len(c.RecordDigest), digestLength)
	}
	if len(c.Fields) > maxFields {
		return fmt.Errorf("%d fields, at most %d", len(c.Fields), maxFields)
	}
	for k, v := range c.Fields {
		if k == "" || len(k) > 16 || len(v) > maxTextLen {
			return fmt.Errorf("field %q: key 1 to 16 bytes, value at most %d bytes", k, maxTextLen)
		}
	}
	return nil
}

// SignCredential validates c, sets its kind and signs it.
func SignCredential(signer crypto.Signer, c Credential) (Signed, error) {
	c.Kind = KindCredential
	if err := c.Validate(); err != nil {
		return Signed{}, fmt.Errorf("credential: %w", err)
	}
	return seal(signer, &c)
}

// ParseCredential decodes a signed credential's envelope and payload without
// verifying the signature; the verifier does that once it knows the key.
func ParseCredential(b []byte) (Signed, *Credential, error) {
	s, err := ParseSigned("credential", b)
	if err != nil {
		return s, nil, err
	}
	c, err := DecodeCredential(s.Payload)
	return s, c, err
}

// DecodeCredential decodes a credential payload strictly.
func DecodeCredential(payload []byte) (*Credential, error) {
	if c, ok := fastCredential(payload); ok && c.Kind == KindCredential {
		if err := c.Validate(); err != nil {
			return nil, &ParseError{What: "credential", Problem: ProblemFormat, Err: err}
		}
		return c, nil
	}
	return decodeCredential(payload)
}

// decodeCredential is DecodeCredential by the general decoder alone.
func decodeCredential(payload []byte) (*Credential, error) {
	var c Credential
	if err := decodePayload("credential", payload, KindCredential, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, &ParseError{What: "credential", Problem: ProblemFormat, Err: err}
	}
	return &c, nil
}

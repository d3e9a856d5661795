package format

import (
	"crypto"
	"fmt"
	"time"
)

// Presentation is a dynamic presentation token (亮证动态码): a credential
// wrapped with a short validity, signed again by the issuing department's
// key, so that a screenshot goes stale.
type Presentation struct {
	Kind Kind `cbor:"0,keyasint"`
	// Credential is the signed credential envelope, exactly as issued.
	Credential []byte `cbor:"1,keyasint"`
	// NotBefore and Expires bound the token's validity, Unix seconds.
	NotBefore int64 `cbor:"2,keyasint"`
	Expires   int64 `cbor:"3,keyasint"`
	// Nonce makes every token distinct.
	Nonce []byte `cbor:"4,keyasint"`
}

// AnnotatedCopy is a 加注件: a credential bound to one relying department
// and a stated purpose (事由), valid until Expires.
type AnnotatedCopy struct {
	Kind       Kind   `cbor:"0,keyasint"`
	Credential []byte `cbor:"1,keyasint"`
	// Relying is the code of the only department the copy may be shown to.
	Relying string `cbor:"2,keyasint"`
	// Purpose is the stated purpose of use.
	Purpose  string `cbor:"3,keyasint"`
	IssuedAt int64  `cbor:"4,keyasint"`
	Expires  int64  `cbor:"5,keyasint"`
	Nonce    []byte `cbor:"6,keyasint"`
}

// Lifetime caps. A verifier refuses presentations and annotated copies that
// claim to live longer (verifier sub-indication LIFETIME_TOO_LONG), and an
// issuer refuses configuration that would make them: a token signed by a
// key that is stolen later stays usable no longer than this.
const (
	// MaxPresentationLifetime bounds a presentation token's expires − not
	// before. The issuer's default is 60 s.
	MaxPresentationLifetime = 5 * time.Minute
	// MaxAnnotatedCopyLifetime bounds an annotated copy's expires − issued at.
	MaxAnnotatedCopyLifetime = 90 * 24 * time.Hour
)

func (p *Presentation) validate() error {
	if len(p.Credential) == 0 || p.Expires <= p.NotBefore || len(p.Nonce) == 0 || len(p.Nonce) > 16 {
		return fmt.Errorf("needs a credential, a nonce of 1 to 16 bytes and expires after not before")
	}
	return nil
}

func (a *AnnotatedCopy) validate() error {
	if len(a.Credential) == 0 || a.Relying == "" || len(a.Relying) > 32 || a.Purpose == "" || len(a.Purpose) > maxTextLen ||
		a.Expires <= a.IssuedAt || len(a.Nonce) == 0 || len(a.Nonce) > 16 {
		return fmt.Errorf("needs a credential, a relying department, a purpose, a nonce and expires after issued at")
	}
	return nil
}

// SignPresentation signs a presentation token.
func SignPresentation(signer crypto.Signer, p Presentation) (Signed, error) {
	p.Kind = KindPresentation
	if err := p.validate(); err != nil {
		return Signed{}, fmt.Errorf("presentation: %w", err)
	}
	return seal(signer, p)
}

// SignAnnotatedCopy signs an annotated copy.
func SignAnnotatedCopy(signer crypto.Signer, a AnnotatedCopy) (Signed, error) {
	a.Kind = KindAnnotatedCopy
	if err := a.validate(); err != nil {
		return Signed{}, fmt.Errorf("annotated copy: %w", err)
	}
	return seal(signer, a)
}

// ParsePresentation decodes a signed presentation token without verifying it.
func ParsePresentation(b []byte) (Signed, *Presentation, error) {
	s, err := ParseSigned("presentation", b)
	if err != nil {
		return s, nil, err
	}
	var p Presentation
	if err := decodePayload("presentation", s.Payload, KindPresentation, &p); err != nil {
		return s, nil, err
	}
	if err := p.validate(); err != nil {
		return s, nil, &ParseError{What: "presentation", Problem: ProblemFormat, Err: err}
	}
	return s, &p, nil
}

// ParseAnnotatedCopy decodes a signed annotated copy without verifying it.
func ParseAnnotatedCopy(b []byte) (Signed, *AnnotatedCopy, error) {
	s, err := ParseSigned("annotated copy", b)
	if err != nil {
		return s, nil, err
	}
	var a AnnotatedCopy
	if err := decodePayload("annotated copy", s.Payload, KindAnnotatedCopy, &a); err != nil {
		return s, nil, err
	}
	if err := a.validate(); err != nil {
		return s, nil, &ParseError{What: "annotated copy", Problem: ProblemFormat, Err: err}
	}
	return s, &a, nil
}

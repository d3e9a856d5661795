package issuer

import (
	"bytes"
	"context"
	"crypto"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/keys"
)

// qrText returns the QR text of a signed object the service made: a QR URL
// of the public verification page under PublicationConfig.PublicURL (format version 2,
// docs/FORMAT.md §4.2), so that a phone camera opens the verdict while a
// counter scanner or an offline verifier reads the same text; or the plain
// version-2 text when there is no public URL, or one whose path is not
// upper case (a QR URL must stay in QR alphanumeric mode). A version-1
// credential stored before version 2 travels unchanged inside the text.
func (c *core) qrText(k format.Kind, signed format.Signed) string {
	if c.publicURL != "" {
		if u, err := format.QRURL(c.publicURL, k, signed); err == nil {
			return u
		}
	}
	return format.QRText2(k, signed)
}

// QRText returns the QR text of a signed object the service made: see
// qrText. Every room's QR texts come from here.
func (s *Service) QRText(k format.Kind, signed format.Signed) string { return s.core.qrText(k, signed) }

// CredentialQRText returns the QR text of a stored credential envelope.
func (s *Service) CredentialQRText(envelope []byte) string { return s.core.credentialQRText(envelope) }

func (c *core) credentialQRText(envelope []byte) string {
	signed, err := format.ParseSigned("credential", envelope)
	if err != nil {
		// The store holds only what the service signed; show it as the
		// version-1 text it would have had rather than nothing.
		return format.PrefixCredential + format.EncodeBase45(envelope)
	}
	return c.qrText(format.KindCredential, signed)
}

// signCredential signs cred as a compact credential (format version 2)
// when the trust list can name what it leaves out: the type has a
// catalogue number and the status list a number (its identifier is the
// department code, "-" and the number, as the store names lists).
// Otherwise it signs the version-1 credential.
func signCredential(key crypto.Signer, lt *LicenceType, cred *format.Credential) (format.Signed, error) {
	if lt.Number > 0 {
		if n, ok := format.StatusListNumber(cred.IssuerCode, cred.Status.List); ok {
			cc, err := cred.Compact(lt.Number, n)
			if err != nil {
				return format.Signed{}, err
			}
			return format.SignCompactCredential(key, *cc)
		}
	}
	return format.SignCredential(key, *cred)
}

// signedByKey reports whether a stored credential envelope names the key
// id: by its full key ID (version 1) or its short one (compact).
func signedByKey(envelope []byte, id keys.ID) (bool, error) {
	_, cred, cc, err := format.ParseAnyCredential(envelope)
	if err != nil {
		return false, err
	}
	if cc != nil {
		return bytes.HasPrefix(id[:], cc.ShortKeyID), nil
	}
	return bytes.Equal(cred.KeyID, id[:]), nil
}

// checkTypeNumber refuses a new type whose catalogue number another type
// has: numbers are given once and never reused (docs/FORMAT.md §10), and a
// trust list giving one number to two types is malformed.
func (s *core) checkTypeNumber(ctx context.Context, lt LicenceType) error {
	if lt.Number == 0 {
		return nil
	}
	types, err := s.store.ListLicenceTypes(ctx)
	if err != nil {
		return err
	}
	for _, st := range types {
		other, err := FromStore(st)
		if err != nil {
			return err
		}
		if other.Number == lt.Number && other.Code != lt.Code {
			return fieldError("number", "catalogue number %d is licence type %s's; numbers are never reused", lt.Number, other.Code)
		}
	}
	return nil
}

// checkShortKeyID refuses a new key (hex key ID id) whose short key ID
// another key of the trust list already has: a compact credential names
// its key by the short ID alone, across all departments, and a verifier
// fails both keys' compact credentials when two keys share it
// (docs/FORMAT.md §2). The chance is about 2⁻³² per pair of keys; the
// operator then generates another key.
func (s *core) checkShortKeyID(ctx context.Context, id string) error {
	short := id[:2*format.ShortKeyIDSize]
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return err
	}
	for _, d := range depts {
		ks, err := s.store.ListSigningKeys(ctx, d.Code)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k.ID != id && len(k.ID) >= len(short) && k.ID[:len(short)] == short {
				return problem(store.ErrDuplicate, "key %s shares its short key id %s with key %s of department %s; generate another key", id, short, k.ID, d.Code)
			}
		}
	}
	return nil
}

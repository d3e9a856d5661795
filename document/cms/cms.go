// Package cms signs and verifies detached CMS SignedData (RFC 5652) in the
// SM2 profile of GB/T 35275: one signer, SM3 digests, SM2 signatures with
// the default distinguishing ID, the signer's certificate chain, and the
// signed attributes content-type, message-digest and signing-time.
//
// Use [Signer.Sign] to sign a stream (the content is hashed as it is read,
// so any size signs in constant memory), [Signer.SignDigest] when the SM3
// digest is already known (a PDF's byte range), and [Verify] or
// [Parse] + [SignedData.VerifyDigest] to check one.
//
// The SignedData is built here with cryptobyte rather than with gmsm's
// pkcs7 package, because that package takes the signing time from
// time.Now() and holds the content in memory; gmsm supplies SM2, SM3 and
// the X.509 parser. The encoding is DER and documented byte by byte in
// docs/FORMAT.md ("CMS signature profile").
//
// Two sets of content-type object identifiers are supported (see
// [Profile]): GB/T 35275's own (1.2.156.10197.6.1.4.2.*), the default for
// .p7s files, and PKCS #7's (1.2.840.113549.1.7.*), which ISO 32000 requires
// inside a PDF's adbe.pkcs7.detached signature and which PDF readers parse.
// The algorithm identifiers are GB/T 35275's in both.
package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicence/keys"
)

// Object identifiers used by the profile.
var (
	// GB/T 35275 content types.
	OIDGMData       = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1}
	OIDGMSignedData = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	// PKCS #7 / RFC 5652 content types.
	OIDData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	// Algorithms (GB/T 35275, GM/T 0006).
	OIDSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	OIDSM2Sign    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1} // sm2-1, the GB/T 35275 signatureAlgorithm
	OIDSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}    // accepted when parsing (OpenSSL writes it)
	// Signed attributes (PKCS #9).
	OIDAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
)

// Profile selects the content-type object identifiers.
type Profile int

// Profiles.
const (
	// ProfileGM uses GB/T 35275's content types: signedData
	// 1.2.156.10197.6.1.4.2.2 and data 1.2.156.10197.6.1.4.2.1.
	ProfileGM Profile = iota
	// ProfilePKCS7 uses PKCS #7's: signedData 1.2.840.113549.1.7.2 and
	// data 1.2.840.113549.1.7.1, as PDF signatures require.
	ProfilePKCS7
)

func (p Profile) String() string {
	if p == ProfilePKCS7 {
		return "pkcs7"
	}
	return "gm"
}

func (p Profile) oids() (signedData, data asn1.ObjectIdentifier) {
	if p == ProfilePKCS7 {
		return OIDSignedData, OIDData
	}
	return OIDGMSignedData, OIDGMData
}

// Signer signs content as one CMS signer.
type Signer struct {
	// Key signs; it must take [sm2.DefaultSM2SignerOpts] and return an
	// ASN.1 SM2 signature, as *sm2.PrivateKey does.
	Key crypto.Signer
	// Chain is the signer's certificate first, then the certificates up
	// to (and, if wanted, including) the trust-list root. All are
	// carried in the SignedData.
	Chain []*smx509.Certificate
	// Now is the clock the signing time is read from. Required.
	Now func() time.Time
	// Profile selects the content-type identifiers; ProfileGM by default.
	Profile Profile
	// Receipt, when set, is carried as a fourth signed attribute (type
	// AttrReceiptOID, one OCTET STRING): the signed document receipt
	// (docs/FORMAT.md §16), so that a verifier holding only the file and
	// its signature learns what the receipt says.
	Receipt []byte
}

// Streaming: content is read in chunks of readSize into one of
// readBuffers buffers by one goroutine while the caller's goroutine hashes
// the previous chunk, so reading costs (almost) no hashing time; memory is
// readBuffers×readSize whatever the content's size.
const (
	readSize    = 256 << 10
	readBuffers = 3
)

type chunk struct {
	b   []byte
	err error
}

// Digest returns the SM3 digest of r, read in constant memory.
func Digest(r io.Reader) ([]byte, error) {
	d, _, err := DigestCount(r)
	return d, err
}

// DigestCount returns the SM3 digest of r, read in constant memory, and
// the number of bytes read.
func DigestCount(r io.Reader) ([]byte, int64, error) {
	h := sm3.New()
	var n int64
	free := make(chan []byte, readBuffers)
	full := make(chan chunk, readBuffers)
	for range readBuffers {
		free <- make([]byte, readSize)
	}
	go func() {
		// Ends after sending the chunk that carries an error or io.EOF,
		// which the receiver always waits for.
		for b := range free {
			n, err := 0, error(nil)
			for n < len(b) && err == nil {
				var m int
				m, err = r.Read(b[n:])
				n += m
			}
			full <- chunk{b[:n], err}
			if err != nil {
				return
			}
		}
	}()
	for {
		c := <-full
		h.Write(c.b)
		n += int64(len(c.b))
		if c.err == io.EOF {
			return h.Sum(nil), n, nil
		}
		if c.err != nil {
			return nil, n, fmt.Errorf("hash content: %w", c.err)
		}
		free <- c.b[:cap(c.b)]
	}
}

// Sign hashes content as it streams and returns the DER of a detached
// ContentInfo holding the SignedData.
func (s Signer) Sign(content io.Reader) ([]byte, error) {
	d, err := Digest(content)
	if err != nil {
		return nil, err
	}
	return s.SignDigest(d)
}

// SignDigest returns the DER of a detached ContentInfo holding the
// SignedData for content whose SM3 digest is digest.
func (s Signer) SignDigest(digest []byte) ([]byte, error) {
	if len(digest) != sm3.Size {
		return nil, fmt.Errorf("cms sign: digest is %d bytes, want %d (sm3)", len(digest), sm3.Size)
	}
	if s.Key == nil || len(s.Chain) == 0 || s.Chain[0] == nil {
		return nil, errors.New("cms sign: no key or no signer certificate")
	}
	if s.Now == nil {
		return nil, errors.New("cms sign: no clock")
	}
	pub, ok := s.Key.Public().(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("cms sign: key is not an sm2 key")
	}
	if certPub, ok := s.Chain[0].PublicKey.(*ecdsa.PublicKey); !ok || !certPub.Equal(pub) {
		return nil, errors.New("cms sign: the first certificate of the chain is not the key's")
	}
	sdOID, dataOID := s.Profile.oids()
	attrs, err := signedAttributes(dataOID, digest, s.Now(), s.Receipt)
	if err != nil {
		return nil, fmt.Errorf("cms sign: %w", err)
	}
	sig, err := s.Key.Sign(rand.Reader, attrs, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("cms sign: sm2: %w", err)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, attrs, sig) {
		// A signer that ignored the options (no Z, another ID) would
		// produce signatures nobody can verify: refuse them here.
		return nil, errors.New("cms sign: the key's signature does not verify with sm3 and the default distinguishing id")
	}
	certs := make([][]byte, 0, len(s.Chain))
	for _, c := range s.Chain {
		certs = append(certs, c.Raw)
	}
	slices.SortFunc(certs, bytes.Compare) // DER SET OF order
	signer := s.Chain[0]

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(sdOID)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgorithm(b, OIDSM3) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo, detached
					b.AddASN1ObjectIdentifier(dataOID)
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(signer.RawIssuer)
							b.AddASN1BigInt(signer.SerialNumber)
						})
						addAlgorithm(b, OIDSM3)
						// [0] IMPLICIT SET OF Attribute: the signed
						// bytes with their tag changed from SET.
						implicit := slices.Clone(attrs)
						implicit[0] = 0xa0
						b.AddBytes(implicit)
						addAlgorithm(b, OIDSM2Sign)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

func addAlgorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
}

// signedAttributes returns the DER SET OF the three signed attributes,
// sorted as DER requires: the bytes the SM2 signature covers.
func signedAttributes(dataOID asn1.ObjectIdentifier, digest []byte, now time.Time, receipt []byte) ([]byte, error) {
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) ([]byte, error) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.Bytes()
	}
	ct, err := attr(OIDAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(dataOID) })
	if err != nil {
		return nil, err
	}
	md, err := attr(OIDAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
	if err != nil {
		return nil, err
	}
	t := now.UTC().Truncate(time.Second)
	st, err := attr(OIDAttrSigningTime, func(b *cryptobyte.Builder) {
		// RFC 5652 11.3: UTCTime for 1950 to 2049, GeneralizedTime otherwise.
		if t.Year() >= 1950 && t.Year() < 2050 {
			b.AddASN1UTCTime(t)
		} else {
			b.AddASN1GeneralizedTime(t)
		}
	})
	if err != nil {
		return nil, err
	}
	list := [][]byte{ct, md, st}
	if receipt != nil {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(AttrReceiptOID) })
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(receipt) })
		})
		ra, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		list = append(list, ra)
	}
	slices.SortFunc(list, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range list {
			b.AddBytes(a)
		}
	})
	return b.Bytes()
}

// AttrReceiptOID is the content (without tag and length) of the object
// identifier of the receipt attribute: 2.25.79700313888334736105565161298643586199,
// a UUID OID (ITU-T X.667), since elicence has no registered arc. Its
// components do not fit encoding/asn1, so it is kept as DER.
var AttrReceiptOID = []byte{0x69, 0xf7, 0xf5, 0xdc, 0xb7, 0x85, 0xa6, 0xaa, 0xb9, 0xa5, 0xa9, 0xf2, 0x9f, 0xb8, 0x9b, 0x83, 0xdc, 0x99, 0x17}

// Sentinel errors for the outcomes a verifier maps to sub-indications.
var (
	// ErrFormat: not a SignedData of this profile (FORMAT_FAILURE).
	ErrFormat = errors.New("cms: malformed or unsupported signed data")
	// ErrDigest: the content's SM3 digest differs from the signed
	// message-digest attribute (HASH_FAILURE).
	ErrDigest = errors.New("cms: content does not match the signed digest")
	// ErrSignature: the SM2 signature over the signed attributes does
	// not verify with the signer certificate's key (SIG_CRYPTO_FAILURE).
	ErrSignature = errors.New("cms: signature does not verify")
)

func formatError(what string) error { return fmt.Errorf("%w: %s", ErrFormat, what) }

// SignedData is a parsed detached SignedData with one signer.
type SignedData struct {
	// Profile tells which content-type identifiers it uses.
	Profile Profile
	// Certificates are all certificates carried, in their order.
	Certificates []*smx509.Certificate
	// Signer is the certificate named by the signer's
	// IssuerAndSerialNumber.
	Signer *smx509.Certificate
	// SigningTime is the signed signing-time attribute.
	SigningTime time.Time
	// Digest is the signed message-digest attribute (SM3).
	Digest []byte
	// Receipt is the signed attribute AttrReceiptOID's value (the
	// document receipt envelope), nil when absent.
	Receipt []byte
	// SignedAttributes is the DER (tag SET) the signature covers.
	SignedAttributes []byte
	// Signature is the ASN.1 SM2 signature.
	Signature []byte
}

// Parse parses the DER of a ContentInfo holding a detached SignedData of
// this profile. It checks structure only; [SignedData.VerifyDigest] checks
// the signature.
func Parse(der []byte) (*SignedData, error) {
	in := cryptobyte.String(der)
	var ci, content, sd cryptobyte.String
	var ctOID asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) {
		return nil, formatError("not a der sequence")
	}
	if !in.Empty() {
		// A PDF's /Contents is padded with zeros after the DER.
		if !allZero(in) {
			return nil, formatError("trailing data after content info")
		}
	}
	if !ci.ReadASN1ObjectIdentifier(&ctOID) || !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() {
		return nil, formatError("content info")
	}
	out := &SignedData{}
	var dataOID asn1.ObjectIdentifier
	switch {
	case ctOID.Equal(OIDGMSignedData):
		out.Profile, dataOID = ProfileGM, OIDGMData
	case ctOID.Equal(OIDSignedData):
		out.Profile, dataOID = ProfilePKCS7, OIDData
	default:
		return nil, formatError("content type " + ctOID.String() + " is not signed data")
	}
	var version int64
	var digestAlgs, encap, certs, signerInfos cryptobyte.String
	if !content.ReadASN1(&sd, cbasn1.SEQUENCE) || !content.Empty() ||
		!sd.ReadASN1Integer(&version) ||
		!sd.ReadASN1(&digestAlgs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, formatError("signed data")
	}
	if version != 1 {
		return nil, formatError(fmt.Sprintf("signed data version %d, want 1", version))
	}
	for !digestAlgs.Empty() {
		oid, err := readAlgorithm(&digestAlgs)
		if err != nil {
			return nil, err
		}
		if !oid.Equal(OIDSM3) {
			return nil, formatError("digest algorithm " + oid.String() + ", want sm3")
		}
	}
	var eOID asn1.ObjectIdentifier
	if !encap.ReadASN1ObjectIdentifier(&eOID) {
		return nil, formatError("encapsulated content info")
	}
	if !eOID.Equal(dataOID) {
		return nil, formatError("encapsulated content type " + eOID.String())
	}
	if !encap.Empty() {
		return nil, formatError("content is not detached")
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if !sd.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, formatError("certificates")
		}
		for !certs.Empty() {
			var c cryptobyte.String
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, formatError("certificate")
			}
			cert, err := smx509.ParseCertificate(c)
			if err != nil {
				return nil, fmt.Errorf("%w: certificate: %v", ErrFormat, err)
			}
			out.Certificates = append(out.Certificates, cert)
		}
	}
	if sd.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, formatError("crls are not part of the profile")
	}
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !sd.Empty() {
		return nil, formatError("signer infos")
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, formatError("no signer info")
	}
	if !signerInfos.Empty() {
		return nil, formatError("more than one signer info")
	}
	var sidSeq, issuer, attrs, sig cryptobyte.String
	serial := new(big.Int)
	if !si.ReadASN1Integer(&version) || version != 1 {
		return nil, formatError("signer info version, want 1 (issuer and serial number)")
	}
	if !si.ReadASN1(&sidSeq, cbasn1.SEQUENCE) || !sidSeq.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!sidSeq.ReadASN1Integer(serial) || !sidSeq.Empty() {
		return nil, formatError("signer identifier")
	}
	if oid, err := readAlgorithm(&si); err != nil {
		return nil, err
	} else if !oid.Equal(OIDSM3) {
		return nil, formatError("signer digest algorithm " + oid.String() + ", want sm3")
	}
	if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, formatError("no signed attributes")
	}
	oid, err := readAlgorithm(&si)
	if err != nil {
		return nil, err
	}
	if !oid.Equal(OIDSM2Sign) && !oid.Equal(OIDSM2WithSM3) {
		return nil, formatError("signature algorithm " + oid.String() + ", want sm2")
	}
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) || !si.Empty() {
		return nil, formatError("signature")
	}
	out.Signature = slices.Clone([]byte(sig))
	out.SignedAttributes = slices.Clone([]byte(attrs))
	out.SignedAttributes[0] = 0x31
	if err := out.parseAttributes(attrs, dataOID); err != nil {
		return nil, err
	}
	for _, c := range out.Certificates {
		if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
			out.Signer = c
			break
		}
	}
	if out.Signer == nil {
		return nil, formatError("signer certificate not included")
	}
	return out, nil
}

func (out *SignedData) parseAttributes(attrs cryptobyte.String, dataOID asn1.ObjectIdentifier) error {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return formatError("signed attributes")
	}
	seen := map[string]bool{}
	sawContentType := false
	for !set.Empty() {
		var a, values, rawOID cryptobyte.String
		if !set.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1(&rawOID, cbasn1.OBJECT_IDENTIFIER) ||
			!a.ReadASN1(&values, cbasn1.SET) || !a.Empty() {
			return formatError("signed attribute")
		}
		if seen[string(rawOID)] {
			return formatError("signed attribute twice")
		}
		seen[string(rawOID)] = true
		if bytes.Equal(rawOID, AttrReceiptOID) {
			var v cryptobyte.String
			if !values.ReadASN1(&v, cbasn1.OCTET_STRING) || !values.Empty() || len(v) == 0 {
				return formatError("receipt attribute")
			}
			out.Receipt = slices.Clone([]byte(v))
			continue
		}
		var oid asn1.ObjectIdentifier
		// An arc too large for an int (a 2.25 UUID OID) is an attribute
		// this profile does not know: signed over, otherwise ignored.
		var full cryptobyte.Builder
		full.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(rawOID) })
		der := cryptobyte.String(full.BytesOrPanic())
		if !der.ReadASN1ObjectIdentifier(&oid) {
			oid = nil
		}
		switch {
		case oid.Equal(OIDAttrContentType):
			sawContentType = true
			var v asn1.ObjectIdentifier
			if !values.ReadASN1ObjectIdentifier(&v) || !values.Empty() || !v.Equal(dataOID) {
				return formatError("content-type attribute")
			}
		case oid.Equal(OIDAttrMessageDigest):
			var v cryptobyte.String
			if !values.ReadASN1(&v, cbasn1.OCTET_STRING) || !values.Empty() || len(v) != sm3.Size {
				return formatError("message-digest attribute")
			}
			out.Digest = slices.Clone([]byte(v))
		case oid.Equal(OIDAttrSigningTime):
			var t time.Time
			ok := false
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				ok = values.ReadASN1UTCTime(&t)
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				ok = values.ReadASN1GeneralizedTime(&t)
			}
			if !ok || !values.Empty() {
				return formatError("signing-time attribute")
			}
			out.SigningTime = t.UTC()
		}
		// Other attributes are signed over and otherwise ignored.
	}
	if !sawContentType || out.Digest == nil || out.SigningTime.IsZero() {
		return formatError("signed attributes lack content-type, message-digest or signing-time")
	}
	return nil
}

func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, formatError("algorithm identifier")
	}
	// Parameters are absent or NULL.
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 || !alg.Empty() {
			return nil, formatError("algorithm parameters")
		}
	}
	return oid, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// VerifyDigest checks that digest (the SM3 of the content) is the signed
// message digest and that the SM2 signature over the signed attributes
// verifies with the signer certificate's key and the default
// distinguishing ID. It does not decide whether the signer is trusted:
// that is the caller's (the trust list's) business.
func (sd *SignedData) VerifyDigest(digest []byte) error {
	if !bytes.Equal(digest, sd.Digest) {
		return ErrDigest
	}
	pub, ok := sd.Signer.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return fmt.Errorf("%w: signer key is not sm2", ErrSignature)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, sd.SignedAttributes, sd.Signature) {
		return ErrSignature
	}
	return nil
}

// Verify parses a detached SignedData and verifies it against content,
// hashed as it streams. On success it returns the parsed SignedData, whose
// Signer and SigningTime say who signed and when. The error wraps
// [ErrFormat], [ErrDigest] or [ErrSignature], or is a read error.
func Verify(der []byte, content io.Reader) (*SignedData, error) {
	sd, err := Parse(der)
	if err != nil {
		return nil, err
	}
	d, err := Digest(content)
	if err != nil {
		return nil, err
	}
	if err := sd.VerifyDigest(d); err != nil {
		return sd, err
	}
	return sd, nil
}

// Hasher returns a new SM3 hash, for callers that hash byte ranges
// themselves before [SignedData.VerifyDigest] or [Signer.SignDigest].
func Hasher() hash.Hash { return sm3.New() }

// NewSigner returns a signer for a department's key pair (as package keys
// loads it from a key directory), carrying the department's certificate
// and then chain (usually the trust-list root's certificate).
func NewSigner(p keys.Pair, now func() time.Time, chain ...*smx509.Certificate) Signer {
	return Signer{Key: p.Key, Chain: append([]*smx509.Certificate{p.Cert}, chain...), Now: now}
}

// VerifyIssuer checks that the signer certificate was issued by root and
// was valid at the signing time. It is the certificate half of trust; the
// trust list (which keys a department may use, and their states) is the
// verifier's other half.
func (sd *SignedData) VerifyIssuer(root *smx509.Certificate) error {
	return keys.VerifyIssuerCertificate(root, sd.Signer, sd.SigningTime)
}

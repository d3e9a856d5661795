// Package keys holds SM2 key material for elicence: generation, key IDs,
// encrypted storage at rest, public-key and certificate encoding, and signing.
//
// Signing goes through [crypto.Signer] so that a hardware module or a KMS
// can replace software keys: [Sign] asks the signer for an SM2 signature
// (GB/T 32918, SM3, default distinguishing ID 1234567812345678) over the
// exact message bytes and returns it as raw r‖s, 64 bytes. [Verify] is the
// matching check.
//
// Private keys never leave this package unencrypted: on disk they are
// PKCS#8 EncryptedPrivateKeyInfo (PBES2 with PBKDF2-HMAC-SM3 and SM4-CBC),
// PEM type "ENCRYPTED PRIVATE KEY", written with mode 0600.
package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// SignatureSize is the length of a raw SM2 signature r‖s.
const SignatureSize = 64

// IDSize is the length of a key ID in bytes.
const IDSize = 8

// DefaultUID is the SM2 distinguishing ID used for every signature, the
// default of GB/T 32918 and of OpenSSL's distid option.
const DefaultUID = "1234567812345678"

// PBKDF2Iterations is the iteration count used when encrypting private keys.
const PBKDF2Iterations = 100_000

// ID identifies a public key: the first 8 bytes of SM3 over the key's
// SubjectPublicKeyInfo DER. IDs are short; a verifier narrows the search by
// the issuer code first and must not assume IDs are unique across issuers.
type ID [IDSize]byte

// String returns the ID as 16 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses 16 hex digits into an ID.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IDSize {
		return id, fmt.Errorf("key id %q: want %d hex digits", s, 2*IDSize)
	}
	copy(id[:], b)
	return id, nil
}

// IDOf returns the key ID of pub.
func IDOf(pub *ecdsa.PublicKey) (ID, error) {
	der, err := MarshalPublicKeyDER(pub)
	if err != nil {
		return ID{}, err
	}
	return IDOfDER(der), nil
}

// IDOfDER returns the key ID of a SubjectPublicKeyInfo DER encoding.
func IDOfDER(spki []byte) ID {
	sum := sm3.Sum(spki)
	var id ID
	copy(id[:], sum[:IDSize])
	return id
}

// Generate returns a new SM2 private key read from rand (crypto/rand when nil).
func Generate(r io.Reader) (*sm2.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := sm2.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generate sm2 key: %w", err)
	}
	return k, nil
}

// MarshalPublicKeyDER returns the SubjectPublicKeyInfo DER of an SM2 public key.
func MarshalPublicKeyDER(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("not an sm2 public key")
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return der, nil
}

// MarshalPublicKeyPEM returns the public key as a PEM "PUBLIC KEY" block.
func MarshalPublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey parses an SM2 public key from SubjectPublicKeyInfo DER or
// from PEM ("PUBLIC KEY", or a "CERTIFICATE" whose key is taken).
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		switch block.Type {
		case "PUBLIC KEY":
			der = block.Bytes
		case "CERTIFICATE":
			cert, err := smx509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return publicKeyOf(cert.PublicKey)
		default:
			return nil, fmt.Errorf("parse public key: unexpected PEM block %q", block.Type)
		}
	}
	pub, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		if bytes.Equal(der, data) {
			// Neither PEM nor DER: say so, not what the DER parser
			// made of it.
			return nil, ErrNotPublicKey
		}
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return publicKeyOf(pub)
}

// ErrNotPublicKey reports data that is neither a PEM certificate or public
// key nor a DER SubjectPublicKeyInfo.
var ErrNotPublicKey = errors.New("not a certificate or public key: want PEM (BEGIN CERTIFICATE or BEGIN PUBLIC KEY) or DER SubjectPublicKeyInfo")

func publicKeyOf(k any) (*ecdsa.PublicKey, error) {
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("parse public key: not an sm2 public key")
	}
	return pub, nil
}

// MarshalPrivateKey encrypts priv under passphrase as PKCS#8
// EncryptedPrivateKeyInfo (PBKDF2-HMAC-SM3, SM4-CBC) and returns PEM.
func MarshalPrivateKey(priv *sm2.PrivateKey, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("encrypt private key: empty passphrase")
	}
	opts := &pkcs8.Opts{
		Cipher:  pkcs.SM4CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: PBKDF2Iterations, HMACHash: pkcs8.SM3},
	}
	der, err := pkcs8.MarshalPrivateKey(priv, passphrase, opts)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// ErrPassphrase reports a private key that the passphrase does not open.
var ErrPassphrase = errors.New("wrong passphrase or damaged key")

// ParsePrivateKey decrypts a PEM "ENCRYPTED PRIVATE KEY" with passphrase.
// Unencrypted keys are refused.
func ParsePrivateKey(data, passphrase []byte) (*sm2.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("parse private key: no PEM block")
	}
	if block.Type != "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("parse private key: PEM block %q, want ENCRYPTED PRIVATE KEY (keys are only kept encrypted)", block.Type)
	}
	k, err := pkcs8.ParsePKCS8PrivateKeySM2(block.Bytes, passphrase)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", ErrPassphrase)
	}
	return k, nil
}

// Passphrase reads a passphrase from the environment variable env, or, when
// that is empty, from the file named by the environment variable env+"_FILE".
// Surrounding white space is trimmed. The passphrase itself never appears in
// an error.
func Passphrase(env string) ([]byte, error) {
	if v := os.Getenv(env); v != "" {
		return []byte(strings.TrimSpace(v)), nil
	}
	if f := os.Getenv(env + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file named by %s_FILE: %w", env, err)
		}
		p := strings.TrimSpace(string(b))
		if p == "" {
			return nil, fmt.Errorf("passphrase file named by %s_FILE is empty", env)
		}
		return []byte(p), nil
	}
	return nil, fmt.Errorf("no passphrase: set %s or %s_FILE", env, env)
}

// WriteSecretFile writes data to path with mode 0600, refusing to replace an
// existing file.
func WriteSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Sign signs msg with signer using SM2 with SM3 and the default
// distinguishing ID, and returns the raw 64-byte r‖s signature. The signer
// must accept [sm2.DefaultSM2SignerOpts] and return an ASN.1 signature, as
// *sm2.PrivateKey does.
//
// An [*SM2Key] signs with its precomputed ZA, the same signature.
func Sign(signer crypto.Signer, msg []byte) ([]byte, error) {
	if k, ok := signer.(*SM2Key); ok {
		return k.signRaw(msg)
	}
	der, err := signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	raw, err := RawSignature(der)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return raw, nil
}

// Verify reports whether sig (raw r‖s) is a valid SM2 signature of msg by pub
// with the default distinguishing ID.
func Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	der, err := DERSignature(sig)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub, nil, msg, der)
}

// RawSignature converts an ASN.1 DER SM2 signature to raw r‖s.
func RawSignature(der []byte) ([]byte, error) {
	var r, s cryptobyte.String
	in := cryptobyte.String(der)
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1(&r, asn1.INTEGER) || !inner.ReadASN1(&s, asn1.INTEGER) || !inner.Empty() {
		return nil, errors.New("malformed asn.1 signature")
	}
	out := make([]byte, SignatureSize)
	rb, sb := new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)
	if rb.BitLen() > 256 || sb.BitLen() > 256 {
		return nil, errors.New("signature integer too large")
	}
	rb.FillBytes(out[:32])
	sb.FillBytes(out[32:])
	return out, nil
}

// DERSignature converts a raw r‖s SM2 signature to ASN.1 DER, the form
// OpenSSL and X.509 expect.
func DERSignature(raw []byte) ([]byte, error) {
	if len(raw) != SignatureSize {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(raw), SignatureSize)
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[32:]))
	})
	return b.Bytes()
}

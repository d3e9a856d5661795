package keys

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// SM2Key is a software SM2 signing key with its ZA computed once.
//
// An SM2 signature (GB/T 32918.2 §6.1) signs e = SM3(ZA ‖ M), where ZA is
// SM3 over the distinguishing ID's bit length, the ID, the curve's a, b, G
// and the public key: the same for every message a key signs. gmsm's
// [sm2.PrivateKey.Sign] with [sm2.DefaultSM2SignerOpts] computes ZA again
// for each message; SM2Key hashes ZA ‖ M with the ZA it keeps and has gmsm
// sign the digest e (gmsm's SignASN1 with no options treats its input as e).
// The nonce is gmsm's hedged one either way: HMAC-DRBG over the private
// key, e and 32 fresh bytes from crypto/rand (draft-irtf-cfrg-det-sigs-with-noise).
// The signature is the one [sm2.PrivateKey.Sign] would make with the
// default distinguishing ID 1234567812345678, and any SM2 verifier checks it
// as such (TestSM2KeyMatchesGMSM, TestOpenSSLJudges).
type SM2Key struct {
	priv *sm2.PrivateKey
	za   [sm3.Size]byte
}

// NewSM2Key returns priv with its ZA for the default distinguishing ID.
func NewSM2Key(priv *sm2.PrivateKey) (*SM2Key, error) {
	if priv == nil {
		return nil, errors.New("sm2 key: nil private key")
	}
	za, err := sm2.CalculateZA(&priv.PublicKey, []byte(DefaultUID))
	if err != nil {
		return nil, fmt.Errorf("sm2 key: %w", err)
	}
	k := &SM2Key{priv: priv}
	copy(k.za[:], za)
	return k, nil
}

// Public implements [crypto.Signer]: the *ecdsa.PublicKey.
func (k *SM2Key) Public() crypto.PublicKey { return k.priv.Public() }

// PrivateKey returns the private key.
func (k *SM2Key) PrivateKey() *sm2.PrivateKey { return k.priv }

// Digest returns e = SM3(ZA ‖ msg) for the default distinguishing ID.
func (k *SM2Key) Digest(msg []byte) [sm3.Size]byte {
	h := sm3.New()
	h.Write(k.za[:])
	h.Write(msg)
	var e [sm3.Size]byte
	h.Sum(e[:0])
	return e
}

// Sign implements [crypto.Signer] as *sm2.PrivateKey does. With
// [sm2.DefaultSM2SignerOpts], msg is the message and the precomputed ZA is
// used; any other options go to the private key unchanged. rand must not be
// nil: a nil rand would make gmsm's nonce deterministic.
func (k *SM2Key) Sign(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if rand == nil {
		return nil, errors.New("sm2 sign: no randomness source")
	}
	if opts != sm2.DefaultSM2SignerOpts {
		return k.priv.Sign(rand, msg, opts)
	}
	if len(msg) == 0 {
		return nil, errEmpty
	}
	e := k.Digest(msg)
	return sm2.SignASN1(rand, k.priv, e[:], nil)
}

// signRaw signs msg and returns raw r‖s.
func (k *SM2Key) signRaw(msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("sm2 sign: %w", errEmpty)
	}
	e := k.Digest(msg)
	der, err := sm2.SignASN1(rand.Reader, k.priv, e[:], nil)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	raw, err := rawFromDER(der)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return raw, nil
}

// errEmpty refuses an empty message, as gmsm does.
var errEmpty = errors.New("sm2: hash cannot be empty")

// rawFromDER is RawSignature without big integers: each INTEGER of the
// SEQUENCE must be positive and at most 32 bytes after its sign byte.
func rawFromDER(der []byte) ([]byte, error) {
	var r, s cryptobyte.String
	in := cryptobyte.String(der)
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1(&r, asn1.INTEGER) || !inner.ReadASN1(&s, asn1.INTEGER) || !inner.Empty() {
		return nil, errors.New("malformed asn.1 signature")
	}
	out := make([]byte, SignatureSize)
	for i, v := range [2][]byte{r, s} {
		if len(v) == 0 || v[0]&0x80 != 0 {
			return nil, errors.New("signature integer not positive")
		}
		if len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > 32 {
			return nil, errors.New("signature integer too large")
		}
		copy(out[32*(i+1)-len(v):32*(i+1)], v)
	}
	return out, nil
}

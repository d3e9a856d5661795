package tlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"elicence/keys"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"
)

// Signature type identifiers (C2SP signed-note "signature type"). SM2 has no
// byte assigned by the specification, so both use 0xff, which it reserves
// for types without an assigned byte, followed by a longer identifier as it
// recommends. They are distinct, so one key and name used for both gets two
// key IDs.
const (
	// NoteSigType identifies an SM2-with-SM3 signature over the note text.
	NoteSigType = "\xffelicence-sm2-sm3-v1"
	// CosigSigType identifies a timestamped SM2-with-SM3 witness
	// cosignature in the manner of C2SP tlog-cosignature (cosignature/v1).
	CosigSigType = "\xffelicence-sm2-sm3-cosignature-v1"
)

// publicKeySize is the length of an uncompressed SEC1 SM2 point, 0x04‖X‖Y.
const publicKeySize = 65

// timestampSize is the length of a cosignature's big-endian Unix seconds.
const timestampSize = 8

// ErrMalformedKey is wrapped by every error about a note key: its name, its
// key string, its type or its public key.
var ErrMalformedKey = errors.New("malformed note key")

// validName reports whether name may name a note key: non-empty UTF-8,
// no Unicode space, no plus sign (C2SP signed-note).
func validName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsSpace(r) || r == '+' || r < 0x20 {
			return false
		}
	}
	return true
}

func marshalPoint(pub *ecdsa.PublicKey) []byte {
	b := make([]byte, publicKeySize)
	b[0] = 0x04
	//lint:ignore SA1019 reading an SM2 point, which crypto/ecdsa cannot encode
	pub.X.FillBytes(b[1:33])
	//lint:ignore SA1019 as above
	pub.Y.FillBytes(b[33:])
	return b
}

// keyID is SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4], big
// endian, as C2SP signed-note recommends.
func keyID(name, sigType string, point []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write([]byte(sigType))
	h.Write(point)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// VerifierKey returns the verifier key string name+keyid+base64(type‖point)
// for an SM2 public key and a signature type ([NoteSigType] or
// [CosigSigType]), in the form golang.org/x/mod/sumdb/note uses.
func VerifierKey(name, sigType string, pub *ecdsa.PublicKey) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("%w: invalid key name %q", ErrMalformedKey, name)
	}
	if sigType != NoteSigType && sigType != CosigSigType {
		return "", fmt.Errorf("%w: unknown signature type", ErrMalformedKey)
	}
	if pub == nil || !sm2.IsSM2PublicKey(pub) {
		return "", fmt.Errorf("%w: not an sm2 public key", ErrMalformedKey)
	}
	p := marshalPoint(pub)
	return fmt.Sprintf("%s+%08x+%s", name, keyID(name, sigType, p), base64.StdEncoding.EncodeToString(append([]byte(sigType), p...))), nil
}

// parseVerifierKey splits a verifier key and checks its key ID.
func parseVerifierKey(vkey string) (name, sigType string, pub *ecdsa.PublicKey, id uint32, err error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validName(name) || len(hash16) != 8 {
		return "", "", nil, 0, fmt.Errorf("%w: want name+keyid+key", ErrMalformedKey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return "", "", nil, 0, fmt.Errorf("%w: key id %q is not 8 hex digits", ErrMalformedKey, hash16)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil {
		return "", "", nil, 0, fmt.Errorf("%w: key is not base64", ErrMalformedKey)
	}
	switch {
	case strings.HasPrefix(string(key), NoteSigType):
		sigType = NoteSigType
	case strings.HasPrefix(string(key), CosigSigType):
		sigType = CosigSigType
	default:
		return "", "", nil, 0, fmt.Errorf("%w: not an elicence sm2 key", ErrMalformedKey)
	}
	point := key[len(sigType):]
	if len(point) != publicKeySize {
		return "", "", nil, 0, fmt.Errorf("%w: public key is %d bytes, want %d", ErrMalformedKey, len(point), publicKeySize)
	}
	pub, err = sm2.NewPublicKey(point)
	if err != nil {
		return "", "", nil, 0, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	id = keyID(name, sigType, point)
	if uint32(h) != id {
		return "", "", nil, 0, fmt.Errorf("%w: key id %s does not match the key", ErrMalformedKey, hash16)
	}
	return name, sigType, pub, id, nil
}

// noteSigner signs note text with SM2; it implements [note.Signer].
type noteSigner struct {
	name   string
	id     uint32
	signer crypto.Signer
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.id }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return keys.Sign(s.signer, msg)
}

func signerPoint(signer crypto.Signer) ([]byte, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("%w: signer's key is not sm2", ErrMalformedKey)
	}
	return marshalPoint(pub), nil
}

// NewNoteSigner returns a [note.Signer] that signs the note text with SM2
// (SM3, default distinguishing ID) under the key name, and returns the raw
// 64-byte r‖s. A department signs its checkpoints with it.
func NewNoteSigner(name string, signer crypto.Signer) (note.Signer, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: invalid key name %q", ErrMalformedKey, name)
	}
	p, err := signerPoint(signer)
	if err != nil {
		return nil, err
	}
	return &noteSigner{name: name, id: keyID(name, NoteSigType, p), signer: signer}, nil
}

// noteVerifier checks SM2 note signatures; it implements [note.Verifier].
type noteVerifier struct {
	name string
	id   uint32
	pub  *ecdsa.PublicKey
}

func (v *noteVerifier) Name() string    { return v.name }
func (v *noteVerifier) KeyHash() uint32 { return v.id }
func (v *noteVerifier) Verify(msg, sig []byte) bool {
	return len(sig) == keys.SignatureSize && keys.Verify(v.pub, msg, sig)
}

// NewNoteVerifier parses a verifier key of type [NoteSigType] (as
// [VerifierKey] writes it) into a [note.Verifier].
func NewNoteVerifier(vkey string) (note.Verifier, error) {
	name, typ, pub, id, err := parseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if typ != NoteSigType {
		return nil, fmt.Errorf("%w: a cosignature key, not a note key", ErrMalformedKey)
	}
	return &noteVerifier{name: name, id: id, pub: pub}, nil
}

// cosignedMessage is what a cosignature signs (tlog-cosignature
// cosignature/v1): the header line, the time line, then the note text.
func cosignedMessage(t uint64, text []byte) []byte {
	return append([]byte("cosignature/v1\ntime "+strconv.FormatUint(t, 10)+"\n"), text...)
}

// cosigner co-signs checkpoints; it implements [note.Signer].
type cosigner struct {
	name   string
	id     uint32
	signer crypto.Signer
	now    func() time.Time
}

func (s *cosigner) Name() string    { return s.name }
func (s *cosigner) KeyHash() uint32 { return s.id }
func (s *cosigner) Sign(msg []byte) ([]byte, error) {
	if _, err := parseCheckpointText(msg); err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	t := s.now().Unix()
	if t < 0 {
		return nil, errors.New("cosign: time before 1970")
	}
	sig, err := keys.Sign(s.signer, cosignedMessage(uint64(t), msg))
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, timestampSize+len(sig)), uint64(t)), sig...), nil
}

// NewCosigner returns a [note.Signer] that adds a timestamped SM2 witness
// cosignature, timestamp‖r‖s, with the time read from now when it signs.
// The trust-list operator's witness signs with it; [Witness] is the usual
// way to use it.
func NewCosigner(name string, signer crypto.Signer, now func() time.Time) (note.Signer, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: invalid key name %q", ErrMalformedKey, name)
	}
	if now == nil {
		return nil, errors.New("cosigner: no clock")
	}
	p, err := signerPoint(signer)
	if err != nil {
		return nil, err
	}
	return &cosigner{name: name, id: keyID(name, CosigSigType, p), signer: signer, now: now}, nil
}

// cosigVerifier checks timestamped SM2 cosignatures.
type cosigVerifier struct {
	name string
	id   uint32
	pub  *ecdsa.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.id }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != timestampSize+keys.SignatureSize {
		return false
	}
	if _, err := parseCheckpointText(msg); err != nil {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	return keys.Verify(v.pub, cosignedMessage(t, msg), sig[timestampSize:])
}

// NewCosigVerifier parses a verifier key of type [CosigSigType] into a
// [note.Verifier] of witness cosignatures.
func NewCosigVerifier(vkey string) (note.Verifier, error) {
	name, typ, pub, id, err := parseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if typ != CosigSigType {
		return nil, fmt.Errorf("%w: a note key, not a cosignature key", ErrMalformedKey)
	}
	return &cosigVerifier{name: name, id: id, pub: pub}, nil
}

// cosignatureTime returns the timestamp of a verified cosignature.
func cosignatureTime(s note.Signature) (time.Time, error) {
	b, err := base64.StdEncoding.DecodeString(s.Base64)
	if err != nil || len(b) != 4+timestampSize+keys.SignatureSize {
		return time.Time{}, errors.New("malformed cosignature")
	}
	t := binary.BigEndian.Uint64(b[4:])
	if t > 1<<62 {
		return time.Time{}, errors.New("cosignature time out of range")
	}
	return time.Unix(int64(t), 0).UTC(), nil
}

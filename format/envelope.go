package format

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"elicence/keys"
)

// Kind is the value of key 0 in every signed payload; it keeps a signature
// made for one kind of object from being accepted as another.
type Kind uint8

// Kinds of signed objects.
const (
	KindCredential    Kind = 1
	KindTrustList     Kind = 2
	KindStatusList    Kind = 3
	KindPresentation  Kind = 4
	KindAnnotatedCopy Kind = 5
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case KindCredential:
		return "credential"
	case KindTrustList:
		return "trust list"
	case KindStatusList:
		return "status list"
	case KindPresentation:
		return "presentation"
	case KindAnnotatedCopy:
		return "annotated copy"
	case KindCompactCredential:
		return "compact credential"
	case KindDocumentReceipt:
		return "document receipt"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// withArticle returns the kind's name after "a" or "an".
func (k Kind) withArticle() string {
	name := k.String()
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// MaxSigned is the largest signed object accepted, in bytes. Status lists
// are the largest objects; a compressed list of 2^20 two-bit entries that
// are all different stays well below it.
const MaxSigned = 1 << 20

var (
	encMode = func() cbor.EncMode {
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return em
	}()
	decMode = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			TagsMd:            cbor.TagsForbidden,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
			MaxNestedLevels:   8,
			UTF8:              cbor.UTF8RejectInvalid,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
)

// Signed is the envelope of every signed object: the exact payload bytes and
// the raw SM2 signature over them.
type Signed struct {
	_         struct{} `cbor:",toarray"`
	Payload   []byte
	Signature []byte
}

// Encode returns the canonical CBOR encoding of the envelope.
func (s Signed) Encode() []byte {
	if n := len(s.Payload); s.Payload != nil && len(s.Signature) == keys.SignatureSize && n <= MaxSigned {
		// The one canonical encoding, written directly (parseCanonicalEnvelope
		// reads it back): array of two, the payload with its shortest
		// length header, the 64-byte signature.
		b := make([]byte, 0, 1+5+n+2+keys.SignatureSize)
		b = append(b, 0x82)
		switch {
		case n < 24:
			b = append(b, 0x40|byte(n))
		case n < 1<<8:
			b = append(b, 0x58, byte(n))
		case n < 1<<16:
			b = append(b, 0x59, byte(n>>8), byte(n))
		default:
			b = append(b, 0x5a, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		b = append(b, s.Payload...)
		b = append(b, 0x58, keys.SignatureSize)
		return append(b, s.Signature...)
	}
	b, err := encMode.Marshal(s)
	if err != nil {
		panic(err) // two byte strings always encode
	}
	return b
}

// ParseSigned decodes an envelope, refusing trailing bytes, oversize input
// and any non-canonical encoding. It does not verify the signature.
func ParseSigned(what string, b []byte) (Signed, error) {
	if s, ok := parseCanonicalEnvelope(b); ok {
		return s, nil
	}
	var s Signed
	if len(b) > MaxSigned {
		return s, parseErr(what, ProblemTooLarge, "%d bytes, at most %d", len(b), MaxSigned)
	}
	rest, err := decMode.UnmarshalFirst(b, &s)
	if err != nil {
		return s, parseErr(what, ProblemFormat, "envelope: %v", err)
	}
	if len(rest) > 0 {
		return s, parseErr(what, ProblemTrailing, "%d bytes after the envelope", len(rest))
	}
	if len(s.Signature) != keys.SignatureSize {
		return s, parseErr(what, ProblemFormat, "signature is %d bytes, want %d", len(s.Signature), keys.SignatureSize)
	}
	if !bytes.Equal(s.Encode(), b) {
		return s, parseErr(what, ProblemNonCanonical, "envelope is not canonical cbor")
	}
	return s, nil
}

// parseCanonicalEnvelope is the fast path of ParseSigned: it accepts only
// the one canonical encoding of a well-formed envelope (array of two,
// payload with its shortest length header, a 64-byte signature, nothing
// after) and reports false for anything else, which the general decoder
// then classifies.
func parseCanonicalEnvelope(b []byte) (Signed, bool) {
	if len(b) > MaxSigned || len(b) < 2+2+keys.SignatureSize || b[0] != 0x82 {
		return Signed{}, false
	}
	var n, hdr int
	switch ai := b[1]; {
	case ai >= 0x40 && ai <= 0x57:
		n, hdr = int(ai-0x40), 1
	case ai == 0x58 && len(b) > 2 && b[2] >= 24:
		n, hdr = int(b[2]), 2
	case ai == 0x59 && len(b) > 3 && (int(b[2])<<8|int(b[3])) >= 256:
		n, hdr = int(b[2])<<8|int(b[3]), 3
	case ai == 0x5a && len(b) > 5 && (int(b[2])<<24|int(b[3])<<16|int(b[4])<<8|int(b[5])) >= 1<<16:
		n, hdr = int(b[2])<<24|int(b[3])<<16|int(b[4])<<8|int(b[5]), 5
	default:
		return Signed{}, false
	}
	rest := b[1+hdr:]
	if len(rest) != n+2+keys.SignatureSize || rest[n] != 0x58 || rest[n+1] != keys.SignatureSize {
		return Signed{}, false
	}
	return Signed{
		Payload:   bytes.Clone(rest[:n]),
		Signature: bytes.Clone(rest[n+2:]),
	}, true
}

// Verify reports whether the envelope's signature verifies under pub.
func (s Signed) Verify(pub *ecdsa.PublicKey) error {
	if !keys.Verify(pub, s.Payload, s.Signature) {
		return ErrSignature
	}
	return nil
}

// directPayload is a payload that writes its canonical encoding itself
// (cborenc.go), without reflection.
type directPayload interface{ encode() ([]byte, error) }

// seal encodes payload canonically and signs it.
func seal(signer crypto.Signer, payload any) (Signed, error) {
	var b []byte
	var err error
	if p, ok := payload.(directPayload); ok {
		b, err = p.encode()
	} else {
		b, err = encMode.Marshal(payload)
	}
	if err != nil {
		return Signed{}, fmt.Errorf("encode payload: %w", err)
	}
	sig, err := keys.Sign(signer, b)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Payload: b, Signature: sig}, nil
}

// headerMode decodes only the kind, ignoring the other keys.
var headerMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{MaxNestedLevels: 8, TagsMd: cbor.TagsForbidden}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// kindHeader decodes only key 0 of a payload.
type kindHeader struct {
	Kind Kind `cbor:"0,keyasint"`
}

// decodePayload decodes payload into v (a pointer to a struct whose key 0 is
// the Kind), checks the kind and that re-encoding gives the same bytes.
func decodePayload(what string, payload []byte, want Kind, v any) error {
	// A canonical payload starts with its map header, key 0 and the kind;
	// only other payloads need the header decoded on its own to tell a
	// wrong kind from a malformed payload.
	if len(payload) < 3 || payload[0] < 0xa1 || payload[0] > 0xb7 || payload[1] != 0x00 || payload[2] != byte(want) || want > 23 {
		var h kindHeader
		if err := headerMode.Unmarshal(payload, &h); err != nil {
			return parseErr(what, ProblemFormat, "payload: %v", err)
		}
		if h.Kind != want {
			return parseErr(what, ProblemKind, "payload is %s, want %s", h.Kind.withArticle(), want.withArticle())
		}
	}
	if err := decMode.Unmarshal(payload, v); err != nil {
		return parseErr(what, ProblemFormat, "payload: %v", err)
	}
	again, err := encMode.Marshal(v)
	if err != nil || !bytes.Equal(again, payload) {
		// A required key that is absent decodes as zero and comes back
		// on re-encoding: that is a missing key (FORMAT_FAILURE), not an
		// encoding choice (docs/FORMAT.md §12, step 1).
		if err == nil {
			if path, ok := missingKey(payload, again); ok {
				return parseErr(what, ProblemFormat, "payload: missing required key %s", path)
			}
		}
		return parseErr(what, ProblemNonCanonical, "payload is not canonical cbor")
	}
	return nil
}

// missingKey reports the first map key (as a path such as "4[0].3") that
// the re-encoding want has and the decoded input got lacks, in maps at the
// same place of both. Only the rare non-canonical path calls it.
func missingKey(got, want []byte) (string, bool) {
	var g, w any
	if cbor.Unmarshal(got, &g) != nil || cbor.Unmarshal(want, &w) != nil {
		return "", false
	}
	return missingIn(g, w, "")
}

func missingIn(got, want any, path string) (string, bool) {
	switch w := want.(type) {
	case map[any]any:
		g, ok := got.(map[any]any)
		if !ok {
			return "", false
		}
		keys := make([]uint64, 0, len(w))
		for k := range w {
			if n, ok := k.(uint64); ok {
				keys = append(keys, n)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := strconv.FormatUint(k, 10)
			if path != "" {
				sub = path + "." + sub
			}
			gv, ok := g[k]
			if !ok {
				return sub, true
			}
			if p, ok := missingIn(gv, w[k], sub); ok {
				return p, true
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return "", false
		}
		for i := range w {
			if p, ok := missingIn(g[i], w[i], path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
	}
	return "", false
}

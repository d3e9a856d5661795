package tlog

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// Kind says what sort of signed object a leaf commits to.
type Kind byte

// The kinds of signed object the issuer logs. Other values are reserved and
// refused by [ParseLeaf].
const (
	// KindCredential is a signed credential (the licence itself).
	KindCredential Kind = 0x01
	// KindDocumentReceipt is a signed document receipt.
	KindDocumentReceipt Kind = 0x02
)

// String returns the kind's name as reports show it.
func (k Kind) String() string {
	switch k {
	case KindCredential:
		return "credential"
	case KindDocumentReceipt:
		return "document-receipt"
	}
	return fmt.Sprintf("kind(0x%02x)", byte(k))
}

func (k Kind) valid() bool { return k == KindCredential || k == KindDocumentReceipt }

// LeafVersion is the first byte of every leaf.
const LeafVersion = 0x01

// LeafSize is the length of an encoded leaf: version, kind, SM3 digest.
const LeafSize = 2 + HashSize

// Leaf is the content of one log entry: the SM3 digest of the exact bytes of
// a signed object, and the object's kind. It carries no personal data.
type Leaf struct {
	Kind       Kind
	ObjectHash [HashSize]byte
}

// NewLeaf returns the leaf for the signed object whose exact encoded bytes
// (payload and signature, before any QR text encoding) are object.
func NewLeaf(kind Kind, object []byte) Leaf {
	return Leaf{Kind: kind, ObjectHash: sm3.Sum(object)}
}

// Marshal returns the 34-byte encoding: 0x01, the kind, the object hash.
func (l Leaf) Marshal() []byte { return l.AppendMarshal(make([]byte, 0, LeafSize)) }

// AppendMarshal appends the encoding Marshal returns to b.
func (l Leaf) AppendMarshal(b []byte) []byte {
	b = append(b, LeafVersion, byte(l.Kind))
	return append(b, l.ObjectHash[:]...)
}

// Hash returns the leaf's Merkle hash, SM3(0x00‖Marshal()).
func (l Leaf) Hash() []byte { return Hasher.HashLeaf(l.Marshal()) }

// ErrMalformedLeaf is wrapped by [ParseLeaf] errors.
var ErrMalformedLeaf = errors.New("malformed leaf")

// ParseLeaf decodes a leaf, refusing any other length, version or kind.
func ParseLeaf(b []byte) (Leaf, error) {
	if len(b) != LeafSize {
		return Leaf{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedLeaf, len(b), LeafSize)
	}
	if b[0] != LeafVersion {
		return Leaf{}, fmt.Errorf("%w: version 0x%02x, want 0x%02x", ErrMalformedLeaf, b[0], LeafVersion)
	}
	l := Leaf{Kind: Kind(b[1])}
	if !l.Kind.valid() {
		return Leaf{}, fmt.Errorf("%w: unknown kind 0x%02x", ErrMalformedLeaf, b[1])
	}
	copy(l.ObjectHash[:], b[2:])
	return l, nil
}

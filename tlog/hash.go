package tlog

import (
	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle"
)

// HashSize is the size of every hash in the log: an SM3 digest.
const HashSize = sm3.Size

// Prefixes of RFC 9162 section 2.1.1 that separate leaf and node hashes.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// Hasher is the RFC 9162 tree hasher with SM3 in place of SHA-256: a leaf
// hash is SM3(0x00‖leaf), an interior node SM3(0x01‖left‖right), and the
// empty tree hashes to SM3 of the empty string. It implements
// [merkle.LogHasher], so the transparency-dev proof and compact-range code
// runs on it unchanged.
var Hasher merkle.LogHasher = sm3Hasher{}

type sm3Hasher struct{}

func (sm3Hasher) EmptyRoot() []byte {
	h := sm3.Sum(nil)
	return h[:]
}

func (sm3Hasher) HashLeaf(leaf []byte) []byte {
	d := sm3.New()
	d.Write([]byte{leafPrefix})
	d.Write(leaf)
	return d.Sum(make([]byte, 0, HashSize))
}

func (sm3Hasher) HashChildren(l, r []byte) []byte {
	var buf [1 + 2*HashSize]byte
	b := append(append(append(buf[:0], nodePrefix), l...), r...)
	h := sm3.Sum(b)
	return h[:]
}

func (sm3Hasher) Size() int { return HashSize }

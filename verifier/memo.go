package verifier

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm2"

	"elicence/keys"
)

// DefaultMemoEntries is the number of verified signatures a verifier
// process remembers by default: a few megabytes, the displayed permits and
// held credentials of a busy relying department.
const DefaultMemoEntries = 65536

// SignatureMemo remembers that SM2 signatures verified, so that a
// credential scanned again and again costs one SM2 verification, not one per
// scan. It remembers only the cryptographic fact: the key of an entry is
// SHA-256 over the verifying public key, its ZA (which binds the
// distinguishing ID), the exact signed bytes and the exact 64 signature
// bytes. Everything else a
// verification decides (trust list freshness, issuer, key state,
// authorisation, validity, presentation, status and the clock) is checked
// on every request as before.
//
// Only signatures that verified are remembered: a signature that fails is
// never stored, so new bytes, or old bytes under another key, always cost
// a full verification and can never pass on the memo. Memory is bounded:
// at most the configured number of entries, in two generations; when the
// newer one is full the older one is dropped, and a hit in the older one
// moves the entry to the newer, so entries used recently survive (an
// approximation of least-recently-used eviction).
//
// A SignatureMemo is safe for concurrent use. The zero value and nil
// remember nothing.
type SignatureMemo struct {
	mu       sync.Mutex
	half     int
	cur, old map[[sha256.Size]byte]struct{}

	hits, misses atomic.Uint64
}

// NewSignatureMemo returns a memo holding at most entries signatures
// (at least 2); entries ≤ 0 gives DefaultMemoEntries.
func NewSignatureMemo(entries int) *SignatureMemo {
	if entries <= 0 {
		entries = DefaultMemoEntries
	}
	half := max(entries/2, 1)
	return &SignatureMemo{half: half, cur: make(map[[sha256.Size]byte]struct{}, half)}
}

// MemoStats counts how a SignatureMemo was used.
type MemoStats struct {
	// Entries is how many signatures are held now, Capacity the most it
	// holds.
	Entries, Capacity int
	// Hits counts verifications answered by the memo, Misses those that
	// ran the SM2 verification.
	Hits, Misses uint64
}

// Stats returns the memo's counters.
func (m *SignatureMemo) Stats() MemoStats {
	if m == nil || m.half == 0 {
		return MemoStats{}
	}
	m.mu.Lock()
	n := len(m.cur) + len(m.old)
	m.mu.Unlock()
	return MemoStats{Entries: n, Capacity: 2 * m.half, Hits: m.hits.Load(), Misses: m.misses.Load()}
}

// seen reports whether k is held, moving it to the newer generation.
func (m *SignatureMemo) seen(k [sha256.Size]byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cur[k]; ok {
		return true
	}
	if _, ok := m.old[k]; ok {
		delete(m.old, k)
		m.addLocked(k)
		return true
	}
	return false
}

// add remembers k, which must name a signature that verified.
func (m *SignatureMemo) add(k [sha256.Size]byte) {
	m.mu.Lock()
	m.addLocked(k)
	m.mu.Unlock()
}

func (m *SignatureMemo) addLocked(k [sha256.Size]byte) {
	if len(m.cur) >= m.half {
		m.old, m.cur = m.cur, make(map[[sha256.Size]byte]struct{}, m.half)
	}
	m.cur[k] = struct{}{}
}

// memoLabel begins every memo key: the key is for nothing else.
const memoLabel = "elicence signature memo v2\x00"

// memoKey is what a SignatureMemo holds for the signature sig over the
// exact bytes msg by the key k: SHA-256, in one pass, of a domain label,
// the uncompressed public key point, the key's ZA, the length of msg, msg
// and sig. Every part is of fixed length but msg, whose length precedes
// it, so distinct (key, msg, sig) give distinct inputs, and SHA-256's
// collision resistance makes them distinct keys. It needs neither the SM2
// digest nor SM3, so a hit costs one hash of a few hundred bytes, which
// SHA-256 does several times faster than SM3 on CPUs with SHA
// instructions (docs/design/verify-memo.md).
func (k *trustedKey) memoKey(msg, sig []byte) [sha256.Size]byte {
	var stack [1024]byte
	b := append(stack[:0], memoLabel...)
	var point [64]byte
	// The coordinates are only read, to name the key; PublicKey.Bytes does
	// not support the SM2 curve.
	//lint:ignore SA1019 reading an SM2 point, which crypto/ecdsa cannot encode
	k.pub.X.FillBytes(point[:32])
	//lint:ignore SA1019 as above
	k.pub.Y.FillBytes(point[32:])
	b = append(b, point[:]...)
	b = append(b, k.za...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(msg)))
	if len(b)+len(msg)+len(sig) > len(stack) {
		h := sha256.New()
		h.Write(b)
		h.Write(msg)
		h.Write(sig)
		var out [sha256.Size]byte
		h.Sum(out[:0])
		return out
	}
	b = append(append(b, msg...), sig...)
	return sha256.Sum256(b)
}

// verifyMemo is verify, answered from m when m holds the exact signature
// over the exact bytes by this key; a signature that verifies is added to
// m. With a nil m it is verify.
func (k *trustedKey) verifyMemo(m *SignatureMemo, msg, sig []byte) bool {
	if m == nil || m.half == 0 {
		return k.verify(msg, sig)
	}
	if len(sig) != keys.SignatureSize {
		return false
	}
	key := k.memoKey(msg, sig)
	if m.seen(key) {
		m.hits.Add(1)
		return true
	}
	m.misses.Add(1)
	e := k.digest(msg)
	var der [2 + 2*(2+1+32)]byte
	if !sm2.VerifyASN1(k.pub, e[:], derSignature(der[:0], sig)) {
		return false
	}
	m.add(key)
	return true
}

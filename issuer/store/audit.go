package store

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// GenesisHash is the PrevHash of audit entry 1: 32 zero bytes. Do not
// modify it.
var GenesisHash = make([]byte, sm3.Size)

// AuditHash returns the chain hash of entry e, whose predecessor has hash
// prev (GenesisHash for entry 1):
//
//	hash = SM3(prev || u64(Seq) || i64(Time) || lp(Actor) || lp(Action) || lp(Subject) || lp(Detail))
//
// where u64 and i64 are 8-byte big-endian integers, Time is counted in
// microseconds since the Unix epoch (UTC), and lp(x) is x prefixed with
// its length in bytes as a 4-byte big-endian integer. Strings are taken as
// their UTF-8 bytes. e.PrevHash and e.Hash are not read.
func AuditHash(prev []byte, e AuditEntry) []byte {
	h := sm3.New()
	var n [8]byte
	h.Write(prev)
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixMicro()))
	h.Write(n[:])
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Action), []byte(e.Subject), e.Detail} {
		binary.BigEndian.PutUint32(n[:4], uint32(len(f)))
		h.Write(n[:4])
		h.Write(f)
	}
	return h.Sum(nil)
}

// NewAuditEntries returns the entries recording events, appended after the
// head entry (headSeq, headHash; 0 and GenesisHash for an empty log), all
// at time now.
func NewAuditEntries(headSeq int64, headHash []byte, now time.Time, events ...AuditEvent) []AuditEntry {
	out := make([]AuditEntry, len(events))
	prev := headHash
	for i, ev := range events {
		e := AuditEntry{
			Seq:      headSeq + int64(i) + 1,
			Time:     Timestamp(now),
			Actor:    ev.Actor,
			Action:   ev.Action,
			Subject:  ev.Subject,
			Detail:   ev.Detail,
			PrevHash: prev,
		}
		e.Hash = AuditHash(prev, e)
		out[i] = e
		prev = e.Hash
	}
	return out
}

// ChainVerifier checks audit entries one by one, in Seq order, as
// VerifyChain implementations read them.
type ChainVerifier struct {
	next int64
	prev []byte
}

// Next checks e, the next entry read. It returns 0 if e continues the
// chain, otherwise the Seq of the first bad entry.
func (v *ChainVerifier) Next(e AuditEntry) int64 {
	if v.next == 0 {
		v.next, v.prev = 1, GenesisHash
	}
	switch {
	case e.Seq != v.next:
		return v.next
	case !bytes.Equal(e.PrevHash, v.prev), !bytes.Equal(AuditHash(v.prev, e), e.Hash):
		return e.Seq
	}
	v.next++
	v.prev = e.Hash
	return 0
}

// Head checks the stored chain head against the entries read. It returns
// 0 if they agree, otherwise the Seq of the first bad entry.
func (v *ChainVerifier) Head(seq int64, hash []byte) int64 {
	last, lastHash := v.next-1, v.prev
	if v.next == 0 {
		last, lastHash = 0, GenesisHash
	}
	switch {
	case seq > last:
		return last + 1 // entries after last were removed
	case seq < last:
		return seq + 1 // entries after the head were added
	case !bytes.Equal(hash, lastHash):
		return max(seq, 1)
	}
	return 0
}

// Timestamp returns t as the store keeps it: in UTC, truncated to the
// microsecond.
func Timestamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

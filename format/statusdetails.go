package format

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"slices"
	"sort"
)

// Reason is why a licence's status entry became revoked or suspended, as a
// status list's details say (docs/FORMAT.md §9.2). The codes are the
// issuer's reason codes (docs/openapi.yaml).
type Reason uint8

// Reasons. A revocation is worded by its reason: 注销 (cancelled,
// holder_request), 撤销 (withdrawn, issued_in_error), 吊销 (penalty only),
// 换发 (superseded: a new version replaced it).
const (
	ReasonOther         Reason = 0
	ReasonCancelled     Reason = 1
	ReasonWithdrawn     Reason = 2
	ReasonPenalty       Reason = 3
	ReasonIssuedInError Reason = 4
	ReasonHolderRequest Reason = 5
	ReasonSuperseded    Reason = 6
	ReasonInvestigation Reason = 7
)

var reasonNames = [...]string{"other", "cancelled", "withdrawn", "penalty", "issued_in_error", "holder_request", "superseded", "investigation"}

// String returns the reason code, e.g. "penalty", or "reason(n)".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// ParseReason returns the Reason of an issuer reason code; an unknown code
// is ReasonOther.
func ParseReason(code string) Reason {
	if i := slices.Index(reasonNames[:], code); i >= 0 {
		return Reason(i)
	}
	return ReasonOther
}

// Allows reports whether r may be the reason of an entry with status s:
// investigation only suspends, holder_request and other do either, and the
// rest only revoke.
func (r Reason) Allows(s Status) bool {
	switch r {
	case ReasonOther, ReasonHolderRequest:
		return s == StatusRevoked || s == StatusSuspended
	case ReasonInvestigation:
		return s == StatusSuspended
	case ReasonCancelled, ReasonWithdrawn, ReasonPenalty, ReasonIssuedInError, ReasonSuperseded:
		return s == StatusRevoked
	}
	return false
}

// StatusDetail says why and when one entry of a status list became what it
// is. It is encoded as the array [index, reason, changed at].
type StatusDetail struct {
	_ struct{} `cbor:",toarray"`
	// Index is the entry.
	Index uint32
	// Reason is why it was revoked or suspended.
	Reason Reason
	// ChangedAt is when (Unix seconds).
	ChangedAt int64
}

// maxDetailBytes bounds the encoding of one detail: an array header, an
// index, a reason and a time of at most 5, 2 and 9 bytes.
const maxDetailBytes = 1 + 5 + 2 + 9

// CompressDetails encodes details, sorted by index, as the status list's
// "dtl" (ZLIB-compressed canonical CBOR). It returns nil for none.
func CompressDetails(details []StatusDetail) ([]byte, error) {
	if len(details) == 0 {
		return nil, nil
	}
	ds := slices.Clone(details)
	sort.Slice(ds, func(i, j int) bool { return ds[i].Index < ds[j].Index })
	raw, err := encMode.Marshal(ds)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	w.Write(raw)
	w.Close()
	return buf.Bytes(), nil
}

// Details inflates and checks the list's details against its entries: one
// detail at most per entry, in increasing index order, each for an entry
// that is revoked or suspended, with a reason that fits that status and a
// time no later than the list's issued-at. A list without details gives
// none.
func (l *StatusList) Details(entries *Statuses) ([]StatusDetail, error) {
	if len(l.Dtl) == 0 {
		return nil, nil
	}
	nonValid := 0
	for i := range entries.Len() {
		if entries.Get(i) != StatusValid {
			nonValid++
		}
	}
	br := bytes.NewReader(l.Dtl)
	r, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("details: inflate: %w", err)
	}
	limit := int64(nonValid*maxDetailBytes + 5)
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("details: inflate: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("details: inflate to more than %d non-valid entries can need", nonValid)
	}
	if n := br.Len(); n > 0 {
		return nil, fmt.Errorf("details: %d bytes after the zlib stream", n)
	}
	var ds []StatusDetail
	if err := decMode.Unmarshal(raw, &ds); err != nil {
		return nil, fmt.Errorf("details: %w", err)
	}
	if again, err := encMode.Marshal(ds); err != nil || !bytes.Equal(again, raw) {
		return nil, fmt.Errorf("details: not canonical CBOR")
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("details: empty (omit the key instead)")
	}
	for i, d := range ds {
		switch {
		case i > 0 && d.Index <= ds[i-1].Index:
			return nil, fmt.Errorf("details: index %d after %d, want strictly increasing", d.Index, ds[i-1].Index)
		case int(d.Index) >= entries.Len():
			return nil, fmt.Errorf("details: index %d outside the list of %d", d.Index, entries.Len())
		case !d.Reason.Allows(entries.Get(int(d.Index))):
			return nil, fmt.Errorf("details: entry %d is %s, which reason %s does not give", d.Index, entries.Get(int(d.Index)), d.Reason)
		case d.ChangedAt <= 0 || d.ChangedAt > l.IssuedAt:
			return nil, fmt.Errorf("details: entry %d changed at %d, want after 0 and no later than the list's issued at %d", d.Index, d.ChangedAt, l.IssuedAt)
		}
	}
	return ds, nil
}

// DetailOf returns the detail of entry index among details sorted by
// index, and whether there is one.
func DetailOf(details []StatusDetail, index uint32) (StatusDetail, bool) {
	i, ok := slices.BinarySearchFunc(details, index, func(d StatusDetail, x uint32) int {
		switch {
		case d.Index < x:
			return -1
		case d.Index > x:
			return 1
		}
		return 0
	})
	if !ok {
		return StatusDetail{}, false
	}
	return details[i], true
}

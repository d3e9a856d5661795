package format

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"
)

// zlibOf compresses raw bytes as a detail stream would be.
func zlibOf(raw []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(raw)
	w.Close()
	return b.Bytes()
}

// TestStatusDetails: details round-trip, and every rule of FORMAT.md §9.2
// refuses the list that breaks it.
func TestStatusDetails(t *testing.T) {
	entries := NewStatuses(MinStatusListSize, StatusBits)
	entries.Set(7, StatusRevoked)
	entries.Set(9, StatusSuspended)
	entries.Set(100, StatusRevoked)
	const issuedAt = 1_800_000_000
	good := []StatusDetail{
		{Index: 100, Reason: ReasonPenalty, ChangedAt: issuedAt - 60},
		{Index: 7, Reason: ReasonCancelled, ChangedAt: issuedAt - 3600},
		{Index: 9, Reason: ReasonInvestigation, ChangedAt: issuedAt},
	}
	dtl, err := CompressDetails(good)
	if err != nil {
		t.Fatal(err)
	}
	l := &StatusList{IssuedAt: issuedAt, Dtl: dtl}
	got, err := l.Details(entries)
	if err != nil {
		t.Fatalf("Details: %v", err)
	}
	if len(got) != 3 || got[0].Index != 7 || got[1].Index != 9 || got[2].Index != 100 {
		t.Fatalf("Details = %+v, want the three sorted by index", got)
	}
	if d, ok := DetailOf(got, 100); !ok || d.Reason != ReasonPenalty || d.Reason.String() != "penalty" || d.ChangedAt != issuedAt-60 {
		t.Errorf("DetailOf(100) = %+v, %v", d, ok)
	}
	if _, ok := DetailOf(got, 8); ok {
		t.Error("DetailOf(8) found a detail for an entry without one")
	}
	if none, err := (&StatusList{IssuedAt: issuedAt}).Details(entries); err != nil || none != nil {
		t.Errorf("a list without details: %v, %v", none, err)
	}
	if b, _ := CompressDetails(nil); b != nil {
		t.Errorf("CompressDetails(nil) = %x, want nil (the key is omitted)", b)
	}

	raw := func(ds ...[]any) []byte {
		b, err := encMode.Marshal(ds)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		dtl  []byte
		want string
	}{
		{"out of order", zlibOf(raw([]any{9, 7, issuedAt}, []any{7, 1, issuedAt})), "strictly increasing"},
		{"twice", zlibOf(raw([]any{7, 1, issuedAt}, []any{7, 1, issuedAt})), "strictly increasing"},
		{"valid entry", zlibOf(raw([]any{8, 1, issuedAt})), "is valid"},
		{"outside", zlibOf(raw([]any{MinStatusListSize, 1, issuedAt})), "outside"},
		{"penalty suspends", zlibOf(raw([]any{9, 3, issuedAt})), "does not give"},
		{"investigation revokes", zlibOf(raw([]any{7, 7, issuedAt})), "does not give"},
		{"unknown reason", zlibOf(raw([]any{7, 8, issuedAt})), "does not give"},
		{"after the list", zlibOf(raw([]any{7, 1, issuedAt + 1})), "no later than"},
		{"time zero", zlibOf(raw([]any{7, 1, 0})), "no later than"},
		{"empty", zlibOf(raw()), "empty"},
		{"not an array", zlibOf([]byte{0x01}), "details"},
		{"non-canonical", zlibOf([]byte{0x81, 0x83, 0x18, 0x07, 0x01, 0x01}), "not canonical"},
		{"trailing", append(zlibOf(raw([]any{7, 1, issuedAt})), 0), "after the zlib stream"},
		{"bomb", zlibOf(bytes.Repeat([]byte{0x80}, 1000)), "more than"},
		{"not zlib", []byte("details"), "inflate"},
	} {
		_, err := (&StatusList{IssuedAt: issuedAt, Dtl: c.dtl}).Details(entries)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one saying %q", c.name, err, c.want)
		}
	}
}

// TestReasonCodes: the codes are the issuer's, and each fits the statuses
// FORMAT.md §9.2 gives it.
func TestReasonCodes(t *testing.T) {
	for code, want := range map[string]Reason{
		"other": ReasonOther, "cancelled": ReasonCancelled, "withdrawn": ReasonWithdrawn, "penalty": ReasonPenalty,
		"issued_in_error": ReasonIssuedInError, "holder_request": ReasonHolderRequest, "superseded": ReasonSuperseded,
		"investigation": ReasonInvestigation, "no such code": ReasonOther, "": ReasonOther,
	} {
		if got := ParseReason(code); got != want {
			t.Errorf("ParseReason(%q) = %v, want %v", code, got, want)
		}
	}
	for r := range Reason(10) {
		rev, sus := r.Allows(StatusRevoked), r.Allows(StatusSuspended)
		var want [2]bool
		switch r {
		case ReasonOther, ReasonHolderRequest:
			want = [2]bool{true, true}
		case ReasonInvestigation:
			want = [2]bool{false, true}
		case ReasonCancelled, ReasonWithdrawn, ReasonPenalty, ReasonIssuedInError, ReasonSuperseded:
			want = [2]bool{true, false}
		}
		if [2]bool{rev, sus} != want || r.Allows(StatusValid) {
			t.Errorf("%v allows revoked %v, suspended %v, valid %v; want %v, %v, false", r, rev, sus, r.Allows(StatusValid), want[0], want[1])
		}
	}
}

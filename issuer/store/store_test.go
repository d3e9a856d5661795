package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

var testEntry = AuditEntry{
	Seq:     7,
	Time:    time.Date(2025, 3, 1, 1, 2, 3, 456789000, time.UTC),
	Actor:   "tok-1",
	Action:  "licence.issue",
	Subject: "1.2.156.3005.2.BL.D1.1.1.X",
	Detail:  []byte(`{"a":1}`),
}

// TestAuditHashEncoding rebuilds the hashed bytes exactly as the AuditHash
// doc comment describes them.
func TestAuditHashEncoding(t *testing.T) {
	prev := bytes.Repeat([]byte{0xab}, 32)
	var msg []byte
	msg = append(msg, prev...)
	msg = append(msg, 0, 0, 0, 0, 0, 0, 0, 7) // seq
	micros := testEntry.Time.UnixMicro()
	for i := 7; i >= 0; i-- {
		msg = append(msg, byte(micros>>(8*i)))
	}
	for _, f := range []string{"tok-1", "licence.issue", "1.2.156.3005.2.BL.D1.1.1.X", `{"a":1}`} {
		msg = append(msg, 0, 0, 0, byte(len(f)))
		msg = append(msg, f...)
	}
	want := sm3.Sum(msg)
	if got := AuditHash(prev, testEntry); !bytes.Equal(got, want[:]) {
		t.Errorf("AuditHash = %x, want %x", got, want)
	}
}

// TestAuditHashVector pins the hash of a fixed entry so that the encoding
// cannot change unnoticed.
func TestAuditHashVector(t *testing.T) {
	const want = "8264b92cc9416462ac22b8adb544540d8bccb5109c02b9ef8dc8714af010603f"
	got := hex.EncodeToString(AuditHash(GenesisHash, testEntry))
	if got != want {
		t.Errorf("AuditHash(genesis, testEntry) = %s, want %s", got, want)
	}
}

// TestAuditHashFields shows every field is bound: changing any one, or
// moving bytes between adjacent fields, changes the hash.
func TestAuditHashFields(t *testing.T) {
	base := AuditHash(GenesisHash, testEntry)
	edits := map[string]func(*AuditEntry){
		"seq":     func(e *AuditEntry) { e.Seq++ },
		"time":    func(e *AuditEntry) { e.Time = e.Time.Add(time.Microsecond) },
		"actor":   func(e *AuditEntry) { e.Actor += "x" },
		"action":  func(e *AuditEntry) { e.Action = "licence.revoke" },
		"subject": func(e *AuditEntry) { e.Subject = "" },
		"detail":  func(e *AuditEntry) { e.Detail = []byte(`{"a":2}`) },
		"boundary": func(e *AuditEntry) {
			e.Actor, e.Action = "tok-1l", "icence.issue"
		},
	}
	for name, edit := range edits {
		e := testEntry
		edit(&e)
		if bytes.Equal(AuditHash(GenesisHash, e), base) {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
	if bytes.Equal(AuditHash(bytes.Repeat([]byte{1}, 32), testEntry), base) {
		t.Error("changing the previous hash keeps the hash")
	}
}

func TestChainVerifier(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []AuditEvent{{Actor: "a", Action: "x"}, {Actor: "b", Action: "y"}, {Actor: "c", Action: "z"}}
	chain := NewAuditEntries(0, GenesisHash, now, events...)
	last := chain[len(chain)-1]
	check := func(entries []AuditEntry, headSeq int64, headHash []byte) int64 {
		var v ChainVerifier
		for _, e := range entries {
			if bad := v.Next(e); bad != 0 {
				return bad
			}
		}
		return v.Head(headSeq, headHash)
	}
	edited := append([]AuditEntry(nil), chain...)
	edited[1].Actor = "mallory"
	rehashed := append([]AuditEntry(nil), edited...)
	rehashed[1].Hash = AuditHash(rehashed[0].Hash, rehashed[1])
	for _, c := range []struct {
		name     string
		entries  []AuditEntry
		headSeq  int64
		headHash []byte
		want     int64
	}{
		{"intact", chain, last.Seq, last.Hash, 0},
		{"empty", nil, 0, GenesisHash, 0},
		{"edited", edited, last.Seq, last.Hash, 2},
		{"edited and rehashed", rehashed, last.Seq, last.Hash, 3},
		{"middle deleted", []AuditEntry{chain[0], chain[2]}, last.Seq, last.Hash, 2},
		{"first deleted", chain[1:], last.Seq, last.Hash, 1},
		{"tail deleted", chain[:2], last.Seq, last.Hash, 3},
		{"all deleted", nil, last.Seq, last.Hash, 1},
		{"appended behind the head", chain, 2, chain[1].Hash, 3},
		{"head hash wrong", chain, last.Seq, chain[0].Hash, 3},
	} {
		if got := check(c.entries, c.headSeq, c.headHash); got != c.want {
			t.Errorf("%s: first bad = %d, want %d", c.name, got, c.want)
		}
	}
	if chain[0].Seq != 1 || !bytes.Equal(chain[0].PrevHash, GenesisHash) || !bytes.Equal(chain[1].PrevHash, chain[0].Hash) {
		t.Error("NewAuditEntries does not link from the genesis hash")
	}
}

func TestValidateTransition(t *testing.T) {
	all := []Status{StatusValid, StatusRevoked, StatusSuspended, 3}
	allowed := map[[2]Status]bool{
		{StatusValid, StatusSuspended}:   true,
		{StatusSuspended, StatusValid}:   true,
		{StatusValid, StatusRevoked}:     true,
		{StatusSuspended, StatusRevoked}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := ValidateTransition(from, to)
			if allowed[[2]Status{from, to}] != (err == nil) {
				t.Errorf("%s -> %s: %v", from, to, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("%s -> %s: error %v is not ErrInvalidTransition", from, to, err)
			}
		}
	}
}

func TestSentinels(t *testing.T) {
	for _, err := range []error{ErrDuplicate, ErrInvalidTransition, ErrIdempotencyMismatch} {
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%v does not wrap ErrConflict", err)
		}
	}
	for _, err := range []error{ErrNotFound, ErrInvalid, ErrNotAuthorised, ErrChainBroken} {
		if errors.Is(err, ErrConflict) {
			t.Errorf("%v wraps ErrConflict", err)
		}
	}
}

func TestTimestamp(t *testing.T) {
	in := time.Date(2025, 3, 1, 9, 30, 15, 123456789, time.FixedZone("CST", 8*3600))
	got := Timestamp(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("Timestamp(%v) = %v", in, got)
	}
	if !Timestamp(time.Time{}).IsZero() {
		t.Error("Timestamp of the zero time is not zero")
	}
}

func TestValidDepartmentCode(t *testing.T) {
	for code, want := range map[string]bool{
		"D1": true, "SAMR3501": true, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345": true,
		"": false, "d1": false, "D-1": false, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456": false, "部门": false,
	} {
		if got := ValidDepartmentCode(code); got != want {
			t.Errorf("ValidDepartmentCode(%q) = %v, want %v", code, got, want)
		}
	}
}

package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"elicence/issuer/store"
)

// testAudit covers appending, listing and verifying the audit chain.
func testAudit(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	f.verify()
	prev := f.audit()
	last := prev[len(prev)-1]
	detail := []byte(`{"b": 1,  "a": ["文档", 2]}`)
	e, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "operator", Action: "document.sign", Subject: "doc-1", Detail: detail})
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if e.Seq != last.Seq+1 || !bytes.Equal(e.PrevHash, last.Hash) || e.Time.IsZero() || e.Time.Before(last.Time) {
		t.Errorf("appended %+v after %+v", e, last)
	}
	if !bytes.Equal(e.Hash, store.AuditHash(e.PrevHash, e)) {
		t.Error("Hash is not AuditHash(PrevHash, entry)")
	}
	empty, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "operator", Action: "store.check"})
	if err != nil || len(empty.Detail) != 0 {
		t.Fatalf("AppendAudit without detail = %+v, %v", empty, err)
	}
	for name, bad := range map[string]store.AuditEvent{
		"no actor":        {Action: "x"},
		"no action":       {Actor: "x"},
		"detail not JSON": {Actor: "x", Action: "x", Detail: []byte("{")},
	} {
		_, err := s.AppendAudit(ctx, bad)
		wantErr(t, name, err, store.ErrInvalid)
	}

	all := f.audit()
	if len(all) != len(prev)+2 || !same(all[len(all)-2], e) || !same(all[len(all)-1], empty) {
		t.Fatalf("log after appends: %d entries, last two %+v", len(all), all[len(all)-2:])
	}
	if !bytes.Equal(all[len(all)-2].Detail, detail) {
		t.Errorf("detail stored as %q, want %q byte for byte", all[len(all)-2].Detail, detail)
	}
	// The chain, recomputed from the listed entries.
	prevHash := store.GenesisHash
	for i, e := range all {
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prevHash) || !bytes.Equal(e.Hash, store.AuditHash(prevHash, e)) {
			t.Fatalf("entry %d (seq %d) does not chain", i, e.Seq)
		}
		prevHash = e.Hash
	}
	// Paging.
	for _, limit := range []int{1, 3, 4} {
		var got []store.AuditEntry
		for after := int64(0); ; {
			page, err := s.ListAudit(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("ListAudit limit %d returned %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
		if !same(got, all) {
			t.Errorf("paging with limit %d gave %d entries, want %d", limit, len(got), len(all))
		}
	}
	if page, err := s.ListAudit(ctx, 0, 0); err != nil || len(page) != min(len(all), store.DefaultPageSize) {
		t.Errorf("ListAudit limit 0 = %d entries, %v", len(page), err)
	}
	f.verify()
}

// testAuditHead checks that AuditHead names the last entry's sequence
// number, and so the number of entries, at every length from the
// fixture's to 40 entries more, through both ways of appending.
func testAuditHead(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	for i := 0; i <= 40; i++ {
		if i > 0 {
			if i%2 == 1 {
				if _, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "test", Action: "test"}); err != nil {
					t.Fatal(err)
				}
			} else {
				f.issue(deptA, typeBL, fmt.Sprintf("head-%d", i))
			}
		}
		all := f.audit()
		want := int64(len(all))
		if want > 0 && all[len(all)-1].Seq != want {
			t.Fatalf("last entry has seq %d with %d entries", all[len(all)-1].Seq, want)
		}
		got, err := s.AuditHead(ctx)
		if err != nil || got != want {
			t.Fatalf("AuditHead with %d entries = %d, %v", want, got, err)
		}
	}
}

// tamperer returns the store's Tamperer, or skips the test.
func tamperer(t *testing.T, f *fixture) Tamperer {
	tp, ok := f.s.(Tamperer)
	if !ok {
		t.Skip("the backend's test store does not implement storetest.Tamperer")
	}
	// Some history to tamper with.
	for range 5 {
		f.issue(deptA, typeBL, "H")
	}
	f.verify()
	return tp
}

// testAuditTamperEdit shows VerifyChain names an edited entry.
func testAuditTamperEdit(t *testing.T, f *fixture) {
	tp := tamperer(t, f)
	if err := tp.TamperAuditDetail(f.ctx, 9, []byte(`{"note":"edited"}`)); err != nil {
		t.Fatalf("TamperAuditDetail: %v", err)
	}
	bad, err := f.s.VerifyChain(f.ctx)
	if bad != 9 || !errors.Is(err, store.ErrChainBroken) {
		t.Errorf("VerifyChain after editing entry 9 = %d, %v; want 9, ErrChainBroken", bad, err)
	}
}

// testAuditTamperDelete shows VerifyChain names a deleted entry, in the
// middle or at the end.
func testAuditTamperDelete(t *testing.T, f *fixture) {
	tp := tamperer(t, f)
	n := int64(f.auditLen())
	if err := tp.DeleteAudit(f.ctx, n); err != nil {
		t.Fatalf("DeleteAudit: %v", err)
	}
	bad, err := f.s.VerifyChain(f.ctx)
	if bad != n || !errors.Is(err, store.ErrChainBroken) {
		t.Errorf("VerifyChain after deleting the last entry %d = %d, %v; want %d, ErrChainBroken", n, bad, err, n)
	}
	if err := tp.DeleteAudit(f.ctx, 4); err != nil {
		t.Fatalf("DeleteAudit: %v", err)
	}
	bad, err = f.s.VerifyChain(f.ctx)
	if bad != 4 || !errors.Is(err, store.ErrChainBroken) {
		t.Errorf("VerifyChain after deleting entry 4 = %d, %v; want 4, ErrChainBroken", bad, err)
	}
}

package storetest

import (
	"context"
	"testing"
	"time"

	"elicence/issuer/store"
)

// KeyRowReader is implemented by test wrappers of a backend that can read
// a signing key's row as the database holds it, bypassing the store's own
// decoding, so that the suite can show that a retired or compromised key's
// private half is gone from the database itself. Every backend's tests
// must provide it: the key tests fail without it.
type KeyRowReader interface {
	// RawPrivateKey returns the private_key_pem column of the key's row
	// (nil for NULL) and whether the column is NULL.
	RawPrivateKey(ctx context.Context, dept, id string) (pem []byte, isNull bool, err error)
}

func keyRows(t *testing.T, f *fixture) KeyRowReader {
	t.Helper()
	r, ok := f.s.(KeyRowReader)
	if !ok {
		t.Fatalf("the store under test does not implement storetest.KeyRowReader: key destruction cannot be checked")
	}
	return r
}

// wantDestroyed fails the test unless the key's private half is gone,
// both from what the store returns and from the row itself.
func wantDestroyed(t *testing.T, f *fixture, dept, id string) store.SigningKey {
	t.Helper()
	k, err := f.s.SigningKey(f.ctx, dept, id)
	if err != nil {
		t.Fatalf("SigningKey(%s): %v", id, err)
	}
	if len(k.PrivateKeyPEM) != 0 {
		t.Errorf("key %s is %s but SigningKey returns its private key", id, k.State)
	}
	pem, isNull, err := keyRows(t, f).RawPrivateKey(f.ctx, dept, id)
	if err != nil {
		t.Fatalf("RawPrivateKey(%s): %v", id, err)
	}
	if !isNull || len(pem) != 0 {
		t.Errorf("key %s is %s but its row still holds %d bytes of private key", id, k.State, len(pem))
	}
	if k.RetiredAt.IsZero() {
		t.Errorf("key %s is %s without a retirement time", id, k.State)
	}
	return k
}

// testKeyDestruction checks that retiring a key (by rotation or by
// SetSigningKeyState) or marking it compromised destroys its private half
// in the same transaction and records when it stopped being active.
func testKeyDestruction(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	k1, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000d1", store.KeyActive), ev("key.add", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	if !k1.RetiredAt.IsZero() {
		t.Errorf("new active key has RetiredAt %v", k1.RetiredAt)
	}
	pem, isNull, err := keyRows(t, f).RawPrivateKey(ctx, deptA, k1.ID)
	if err != nil || isNull || string(pem) != string(newKey(deptA, k1.ID, "").PrivateKeyPEM) {
		t.Fatalf("active key row holds %q (null %v, %v), want its private key", pem, isNull, err)
	}
	if got, _ := s.ActiveSigningKey(ctx, deptA); string(got.PrivateKeyPEM) != string(pem) {
		t.Errorf("ActiveSigningKey does not return the active key's private key")
	}

	// Rotation: the old key is retired at the new key's creation.
	k2, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000d2", store.KeyActive), ev("key.add", "d2"))
	if err != nil {
		t.Fatal(err)
	}
	r1 := wantDestroyed(t, f, deptA, k1.ID)
	if !r1.RetiredAt.Equal(k2.CreatedAt) {
		t.Errorf("rotated-out key retired at %v, want the successor's creation %v", r1.RetiredAt, k2.CreatedAt)
	}
	if r1.State != store.KeyRetired {
		t.Errorf("rotated-out key is %s", r1.State)
	}

	// Retirement without successor, then compromise: the retirement time
	// stays the first one.
	before := time.Now().Add(-time.Minute)
	r2, err := s.SetSigningKeyState(ctx, deptA, k2.ID, store.KeyRetired, time.Time{}, ev("key.state", "d2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.PrivateKeyPEM) != 0 {
		t.Errorf("SetSigningKeyState returns the retired key's private key")
	}
	got2 := wantDestroyed(t, f, deptA, k2.ID)
	if got2.RetiredAt.Before(k2.CreatedAt) || got2.RetiredAt.Before(before) || !got2.RetiredAt.Equal(r2.RetiredAt) {
		t.Errorf("retired at %v (returned %v), want the time of the retirement", got2.RetiredAt, r2.RetiredAt)
	}
	if _, err := s.SetSigningKeyState(ctx, deptA, k2.ID, store.KeyCompromised, base, ev("key.state", "d2")); err != nil {
		t.Fatal(err)
	}
	if c2 := wantDestroyed(t, f, deptA, k2.ID); !c2.RetiredAt.Equal(got2.RetiredAt) {
		t.Errorf("compromising a retired key moved its retirement time from %v to %v", got2.RetiredAt, c2.RetiredAt)
	}

	// Compromise of the active key.
	k3, err := s.AddSigningKey(ctx, newKey(deptB, "00000000000000d3", store.KeyActive), ev("key.add", "d3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSigningKeyState(ctx, deptB, k3.ID, store.KeyCompromised, base, ev("key.state", "d3")); err != nil {
		t.Fatal(err)
	}
	wantDestroyed(t, f, deptB, k3.ID)

	// A key added as retired is stored without its private half.
	if _, err := s.AddSigningKey(ctx, newKey(deptB, "00000000000000d4", store.KeyRetired), ev("key.add", "d4")); err != nil {
		t.Fatal(err)
	}
	wantDestroyed(t, f, deptB, "00000000000000d4")
	for _, k := range mustKeys(t, f, deptA) {
		if k.State != store.KeyActive && len(k.PrivateKeyPEM) != 0 {
			t.Errorf("ListSigningKeys returns the private key of %s key %s", k.State, k.ID)
		}
	}
	f.verify()
}

func mustKeys(t *testing.T, f *fixture, dept string) []store.SigningKey {
	t.Helper()
	ks, err := f.s.ListSigningKeys(f.ctx, dept)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// testKeyNotActive checks that an issuance naming a key that is not the
// department's active key stores nothing, on every issuing path.
func testKeyNotActive(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	old, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000e1", store.KeyActive), ev("key.add", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	l := f.issueWith(store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: old.ID}, "H1")
	cur, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000e2", store.KeyActive), ev("key.add", "e2"))
	if err != nil {
		t.Fatal(err)
	}
	before := f.auditLen()
	for _, id := range []string{old.ID, "00000000000000ff"} {
		_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: id}, f.builder(deptA, typeBL, "H2"))
		wantErr(t, "IssueLicence with key "+id, err, store.ErrKeyNotActive)
		_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: id, IdempotencyKey: "k-" + id, RequestHash: []byte{1}},
			f.builder(deptA, typeBL, "H2"))
		wantErr(t, "IssueLicence (idempotent) with key "+id, err, store.ErrKeyNotActive)
		_, err = s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: id}, 3,
			func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
				l := newLicence(deptA, typeBL, "H3", a, f.nextTime())
				return l, ev("licence.issue", l.ID), nil
			})
		wantErr(t, "IssueBatch with key "+id, err, store.ErrKeyNotActive)
		_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: l.ID, KeyID: id}, reissueBuilder(f))
		wantErr(t, "ReissueLicence with key "+id, err, store.ErrKeyNotActive)
		_, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: []string{l.ID}, KeyID: id}, reissueBuilder(f))
		wantErr(t, "ReissueBatch with key "+id, err, store.ErrKeyNotActive)
	}
	if n := f.auditLen(); n != before {
		t.Errorf("refused issuances appended %d audit entries", n-before)
	}
	if got := f.licence(deptA, l.ID); got.Status != store.StatusValid {
		t.Errorf("refused re-issue changed the licence to %s", got.Status)
	}
	// Another department's active key is not this department's.
	if _, err := s.AddSigningKey(ctx, newKey(deptB, "00000000000000e3", store.KeyActive), ev("key.add", "e3")); err != nil {
		t.Fatal(err)
	}
	_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: "00000000000000e3"}, f.builder(deptA, typeBL, "H2"))
	wantErr(t, "IssueLicence with another department's key", err, store.ErrKeyNotActive)

	// The current key works on every path.
	f.issueWith(store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: cur.ID}, "H4")
	f.issueWith(store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: cur.ID, IdempotencyKey: "ok", RequestHash: []byte{2}}, "H5")
	if _, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, KeyID: cur.ID}, 2,
		func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H6", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		}); err != nil {
		t.Errorf("IssueBatch with the active key: %v", err)
	}
	if _, err := s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: l.ID, KeyID: cur.ID}, reissueBuilder(f)); err != nil {
		t.Errorf("ReissueLicence with the active key: %v", err)
	}
	f.verify()
}

func (f *fixture) issueWith(p store.IssueParams, holder string) store.Licence {
	f.t.Helper()
	l, err := f.s.IssueLicence(f.ctx, p, f.builder(p.DepartmentCode, p.TypeCode, holder))
	if err != nil {
		f.t.Fatalf("IssueLicence(%+v): %v", p, err)
	}
	return l
}

// testReissueBatch covers replacing many licences at once: valid and
// suspended ones are replaced (a suspension carries over), revoked and
// unknown ones skipped, and a second run replaces nothing.
func testReissueBatch(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	var ls []store.Licence
	for i := range 6 {
		ls = append(ls, f.issue(deptA, []string{typeBL, typeOT}[i%2], "H"))
	}
	other := f.issue(deptB, typeBL, "H")
	susp := f.setStatus(ls[1], store.StatusSuspended)
	revoked := f.setStatus(ls[2], store.StatusRevoked)
	ids := []string{ls[0].ID, ls[1].ID, ls[2].ID, ls[3].ID, ls[4].ID, ls[5].ID, other.ID, "1.2.156.3005.2.BL.D1.999.1.X"}
	before := f.auditLen()
	var built []string
	res, err := s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: ids},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			built = append(built, old.ID)
			return reissueBuilder(f)(old, a)
		})
	if err != nil {
		t.Fatalf("ReissueBatch: %v", err)
	}
	if len(res) != len(ids) {
		t.Fatalf("ReissueBatch returned %d results for %d licences", len(res), len(ids))
	}
	wantSkip := map[int]string{2: store.SkipNotCurrent, 6: store.SkipNotFound, 7: store.SkipNotFound}
	replaced := 0
	all := append([]store.Licence{other}, ls...)
	for i, r := range res {
		if r.Old.ID != ids[i] {
			t.Errorf("result %d is for %s, want %s", i, r.Old.ID, ids[i])
		}
		if r.Skipped != wantSkip[i] {
			t.Errorf("result %d (%s): skipped %q, want %q", i, ids[i], r.Skipped, wantSkip[i])
			continue
		}
		if r.Skipped != "" {
			if r.New.ID != "" {
				t.Errorf("skipped licence %s has a new version %s", ids[i], r.New.ID)
			}
			continue
		}
		replaced++
		nv := f.licence(deptA, r.New.ID)
		all = append(all, nv)
		if nv.Supersedes != ids[i] || nv.Version != r.Old.Version+1 || nv.Serial != r.Old.Serial {
			t.Errorf("new version %s: supersedes %s, version %d serial %d; want %s, %d, %d",
				nv.ID, nv.Supersedes, nv.Version, nv.Serial, ids[i], r.Old.Version+1, r.Old.Serial)
		}
		ov := f.licence(deptA, ids[i])
		if ov.Status != store.StatusRevoked || ov.StatusReason != store.ReasonSuperseded {
			t.Errorf("old version %s is %s (%s), want revoked (superseded)", ov.ID, ov.Status, ov.StatusReason)
		}
		wantStatus, wantReason := store.StatusValid, ""
		if ids[i] == susp.ID {
			wantStatus, wantReason = store.StatusSuspended, susp.StatusReason
		}
		if nv.Status != wantStatus || nv.StatusReason != wantReason {
			t.Errorf("new version of %s is %s (%q), want %s (%q)", ids[i], nv.Status, nv.StatusReason, wantStatus, wantReason)
		}
		_, entries, err := s.StatusListEntries(ctx, nv.StatusListID)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryOf(entries, nv.StatusIndex); got != wantStatus {
			t.Errorf("status-list entry of the new version of %s is %s, want %s", ids[i], got, wantStatus)
		}
		_, entries, _ = s.StatusListEntries(ctx, ov.StatusListID)
		if got := entryOf(entries, ov.StatusIndex); got != store.StatusRevoked {
			t.Errorf("status-list entry of the old version %s is %s, want revoked", ov.ID, got)
		}
	}
	if replaced != 5 || len(built) != 5 {
		t.Errorf("replaced %d licences, built %d; want 5", replaced, len(built))
	}
	if n := f.auditLen() - before; n != 5 {
		t.Errorf("ReissueBatch appended %d audit entries, want 5", n)
	}
	if got := f.licence(deptA, revoked.ID); got.StatusReason == store.ReasonSuperseded {
		t.Errorf("a revoked licence was superseded")
	}
	checkSlots(t, f, all)

	// Again: every licence is now superseded or skipped; nothing new.
	before = f.auditLen()
	res, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: ids[:6]},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			t.Errorf("second run built a new version of %s", old.ID)
			return reissueBuilder(f)(old, a)
		})
	if err != nil {
		t.Fatalf("second ReissueBatch: %v", err)
	}
	for i, r := range res {
		if r.Skipped != store.SkipNotCurrent {
			t.Errorf("second run, %s: skipped %q, want %q", ids[i], r.Skipped, store.SkipNotCurrent)
		}
	}
	if f.auditLen() != before {
		t.Errorf("second run appended audit entries")
	}

	// A type the department may no longer issue is skipped.
	l := f.issue(deptA, typeOT, "H")
	if err := s.Deauthorise(ctx, deptA, typeOT, ev("type.deauthorise", "D1/OT")); err != nil {
		t.Fatal(err)
	}
	res, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: []string{l.ID}}, reissueBuilder(f))
	if err != nil || len(res) != 1 || res[0].Skipped != store.SkipNotAuthorised {
		t.Errorf("re-issue of a deauthorised type = %+v, %v; want skipped %s", res, err, store.SkipNotAuthorised)
	}
	// All or nothing: a failing build stores nothing.
	l2 := f.issue(deptA, typeBL, "H")
	l3 := f.issue(deptA, typeBL, "H")
	before = f.auditLen()
	_, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: []string{l2.ID, l3.ID}},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			if old.ID == l3.ID {
				return store.Licence{}, store.AuditEvent{}, context.Canceled
			}
			return reissueBuilder(f)(old, a)
		})
	if err == nil {
		t.Errorf("ReissueBatch with a failing build succeeded")
	}
	if got := f.licence(deptA, l2.ID); got.Status != store.StatusValid || f.auditLen() != before {
		t.Errorf("a failed batch changed %s to %s or appended audit entries", l2.ID, got.Status)
	}
	_, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: []string{l2.ID, l2.ID}}, reissueBuilder(f))
	wantErr(t, "ReissueBatch with a repeated ID", err, store.ErrInvalid)
	_, err = s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA}, reissueBuilder(f))
	wantErr(t, "empty ReissueBatch", err, store.ErrInvalid)
	f.verify()
}

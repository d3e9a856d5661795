package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"elicence/issuer/store"
)

// testIssueLicence covers a successful issuance: what is stored, what is
// allocated, what is audited, and the department scope of reads.
func testIssueLicence(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	before := f.auditLen()
	var alloc store.Allocation
	var built store.Licence
	l, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL},
		func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			alloc = a
			built = newLicence(deptA, typeBL, "110101199003074258", a, base)
			return built, ev("licence.issue", built.ID), nil
		})
	if err != nil {
		t.Fatalf("IssueLicence: %v", err)
	}
	if alloc.Serial != 1 || alloc.Version != 1 || alloc.StatusListID != store.StatusListID(deptA, 1) {
		t.Errorf("first allocation = %+v, want serial 1, version 1, list %s", alloc, store.StatusListID(deptA, 1))
	}
	list, err := s.StatusList(ctx, alloc.StatusListID)
	if err != nil {
		t.Fatalf("StatusList: %v", err)
	}
	if alloc.StatusIndex < 0 || alloc.StatusIndex >= list.Size {
		t.Errorf("status index %d outside [0, %d)", alloc.StatusIndex, list.Size)
	}
	if list.Size < 2 || list.Allocated != 1 || list.DepartmentCode != deptA || list.Seq != 1 {
		t.Errorf("status list = %+v, want 1 entry allocated", list)
	}

	// The stored licence is what build returned, times in UTC truncated
	// to microseconds, with UpdatedAt set.
	want := built
	want.ValidFrom, want.ValidUntil, want.IssuedAt = store.Timestamp(built.ValidFrom), store.Timestamp(built.ValidUntil), store.Timestamp(built.IssuedAt)
	want.UpdatedAt = l.UpdatedAt
	if l.UpdatedAt.IsZero() {
		t.Error("UpdatedAt not set")
	}
	if !same(l, want) {
		t.Errorf("IssueLicence returned\n%+v\nwant\n%+v", l, want)
	}
	if got := f.licence(deptA, l.ID); !same(got, l) {
		t.Errorf("Licence returned\n%+v\nwant\n%+v", got, l)
	}
	if l.IssuedAt.Nanosecond()%1000 != 0 || l.IssuedAt.Location() != time.UTC {
		t.Errorf("IssuedAt %v not in UTC microseconds", l.IssuedAt)
	}
	_, err = s.Licence(ctx, deptB, l.ID)
	wantErr(t, "another department's licence", err, store.ErrNotFound)
	_, err = s.Licence(ctx, "", l.ID)
	wantErr(t, "licence without department", err, store.ErrNotFound)
	_, err = s.Licence(ctx, deptA, "nope")
	wantErr(t, "unknown licence", err, store.ErrNotFound)

	entries := f.audit()
	if len(entries) != before+1 {
		t.Fatalf("audit entries = %d, want %d", len(entries), before+1)
	}
	if e := entries[len(entries)-1]; e.Action != "licence.issue" || e.Subject != l.ID || e.Actor != "tok-test" {
		t.Errorf("audit entry = %+v, want licence.issue of %s", e, l.ID)
	}

	// Serials count per (department, type).
	for _, c := range []struct {
		dept, typ string
		want      int64
	}{{deptA, typeBL, 2}, {deptA, typeBL, 3}, {deptA, typeOT, 1}, {deptB, typeBL, 1}, {deptA, typeOT, 2}} {
		if got := f.issue(c.dept, c.typ, "H"); got.Serial != c.want {
			t.Errorf("serial of next %s/%s licence = %d, want %d", c.dept, c.typ, got.Serial, c.want)
		}
	}

	// A licence without expiry.
	forever, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL},
		func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.ValidUntil = time.Time{}
			return l, ev("licence.issue", l.ID), nil
		})
	if err != nil || !forever.ValidUntil.IsZero() || !f.licence(deptA, forever.ID).ValidUntil.IsZero() {
		t.Errorf("licence without expiry: ValidUntil %v, %v", forever.ValidUntil, err)
	}
	f.verify()
}

// testIssueLicenceFailures checks that a failed issuance stores nothing
// and appends no audit entry.
func testIssueLicenceFailures(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	first := f.issue(deptA, typeBL, "H0")
	before := f.auditLen()
	p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}
	errBuild := errors.New("signer unavailable")

	cases := []struct {
		name  string
		build func(store.Allocation) (store.Licence, store.AuditEvent, error)
		want  error
	}{
		{"build fails", func(store.Allocation) (store.Licence, store.AuditEvent, error) {
			return store.Licence{}, store.AuditEvent{}, errBuild
		}, errBuild},
		{"duplicate identifier", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.ID = first.ID
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrDuplicate},
		{"wrong serial", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			a.Serial += 100
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"wrong slot", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.StatusIndex++
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"wrong department", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptB, typeBL, "H", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"not valid", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.Status = store.StatusSuspended
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"supersedes on first version", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.Supersedes = first.ID
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"fields not JSON", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.Fields = []byte("{not json")
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"no credential", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.Credential = nil
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
		{"audit event without actor", func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			return l, store.AuditEvent{Action: "licence.issue"}, nil
		}, store.ErrInvalid},
	}
	for _, c := range cases {
		_, err := s.IssueLicence(ctx, p, c.build)
		wantErr(t, c.name, err, c.want)
	}
	_, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: typeOT}, f.builder(deptB, typeOT, "H"))
	wantErr(t, "unauthorised type", err, store.ErrNotAuthorised)
	_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: "NOPE", TypeCode: typeBL}, f.builder("NOPE", typeBL, "H"))
	wantErr(t, "unknown department", err, store.ErrNotAuthorised)

	page, _, err := s.ListLicences(ctx, store.LicenceQuery{DepartmentCode: deptA})
	if err != nil || len(page) != 1 || page[0].ID != first.ID {
		t.Errorf("after failed issuances, licences = %d (%v), want only %s", len(page), err, first.ID)
	}
	if n := f.auditLen(); n != before {
		t.Errorf("failed issuances appended %d audit entries", n-before)
	}
	// Serials may have gaps but are never reused.
	if next := f.issue(deptA, typeBL, "H"); next.Serial <= first.Serial {
		t.Errorf("serial after failures = %d, want > %d", next.Serial, first.Serial)
	}
	f.verify()
}

// testIssueLicenceFailuresConcurrent issues at once, for one department
// and type, licences whose build fails, that duplicate an identifier or
// are invalid, among good ones: each failure fails only its own call (a
// store that writes concurrent issuances together must keep them apart).
func testIssueLicenceFailuresConcurrent(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	first := f.issue(deptA, typeBL, "H0")
	before := f.auditLen()
	errBuild := errors.New("signer unavailable")
	bad := []struct {
		build func(store.Allocation) (store.Licence, store.AuditEvent, error)
		want  error
	}{
		{func(store.Allocation) (store.Licence, store.AuditEvent, error) {
			return store.Licence{}, store.AuditEvent{}, errBuild
		}, errBuild},
		{func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.ID = first.ID
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrDuplicate},
		{func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			l.StatusIndex++
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
	}
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		build, want := f.builder(deptA, typeBL, "HG"), error(nil)
		if i%4 != 0 {
			build, want = bad[i%4-1].build, bad[i%4-1].want
		}
		wg.Go(func() {
			_, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}, build)
			if want == nil {
				errs[i] = err
			} else if !errors.Is(err, want) {
				errs[i] = fmt.Errorf("error = %v, want %v", err, want)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	page, _, err := s.ListLicences(ctx, store.LicenceQuery{DepartmentCode: deptA, HolderCode: "HG"})
	if err != nil || len(page) != n/4 {
		t.Errorf("good licences stored = %d (%v), want %d", len(page), err, n/4)
	}
	if got := f.auditLen() - before; got != n/4 {
		t.Errorf("audit entries appended = %d, want %d", got, n/4)
	}
	f.verify()
}

// testIdempotency covers replays and conflicting reuse of idempotency keys.
func testIdempotency(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "req-1", RequestHash: secretHash("body-1")}
	l1, err := s.IssueLicence(ctx, p, f.builder(deptA, typeBL, "H1"))
	if err != nil {
		t.Fatalf("IssueLicence: %v", err)
	}
	before := f.auditLen()
	called := false
	again, err := s.IssueLicence(ctx, p, func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
		called = true
		return f.builder(deptA, typeBL, "H1")(a)
	})
	if err != nil || called || !same(again, l1) {
		t.Errorf("replay = %s, %v, build called %v; want %s without calling build", again.ID, err, called, l1.ID)
	}
	q := p
	q.RequestHash = secretHash("body-2")
	_, err = s.IssueLicence(ctx, q, f.builder(deptA, typeBL, "H1"))
	wantErr(t, "same key, other body", err, store.ErrIdempotencyMismatch)
	wantErr(t, "same key, other body", err, store.ErrConflict)
	if n := f.auditLen(); n != before {
		t.Errorf("replays appended %d audit entries", n-before)
	}

	// Keys are per department.
	pb := p
	pb.DepartmentCode = deptB
	lb, err := s.IssueLicence(ctx, pb, f.builder(deptB, typeBL, "H1"))
	if err != nil || lb.ID == l1.ID || lb.DepartmentCode != deptB {
		t.Errorf("same key in another department = %s, %v; want a new licence", lb.ID, err)
	}

	// A replay returns the licence in its current state.
	f.setStatus(l1, store.StatusRevoked)
	again, err = s.IssueLicence(ctx, p, f.builder(deptA, typeBL, "H1"))
	if err != nil || again.ID != l1.ID || again.Status != store.StatusRevoked {
		t.Errorf("replay after revocation = %s (%s), %v; want %s revoked", again.ID, again.Status, err, l1.ID)
	}

	// A failed issuance does not consume the key.
	p2 := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "req-2", RequestHash: secretHash("body")}
	_, err = s.IssueLicence(ctx, p2, func(store.Allocation) (store.Licence, store.AuditEvent, error) {
		return store.Licence{}, store.AuditEvent{}, errors.New("boom")
	})
	if err == nil {
		t.Fatal("failing build succeeded")
	}
	if _, err := s.IssueLicence(ctx, p2, f.builder(deptA, typeBL, "H2")); err != nil {
		t.Errorf("retry after failed issuance: %v", err)
	}

	_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "k"}, f.builder(deptA, typeBL, "H"))
	wantErr(t, "key without request hash", err, store.ErrInvalid)

	// Re-issue honours keys too.
	rp := store.ReissueParams{DepartmentCode: deptB, LicenceID: lb.ID, IdempotencyKey: "re-1", RequestHash: secretHash("re")}
	r1, err := s.ReissueLicence(ctx, rp, reissueBuilder(f))
	if err != nil {
		t.Fatalf("ReissueLicence: %v", err)
	}
	called = false
	r2, err := s.ReissueLicence(ctx, rp, func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		called = true
		return reissueBuilder(f)(old, a)
	})
	if err != nil || called || r2.ID != r1.ID {
		t.Errorf("re-issue replay = %s, %v, build called %v; want %s", r2.ID, err, called, r1.ID)
	}
	f.verify()
}

// testIdempotencyConcurrent sends one request many times at once: exactly
// one licence is issued and every caller gets it.
func testIdempotencyConcurrent(t *testing.T, f *fixture) {
	const n = 10
	p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "same", RequestHash: secretHash("same")}
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l, err := f.s.IssueLicence(f.ctx, p, f.builder(deptA, typeBL, "HC"))
			ids[i], errs[i] = l.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("request %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
		}
	}
	page, _, err := f.s.ListLicences(f.ctx, store.LicenceQuery{DepartmentCode: deptA, HolderCode: "HC"})
	if err != nil || len(page) != 1 {
		t.Errorf("%d licences stored (%v), want 1", len(page), err)
	}
	if n := f.auditLen(); n != fixtureAuditEntries+1 {
		t.Errorf("audit entries = %d, want %d", n, fixtureAuditEntries+1)
	}
	f.verify()
}

// testStatusTransitions checks every status change against the rules,
// including its effect on the status list.
func testStatusTransitions(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	statuses := []store.Status{store.StatusValid, store.StatusSuspended, store.StatusRevoked}
	allowed := map[[2]store.Status]bool{
		{store.StatusValid, store.StatusSuspended}:   true, // suspend
		{store.StatusSuspended, store.StatusValid}:   true, // reinstate
		{store.StatusValid, store.StatusRevoked}:     true, // revoke
		{store.StatusSuspended, store.StatusRevoked}: true,
	}
	for _, from := range statuses {
		for _, to := range statuses {
			name := fmt.Sprintf("%s -> %s", from, to)
			l := f.issue(deptA, typeBL, "H")
			if from != store.StatusValid {
				l = f.setStatus(l, from)
			}
			before := f.auditLen()
			list, _ := s.StatusList(ctx, l.StatusListID)
			got, err := s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: l.ID, Status: to, Reason: "holder_request"},
				ev("licence.status", l.ID))
			after, _ := s.StatusList(ctx, l.StatusListID)
			stored := f.licence(deptA, l.ID)
			if !allowed[[2]store.Status{from, to}] {
				wantErr(t, name, err, store.ErrInvalidTransition)
				if stored.Status != from || f.auditLen() != before || after.Revision != list.Revision {
					t.Errorf("%s refused, but status %s, %d audit entries added, revision %d -> %d",
						name, stored.Status, f.auditLen()-before, list.Revision, after.Revision)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !same(got, stored) || stored.Status != to || stored.StatusChangedAt.IsZero() {
				t.Errorf("%s: stored %+v", name, stored)
			}
			wantReason := "holder_request"
			if to == store.StatusValid {
				wantReason = ""
			}
			if stored.StatusReason != wantReason {
				t.Errorf("%s: reason %q, want %q", name, stored.StatusReason, wantReason)
			}
			if f.auditLen() != before+1 || after.Revision != list.Revision+1 {
				t.Errorf("%s: %d audit entries added, revision %d -> %d; want 1 and +1", name, f.auditLen()-before, list.Revision, after.Revision)
			}
			_, entries, _ := s.StatusListEntries(ctx, l.StatusListID)
			if got := entryOf(entries, l.StatusIndex); got != to {
				t.Errorf("%s: status list entry %d = %s, want %s", name, l.StatusIndex, got, to)
			}
		}
	}

	l := f.issue(deptA, typeBL, "H")
	_, err := s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptB, LicenceID: l.ID, Status: store.StatusRevoked, Reason: "x"}, ev("licence.revoke", l.ID))
	wantErr(t, "another department's licence", err, store.ErrNotFound)
	_, err = s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: "nope", Status: store.StatusRevoked, Reason: "x"}, ev("licence.revoke", "nope"))
	wantErr(t, "unknown licence", err, store.ErrNotFound)
	_, err = s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: l.ID, Status: store.StatusRevoked}, ev("licence.revoke", l.ID))
	wantErr(t, "revocation without reason", err, store.ErrInvalid)
	_, err = s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: l.ID, Status: 3, Reason: "x"}, ev("licence.revoke", l.ID))
	wantErr(t, "unknown status", err, store.ErrInvalid)
	if got := f.licence(deptA, l.ID); got.Status != store.StatusValid {
		t.Errorf("refused changes left status %s", got.Status)
	}
	f.verify()
}

// entryOf returns the status of index in a list's non-valid entries.
func entryOf(entries []store.StatusEntry, index int) store.Status {
	for _, e := range entries {
		if e.Index == index {
			return e.Status
		}
	}
	return store.StatusValid
}

func reissueBuilder(f *fixture) func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error) {
	return func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		l := newLicence(old.DepartmentCode, old.TypeCode, old.HolderCode, a, f.nextTime())
		l.Supersedes = old.ID
		return l, ev("licence.reissue", l.ID), nil
	}
}

// testReissue covers replacing a licence by a new version.
func testReissue(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	v1 := f.issue(deptA, typeBL, "H")
	before := f.auditLen()
	var gotOld store.Licence
	v2, err := s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v1.ID},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			gotOld = old
			return reissueBuilder(f)(old, a)
		})
	if err != nil {
		t.Fatalf("ReissueLicence: %v", err)
	}
	if !same(gotOld, v1) {
		t.Errorf("build got old licence %+v, want %+v", gotOld, v1)
	}
	if v2.Version != 2 || v2.Serial != v1.Serial || v2.Supersedes != v1.ID || v2.Status != store.StatusValid {
		t.Errorf("new version = %+v", v2)
	}
	if v2.StatusListID == v1.StatusListID && v2.StatusIndex == v1.StatusIndex {
		t.Error("new version shares the old version's slot")
	}
	if got := f.licence(deptA, v2.ID); !same(got, v2) {
		t.Errorf("stored new version %+v, want %+v", got, v2)
	}
	old := f.licence(deptA, v1.ID)
	if old.Status != store.StatusRevoked || old.StatusReason != store.ReasonSuperseded || old.StatusChangedAt.IsZero() {
		t.Errorf("old version: status %s reason %q at %v; want revoked, superseded", old.Status, old.StatusReason, old.StatusChangedAt)
	}
	_, entries, _ := s.StatusListEntries(ctx, v1.StatusListID)
	if entryOf(entries, v1.StatusIndex) != store.StatusRevoked || entryOf(entries, v2.StatusIndex) != store.StatusValid {
		t.Errorf("status list entries %v: want old revoked, new valid", entries)
	}
	if n := f.auditLen(); n != before+1 {
		t.Errorf("re-issue appended %d audit entries, want 1", n-before)
	}

	// The replaced version is revoked, so it cannot be re-issued again.
	_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v1.ID}, reissueBuilder(f))
	wantErr(t, "re-issuing a superseded version", err, store.ErrInvalidTransition)
	// Only valid licences are re-issued.
	f.setStatus(v2, store.StatusSuspended)
	_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v2.ID}, reissueBuilder(f))
	wantErr(t, "re-issuing a suspended licence", err, store.ErrInvalidTransition)
	f.setStatus(v2, store.StatusValid)
	_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptB, LicenceID: v2.ID}, reissueBuilder(f))
	wantErr(t, "re-issuing another department's licence", err, store.ErrNotFound)

	// A failed re-issue changes nothing.
	before = f.auditLen()
	_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v2.ID},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			return store.Licence{}, store.AuditEvent{}, errors.New("signer down")
		})
	if err == nil {
		t.Fatal("failing build succeeded")
	}
	_, err = s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v2.ID},
		func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l, e, err := reissueBuilder(f)(old, a)
			l.Supersedes = ""
			return l, e, err
		})
	wantErr(t, "new version without supersedes", err, store.ErrInvalid)
	if got := f.licence(deptA, v2.ID); got.Status != store.StatusValid || f.auditLen() != before {
		t.Errorf("failed re-issues left status %s and %d new audit entries", got.Status, f.auditLen()-before)
	}

	v3, err := s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: v2.ID}, reissueBuilder(f))
	if err != nil || v3.Version != 3 || v3.Serial != v1.Serial || v3.Supersedes != v2.ID {
		t.Errorf("third version = %+v, %v", v3, err)
	}
	f.verify()
}

// testListLicences covers filters and cursor pagination.
func testListLicences(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	var all []store.Licence
	for i := range 23 {
		typ := typeBL
		if i%3 == 0 {
			typ = typeOT
		}
		all = append(all, f.issue(deptA, typ, fmt.Sprintf("H%d", i%4)))
	}
	// Licences issued at the same instant are ordered by ID.
	for range 3 {
		l, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL},
			func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
				l := newLicence(deptA, typeBL, "H9", a, base)
				return l, ev("licence.issue", l.ID), nil
			})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, l)
	}
	f.issue(deptB, typeBL, "H0")
	f.setStatus(all[1], store.StatusRevoked)
	f.setStatus(all[2], store.StatusSuspended)
	f.setStatus(all[5], store.StatusSuspended)

	order := func(ls []store.Licence) []string {
		var ids []string
		for _, l := range ls {
			ids = append(ids, l.ID)
		}
		return ids
	}
	// want returns the IDs of the department's licences matching keep,
	// newest first.
	want := func(keep func(store.Licence) bool) []string {
		var out []store.Licence
		for _, l := range all {
			if l = f.licence(deptA, l.ID); keep(l) {
				out = append(out, l)
			}
		}
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				a, b := out[i], out[j]
				if b.IssuedAt.After(a.IssuedAt) || b.IssuedAt.Equal(a.IssuedAt) && b.ID > a.ID {
					out[i], out[j] = b, a
				}
			}
		}
		return order(out)
	}
	suspended, revoked := store.StatusSuspended, store.StatusRevoked
	for _, c := range []struct {
		name string
		q    store.LicenceQuery
		keep func(store.Licence) bool
	}{
		{"all", store.LicenceQuery{}, func(store.Licence) bool { return true }},
		{"type", store.LicenceQuery{TypeCode: typeOT}, func(l store.Licence) bool { return l.TypeCode == typeOT }},
		{"holder", store.LicenceQuery{HolderCode: "H1"}, func(l store.Licence) bool { return l.HolderCode == "H1" }},
		{"suspended", store.LicenceQuery{Status: &suspended}, func(l store.Licence) bool { return l.Status == suspended }},
		{"revoked BL", store.LicenceQuery{Status: &revoked, TypeCode: typeBL}, func(l store.Licence) bool { return l.Status == revoked && l.TypeCode == typeBL }},
		{"holder and type", store.LicenceQuery{HolderCode: "H0", TypeCode: typeOT}, func(l store.Licence) bool { return l.HolderCode == "H0" && l.TypeCode == typeOT }},
	} {
		for _, limit := range []int{0, 1, 4, 7, 1000} {
			q := c.q
			q.DepartmentCode, q.Limit = deptA, limit
			var got []store.Licence
			for pages := 0; ; pages++ {
				page, next, err := s.ListLicences(ctx, q)
				if err != nil {
					t.Fatalf("%s limit %d: %v", c.name, limit, err)
				}
				if len(page) > store.PageLimit(limit) {
					t.Errorf("%s: page of %d, limit %d", c.name, len(page), limit)
				}
				got = append(got, page...)
				if next == "" || pages > 100 {
					break
				}
				q.Cursor = next
			}
			if w := want(c.keep); fmt.Sprint(order(got)) != fmt.Sprint(w) {
				t.Errorf("%s, limit %d:\n got %v\nwant %v", c.name, limit, order(got), w)
			}
		}
	}
	page, _, err := s.ListLicences(ctx, store.LicenceQuery{DepartmentCode: deptB})
	if err != nil || len(page) != 1 || page[0].DepartmentCode != deptB {
		t.Errorf("D2 listing = %d licences, %v; want only its own", len(page), err)
	}
	_, _, err = s.ListLicences(ctx, store.LicenceQuery{DepartmentCode: deptA, Cursor: "not a cursor"})
	wantErr(t, "malformed cursor", err, store.ErrInvalid)
}

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"elicence/issuer/store"
)

type slotKey struct {
	list  string
	index int
}

// checkSlots fails the test if two licences share a slot or a slot lies
// outside its list.
func checkSlots(t *testing.T, f *fixture, ls []store.Licence) {
	t.Helper()
	sizes := map[string]int{}
	seen := map[slotKey]string{}
	for _, l := range ls {
		k := slotKey{l.StatusListID, l.StatusIndex}
		if other, dup := seen[k]; dup {
			t.Errorf("licences %s and %s share slot %v", other, l.ID, k)
		}
		seen[k] = l.ID
		size, ok := sizes[l.StatusListID]
		if !ok {
			list, err := f.s.StatusList(f.ctx, l.StatusListID)
			if err != nil {
				t.Fatalf("StatusList(%s): %v", l.StatusListID, err)
			}
			size, sizes[l.StatusListID] = list.Size, list.Size
		}
		if l.StatusIndex < 0 || l.StatusIndex >= size {
			t.Errorf("licence %s: index %d outside list %s of size %d", l.ID, l.StatusIndex, l.StatusListID, size)
		}
	}
}

// testStatusLists covers reading lists and their revisions.
func testStatusLists(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	var ls []store.Licence
	for range 20 {
		ls = append(ls, f.issue(deptA, typeBL, "H"))
	}
	checkSlots(t, f, ls)
	// Indices are random, not handed out in order.
	var idx []int
	for _, l := range ls {
		idx = append(idx, l.StatusIndex)
	}
	if slices.IsSorted(idx) {
		t.Errorf("indices %v are in issuance order; want random", idx)
	}

	id := ls[0].StatusListID
	list, entries, err := s.StatusListEntries(ctx, id)
	if err != nil || len(entries) != 0 || list.Revision != 0 || list.ID != id {
		t.Fatalf("StatusListEntries after issuance = %+v, %v, %v; want no entries, revision 0", list, entries, err)
	}
	if got, err := s.StatusList(ctx, id); err != nil || !same(got, list) {
		t.Errorf("StatusList = %+v, %v; want %+v", got, err, list)
	}

	s3 := f.setStatus(ls[3], store.StatusSuspended)
	s7 := f.setStatus(ls[7], store.StatusRevoked)
	f.setStatus(ls[9], store.StatusSuspended)
	f.setStatus(ls[9], store.StatusValid)
	list2, entries, err := s.StatusListEntries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Each entry says why and since when (for the list's details).
	want := []store.StatusEntry{
		{Index: ls[3].StatusIndex, Status: store.StatusSuspended, Reason: "test", ChangedAt: s3.StatusChangedAt},
		{Index: ls[7].StatusIndex, Status: store.StatusRevoked, Reason: "test", ChangedAt: s7.StatusChangedAt},
	}
	slices.SortFunc(want, func(a, b store.StatusEntry) int { return a.Index - b.Index })
	if !same(entries, want) {
		t.Errorf("entries = %v, want %v (non-valid only, by index)", entries, want)
	}
	if list2.Revision != 4 || list2.UpdatedAt.Before(list.UpdatedAt) {
		t.Errorf("after 4 changes revision %d updated %v; want 4, not before %v", list2.Revision, list2.UpdatedAt, list.UpdatedAt)
	}
	// Issuing more changes no entry, so the revision stays.
	f.issue(deptA, typeBL, "H")
	if l, _ := s.StatusList(ctx, id); l.Revision != list2.Revision {
		t.Errorf("issuance changed revision %d -> %d", list2.Revision, l.Revision)
	}
	// Failed changes do not move the revision.
	_, err = s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: ls[7].ID, Status: store.StatusSuspended, Reason: "x"}, ev("licence.suspend", ls[7].ID))
	wantErr(t, "suspending a revoked licence", err, store.ErrInvalidTransition)
	if l, _ := s.StatusList(ctx, id); l.Revision != list2.Revision {
		t.Errorf("refused change moved revision %d -> %d", list2.Revision, l.Revision)
	}

	_, err = s.StatusList(ctx, "NOPE-1")
	wantErr(t, "unknown list", err, store.ErrNotFound)
	_, _, err = s.StatusListEntries(ctx, "NOPE-1")
	wantErr(t, "entries of unknown list", err, store.ErrNotFound)

	b := f.issue(deptB, typeBL, "H")
	if b.StatusListID != store.StatusListID(deptB, 1) {
		t.Errorf("D2's licence in list %s, want %s", b.StatusListID, store.StatusListID(deptB, 1))
	}
	for dept, want := range map[string]string{deptA: id, deptB: b.StatusListID} {
		lists, err := s.ListStatusLists(ctx, dept)
		if err != nil || len(lists) != 1 || lists[0].ID != want || lists[0].DepartmentCode != dept {
			t.Errorf("ListStatusLists(%s) = %+v, %v; want [%s]", dept, lists, err, want)
		}
	}
	if lists, err := s.ListStatusLists(ctx, "NOPE"); err != nil || len(lists) != 0 {
		t.Errorf("ListStatusLists(unknown) = %v, %v", lists, err)
	}
}

// testStatusListRollover fills a list to half its size and checks that the
// next licence opens a new list.
func testStatusListRollover(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	first := f.issue(deptA, typeBL, "H")
	list, err := s.StatusList(ctx, first.StatusListID)
	if err != nil {
		t.Fatal(err)
	}
	half := list.Size / 2
	batch := func(n int) []store.Licence {
		t.Helper()
		ls, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeOT}, n,
			func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
				l := newLicence(deptA, typeOT, "H", a, f.nextTime())
				return l, ev("licence.issue", l.ID), nil
			})
		if err != nil {
			t.Fatalf("IssueBatch(%d): %v", n, err)
		}
		return ls
	}
	all := append([]store.Licence{first}, batch(half-1)...)
	lists, _ := s.ListStatusLists(ctx, deptA)
	if len(lists) != 1 || lists[0].Allocated != half {
		t.Fatalf("with %d of %d entries used: lists %+v; want one list, %d allocated", half, list.Size, lists, half)
	}
	// More than half full would be too many: the next licence opens list 2.
	next := f.issue(deptA, typeBL, "H")
	all = append(all, next)
	if next.StatusListID != store.StatusListID(deptA, 2) {
		t.Errorf("licence after a half-full list went to %s, want %s", next.StatusListID, store.StatusListID(deptA, 2))
	}
	// A batch larger than what is left spans lists 2 and 3.
	spanning := batch(half)
	all = append(all, spanning...)
	lists, _ = s.ListStatusLists(ctx, deptA)
	if len(lists) != 3 || lists[1].Seq != 2 || lists[1].Allocated != half || lists[2].Allocated != 1 || lists[2].ID != store.StatusListID(deptA, 3) {
		t.Errorf("after spanning batch: lists %+v; want 3 with %d, %d, 1 allocated", lists, half, half)
	}
	if last := spanning[len(spanning)-1]; last.StatusListID != lists[2].ID {
		t.Errorf("last licence of spanning batch in %s, want %s", last.StatusListID, lists[2].ID)
	}
	checkSlots(t, f, all)
	for _, l := range lists {
		if l.Size < list.Size || l.Allocated > l.Size/2 {
			t.Errorf("list %+v more than half full", l)
		}
	}
	f.verify()
}

// testIssueBatch covers a successful batch.
func testIssueBatch(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	before := f.audit()
	const n = 50
	var calls []int
	ls, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}, n,
		func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			calls = append(calls, i)
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		})
	if err != nil {
		t.Fatalf("IssueBatch: %v", err)
	}
	if len(ls) != n {
		t.Fatalf("IssueBatch returned %d licences, want %d", len(ls), n)
	}
	serials := map[int64]bool{}
	for i, l := range ls {
		if calls[i] != i {
			t.Fatalf("build called in order %v", calls)
		}
		if serials[l.Serial] {
			t.Errorf("serial %d twice", l.Serial)
		}
		serials[l.Serial] = true
		if got := f.licence(deptA, l.ID); !same(got, l) {
			t.Errorf("stored %+v, want %+v", got, l)
		}
	}
	checkSlots(t, f, ls)
	after := f.audit()
	if len(after) != len(before)+n {
		t.Fatalf("batch appended %d audit entries, want %d", len(after)-len(before), n)
	}
	for i, e := range after[len(before):] {
		if e.Subject != ls[i].ID || e.Seq != int64(len(before)+i+1) {
			t.Errorf("audit entry %d = seq %d subject %s, want subject %s", i, e.Seq, e.Subject, ls[i].ID)
		}
	}
	if l := f.issue(deptA, typeBL, "H"); serials[l.Serial] {
		t.Errorf("single issuance after batch reused serial %d", l.Serial)
	}
	one, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: typeBL}, 1,
		func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := newLicence(deptB, typeBL, "H", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		})
	if err != nil || len(one) != 1 || one[0].Serial != 1 {
		t.Errorf("batch of one = %+v, %v", one, err)
	}
	f.verify()
}

// testIssueBatchAllOrNothing checks that a batch with any failure stores
// nothing.
func testIssueBatchAllOrNothing(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	existing := f.issue(deptA, typeBL, "H")
	before := f.auditLen()
	p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}
	errBuild := errors.New("hsm offline")
	var mu sync.Mutex
	ids := map[int]string{}
	mk := func(i int, a store.Allocation) store.Licence {
		l := newLicence(deptA, typeBL, "H", a, f.nextTime())
		mu.Lock()
		ids[i] = l.ID
		mu.Unlock()
		return l
	}
	for _, c := range []struct {
		name  string
		build func(int, store.Allocation) (store.Licence, store.AuditEvent, error)
		want  error
	}{
		{"build fails midway", func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			if i == 30 {
				return store.Licence{}, store.AuditEvent{}, errBuild
			}
			l := mk(i, a)
			return l, ev("licence.issue", l.ID), nil
		}, errBuild},
		{"duplicate inside batch", func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := mk(i, a)
			if i == 10 {
				l.ID = ids[3]
			}
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrDuplicate},
		{"duplicate of stored licence", func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := mk(i, a)
			if i == 39 {
				l.ID = existing.ID
			}
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrDuplicate},
		{"invalid licence", func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := mk(i, a)
			if i == 20 {
				l.HolderCode = ""
			}
			return l, ev("licence.issue", l.ID), nil
		}, store.ErrInvalid},
	} {
		_, err := s.IssueBatch(ctx, p, 40, c.build)
		wantErr(t, c.name, err, c.want)
	}
	build := func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		l := mk(i, a)
		return l, ev("licence.issue", l.ID), nil
	}
	_, err := s.IssueBatch(ctx, p, 0, build)
	wantErr(t, "empty batch", err, store.ErrInvalid)
	_, err = s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "k", RequestHash: []byte{1}}, 2, build)
	wantErr(t, "batch with idempotency key", err, store.ErrInvalid)
	_, err = s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: typeOT}, 2, build)
	wantErr(t, "batch of unauthorised type", err, store.ErrNotAuthorised)

	page, _, err := s.ListLicences(ctx, store.LicenceQuery{DepartmentCode: deptA})
	if err != nil || len(page) != 1 {
		t.Errorf("after failed batches %d licences stored (%v), want 1", len(page), err)
	}
	if n := f.auditLen(); n != before {
		t.Errorf("failed batches appended %d audit entries", n-before)
	}
	f.verify()
}

// testIssueBatchRowKeys checks that a batch sent again with the same row
// keys issues only the rows not issued before and returns the others'
// licences, and that a changed row is refused.
func testIssueBatchRowKeys(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	keyed := func(n int, salt string) store.IssueParams {
		p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}
		for i := range n {
			p.RowKeys = append(p.RowKeys, fmt.Sprintf("batch-1#%d", i+1))
			h := sm3.Sum(fmt.Appendf(nil, "row %d%s", i+1, salt))
			p.RowHashes = append(p.RowHashes, h[:])
		}
		return p
	}
	batch := func(p store.IssueParams, n int) ([]store.Licence, []int, error) {
		var built []int
		ls, err := s.IssueBatch(ctx, p, n, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			built = append(built, i)
			l := newLicence(deptA, typeBL, "H", a, f.nextTime())
			return l, ev("licence.issue", l.ID), nil
		})
		return ls, built, err
	}
	before := f.auditLen()
	first, built, err := batch(keyed(5, ""), 5)
	if err != nil || len(first) != 5 || len(built) != 5 {
		t.Fatalf("first batch: %d licences, %d built, %v", len(first), len(built), err)
	}
	// The same rows and two more, as a client resuming a longer upload
	// would send them: only the two are built.
	again, built, err := batch(keyed(7, ""), 7)
	if err != nil {
		t.Fatalf("batch sent again: %v", err)
	}
	if !slices.Equal(built, []int{5, 6}) {
		t.Errorf("batch sent again built rows %v, want [5 6]", built)
	}
	ids := map[string]bool{}
	for i, l := range again {
		if i < 5 && !same(l, first[i]) {
			t.Errorf("row %d replayed as %s, want %s", i, l.ID, first[i].ID)
		}
		if ids[l.ID] {
			t.Errorf("licence %s returned twice", l.ID)
		}
		ids[l.ID] = true
		if got := f.licence(deptA, l.ID); !same(got, l) {
			t.Errorf("row %d: stored %+v, want %+v", i, got, l)
		}
	}
	checkSlots(t, f, again)
	if got := f.auditLen() - before; got != 7 {
		t.Errorf("two batches appended %d audit entries, want 7", got)
	}
	// Sent once more, nothing is issued.
	if _, built, err := batch(keyed(7, ""), 7); err != nil || len(built) != 0 {
		t.Errorf("third send built %v, %v; want nothing", built, err)
	}
	// A row changed under its key fails the batch, and nothing is written.
	p := keyed(8, "")
	h := sm3.Sum([]byte("changed"))
	p.RowHashes[2] = h[:]
	n := f.auditLen()
	if _, built, err := batch(p, 8); !errors.Is(err, store.ErrIdempotencyMismatch) || len(built) != 0 {
		t.Errorf("changed row: built %v, err %v; want ErrIdempotencyMismatch and nothing built", built, err)
	}
	if f.auditLen() != n {
		t.Errorf("a refused batch appended audit entries")
	}
	// Malformed keys are refused before anything happens.
	for name, p := range map[string]store.IssueParams{
		"fewer keys":    {DepartmentCode: deptA, TypeCode: typeBL, RowKeys: []string{"a"}, RowHashes: [][]byte{{1}}},
		"repeated key":  {DepartmentCode: deptA, TypeCode: typeBL, RowKeys: []string{"a", "a"}, RowHashes: [][]byte{{1}, {2}}},
		"empty key":     {DepartmentCode: deptA, TypeCode: typeBL, RowKeys: []string{"a", ""}, RowHashes: [][]byte{{1}, {2}}},
		"no hash":       {DepartmentCode: deptA, TypeCode: typeBL, RowKeys: []string{"a", "b"}, RowHashes: [][]byte{{1}, nil}},
		"key for batch": {DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "k", RequestHash: []byte{1}},
	} {
		if _, built, err := batch(p, 2); !errors.Is(err, store.ErrInvalid) || len(built) != 0 {
			t.Errorf("%s: built %v, err %v; want ErrInvalid", name, built, err)
		}
	}
	f.verify()
}

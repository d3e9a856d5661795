package storetest

import (
	"fmt"
	"sync"
	"testing"

	"elicence/issuer/store"
)

// testConcurrency issues from 50 goroutines at once, alongside two batches
// and ten status changes, and checks that no serial or slot is handed out
// twice, every change is audited once, and the chain stays linear.
func testConcurrency(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	var pre []store.Licence
	for range 10 {
		pre = append(pre, f.issue(deptA, typeBL, "PRE"))
	}
	revs := map[string]int64{}
	for _, l := range pre {
		list, _ := s.StatusList(ctx, l.StatusListID)
		revs[l.StatusListID] = list.Revision
	}
	before := f.auditLen()

	const singles, batches, batchSize = 50, 2, 20
	var wg sync.WaitGroup
	errs := make(chan error, singles+batches+len(pre))
	for i := range singles {
		wg.Go(func() {
			dept, typ := deptA, typeBL
			switch i % 3 {
			case 1:
				typ = typeOT
			case 2:
				dept = deptB
			}
			_, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: dept, TypeCode: typ}, f.builder(dept, typ, "C"))
			if err != nil {
				errs <- fmt.Errorf("issue %d: %w", i, err)
			}
		})
	}
	for i := range batches {
		wg.Go(func() {
			_, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL}, batchSize,
				func(_ int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
					l := newLicence(deptA, typeBL, "C", a, f.nextTime())
					return l, ev("licence.issue", l.ID), nil
				})
			if err != nil {
				errs <- fmt.Errorf("batch %d: %w", i, err)
			}
		})
	}
	for _, l := range pre {
		wg.Go(func() {
			_, err := s.UpdateStatus(ctx, store.StatusChange{DepartmentCode: deptA, LicenceID: l.ID, Status: store.StatusSuspended, Reason: "check"},
				ev("licence.suspend", l.ID))
			if err != nil {
				errs <- fmt.Errorf("suspend %s: %w", l.ID, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var all []store.Licence
	for _, dept := range []string{deptA, deptB} {
		q := store.LicenceQuery{DepartmentCode: dept, Limit: store.MaxPageSize}
		for {
			page, next, err := s.ListLicences(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
	}
	if want := len(pre) + singles + batches*batchSize; len(all) != want {
		t.Errorf("%d licences stored, want %d", len(all), want)
	}
	serials := map[string]string{}
	for _, l := range all {
		k := fmt.Sprintf("%s/%s/%d", l.DepartmentCode, l.TypeCode, l.Serial)
		if other, dup := serials[k]; dup {
			t.Errorf("licences %s and %s share serial %s", other, l.ID, k)
		}
		serials[k] = l.ID
	}
	checkSlots(t, f, all)

	entries := f.audit()[before:]
	if want := singles + batches*batchSize + len(pre); len(entries) != want {
		t.Errorf("%d audit entries appended, want %d", len(entries), want)
	}
	audited := map[string]int{}
	for _, e := range entries {
		audited[e.Subject]++
	}
	for _, l := range all {
		if l.HolderCode == "C" && audited[l.ID] != 1 {
			t.Errorf("licence %s audited %d times, want once", l.ID, audited[l.ID])
		}
	}
	changes := map[string]int64{}
	for _, l := range pre {
		changes[l.StatusListID]++
	}
	for id, rev := range revs {
		list, _ := s.StatusList(ctx, id)
		if list.Revision != rev+changes[id] {
			t.Errorf("list %s revision %d after %d changes, want %d", id, list.Revision, changes[id], rev+changes[id])
		}
	}
	f.verify()
}

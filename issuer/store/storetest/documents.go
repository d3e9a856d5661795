package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"elicence/issuer/store"
)

// newDocument returns a document for the slot, as the documents room would
// build it.
func (f *fixture) newDocument(dept, keyID, id string, slot store.DocumentSlot) store.Document {
	a, b := sm3.Sum([]byte("file "+id)), sm3.Sum([]byte("signed "+id))
	return store.Document{
		ID: id, DepartmentCode: dept, Kind: store.DocumentPDF,
		Title: "关于同意设立示例分公司的批复", Number: "闽市监〔2026〕12号", FileName: "批复.pdf",
		KeyID: keyID, SignedAt: f.nextTime(), SM3: a[:], SignedSM3: b[:], Size: 123456, Pages: 3,
		StatusListID: slot.StatusListID, StatusIndex: slot.StatusIndex,
		Receipt:   []byte("receipt of " + id),
		Signature: append([]byte{0x00, 0xff, '\n'}, id...),
	}
}

func (f *fixture) docBuilder(dept, keyID, id string, calls *int) func(store.DocumentSlot) (store.Document, store.AuditEvent, error) {
	return func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
		if calls != nil {
			*calls++
		}
		d := f.newDocument(dept, keyID, id, slot)
		return d, ev("document.sign", id), nil
	}
}

// testDocuments covers the document record: signing takes a slot of the
// department's lists and appends one audit entry, the department sees only
// its own documents, idempotency keys replay or refuse, the key must be
// active, and rescission is final and shows in the status list entries
// (with licences' entries of the same list).
func testDocuments(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	keyA, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000d1", store.KeyActive), ev("key.add", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSigningKey(ctx, newKey(deptB, "00000000000000d2", store.KeyActive), ev("key.add", "d2")); err != nil {
		t.Fatal(err)
	}
	before := f.auditLen()
	p := store.DocumentParams{DepartmentCode: deptA, KeyID: keyA.ID}
	d, err := s.SignDocument(ctx, p, f.docBuilder(deptA, keyA.ID, "DOC0000000000001", nil))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.auditLen(); n != before+1 {
		t.Errorf("SignDocument appended %d audit entries, want 1", n-before)
	}
	if got := f.audit(); got[len(got)-1].Action != "document.sign" || got[len(got)-1].Subject != d.ID {
		t.Errorf("last audit entry %+v", got[len(got)-1])
	}
	lists, err := s.ListStatusLists(ctx, deptA)
	if err != nil || len(lists) == 0 || lists[len(lists)-1].ID != d.StatusListID {
		t.Fatalf("document slot %s not in the department's lists %+v (%v)", d.StatusListID, lists, err)
	}
	got, err := s.Document(ctx, deptA, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, d) || got.Status != store.StatusValid || got.UpdatedAt.IsZero() || !got.SignedAt.Equal(store.Timestamp(got.SignedAt)) {
		t.Errorf("Document = %+v\nwant %+v", got, d)
	}
	if !bytes.Equal(got.Signature, append([]byte{0x00, 0xff, '\n'}, d.ID...)) || got.Pages != 3 || got.Size != 123456 || got.Number != d.Number {
		t.Errorf("fields not kept: %+v", got)
	}
	// Another department sees nothing and rescinds nothing.
	_, err = s.Document(ctx, deptB, d.ID)
	wantErr(t, "Document of another department", err, store.ErrNotFound)
	_, err = s.RescindDocument(ctx, deptB, d.ID, "withdrawn", ev("document.rescind", d.ID))
	wantErr(t, "RescindDocument of another department", err, store.ErrNotFound)
	_, err = s.Document(ctx, deptA, "DOC-NONE")
	wantErr(t, "Document unknown", err, store.ErrNotFound)

	// Slots never collide with licences' or other documents'.
	l := f.issue(deptA, typeBL, "H1")
	d2, err := s.SignDocument(ctx, p, f.docBuilder(deptA, keyA.ID, "DOC0000000000002", nil))
	if err != nil {
		t.Fatal(err)
	}
	if (d2.StatusListID == d.StatusListID && d2.StatusIndex == d.StatusIndex) || (l.StatusListID == d.StatusListID && l.StatusIndex == d.StatusIndex) {
		t.Errorf("slots collide: %s/%d %s/%d %s/%d", d.StatusListID, d.StatusIndex, d2.StatusListID, d2.StatusIndex, l.StatusListID, l.StatusIndex)
	}

	// Refused builds and keys store nothing.
	before = f.auditLen()
	for name, c := range map[string]struct {
		p     store.DocumentParams
		build func(store.DocumentSlot) (store.Document, store.AuditEvent, error)
		want  error
	}{
		"retired key":    {store.DocumentParams{DepartmentCode: deptA, KeyID: "00000000000000ff"}, f.docBuilder(deptA, "00000000000000ff", "DOCX1", nil), store.ErrKeyNotActive},
		"other dept key": {store.DocumentParams{DepartmentCode: deptA, KeyID: "00000000000000d2"}, f.docBuilder(deptA, "00000000000000d2", "DOCX2", nil), store.ErrKeyNotActive},
		"wrong dept":     {p, f.docBuilder(deptB, keyA.ID, "DOCX3", nil), store.ErrInvalid},
		"wrong slot": {p, func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
			slot.StatusIndex++
			return f.newDocument(deptA, keyA.ID, "DOCX4", slot), ev("document.sign", "DOCX4"), nil
		}, store.ErrInvalid},
		"rescinded": {p, func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
			d := f.newDocument(deptA, keyA.ID, "DOCX5", slot)
			d.Status = store.StatusRevoked
			return d, ev("document.sign", "DOCX5"), nil
		}, store.ErrInvalid},
		"duplicate id": {p, f.docBuilder(deptA, keyA.ID, d.ID, nil), store.ErrDuplicate},
		"no key":       {store.DocumentParams{DepartmentCode: deptA}, f.docBuilder(deptA, "", "DOCX6", nil), store.ErrInvalid},
	} {
		_, err := s.SignDocument(ctx, c.p, c.build)
		wantErr(t, "SignDocument "+name, err, c.want)
	}
	if n := f.auditLen(); n != before {
		t.Errorf("refused documents appended %d audit entries", n-before)
	}

	// Idempotency: the same key and hash replay without a build, another
	// hash is refused; licences' keys are another namespace.
	ip := store.DocumentParams{DepartmentCode: deptA, KeyID: keyA.ID, IdempotencyKey: "doc-key-1", RequestHash: []byte{1, 2, 3}}
	calls := 0
	first, err := s.SignDocument(ctx, ip, f.docBuilder(deptA, keyA.ID, "DOC0000000000003", &calls))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.SignDocument(ctx, ip, f.docBuilder(deptA, keyA.ID, "DOC0000000000004", &calls))
	if err != nil || again.ID != first.ID || calls != 1 {
		t.Errorf("replay: %s, %v, %d builds; want %s, nil, 1", again.ID, err, calls, first.ID)
	}
	bad := ip
	bad.RequestHash = []byte{9}
	_, err = s.SignDocument(ctx, bad, f.docBuilder(deptA, keyA.ID, "DOC0000000000005", &calls))
	wantErr(t, "SignDocument with another request under the key", err, store.ErrIdempotencyMismatch)
	if _, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, IdempotencyKey: "doc-key-1", RequestHash: []byte{7}},
		f.builder(deptA, typeBL, "H2")); err != nil {
		t.Errorf("a licence under a document's idempotency key: %v", err)
	}
	// Department B's key space is its own.
	kb, _ := s.ActiveSigningKey(ctx, deptB)
	bp := store.DocumentParams{DepartmentCode: deptB, KeyID: kb.ID, IdempotencyKey: "doc-key-1", RequestHash: []byte{1, 2, 3}}
	db, err := s.SignDocument(ctx, bp, f.docBuilder(deptB, kb.ID, "DOC00000000000B1", nil))
	if err != nil || db.ID != "DOC00000000000B1" {
		t.Errorf("department B under A's key: %s, %v", db.ID, err)
	}

	// Rescission: final, with its reason, one audit entry, and in the
	// list's entries next to a revoked licence of the same list.
	f.setStatus(l, store.StatusRevoked)
	before = f.auditLen()
	_, err = s.RescindDocument(ctx, deptA, d.ID, "", ev("document.rescind", d.ID))
	wantErr(t, "RescindDocument without a reason", err, store.ErrInvalid)
	r, err := s.RescindDocument(ctx, deptA, d.ID, "withdrawn", ev("document.rescind", d.ID))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusRevoked || r.StatusReason != "withdrawn" || r.StatusChangedAt.IsZero() {
		t.Errorf("rescinded = %+v", r)
	}
	_, err = s.RescindDocument(ctx, deptA, d.ID, "other", ev("document.rescind", d.ID))
	wantErr(t, "RescindDocument twice", err, store.ErrInvalidTransition)
	if n := f.auditLen(); n != before+1 {
		t.Errorf("rescissions appended %d audit entries, want 1", n-before)
	}
	if got, _ := s.Document(ctx, deptA, d.ID); got.Status != store.StatusRevoked || got.StatusReason != "withdrawn" {
		t.Errorf("after rescission Document = %+v", got)
	}
	listBefore, _ := s.StatusList(ctx, d.StatusListID)
	for _, id := range []string{d.StatusListID, l.StatusListID} {
		_, entries, err := s.StatusListEntries(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		if id == d.StatusListID {
			want[fmt.Sprint(d.StatusIndex, store.StatusRevoked, "withdrawn")] = true
		}
		if id == l.StatusListID {
			want[fmt.Sprint(l.StatusIndex, store.StatusRevoked, "test")] = true
		}
		for i, e := range entries {
			if i > 0 && entries[i-1].Index >= e.Index {
				t.Errorf("entries of %s not ordered by index: %+v", id, entries)
			}
			k := fmt.Sprint(e.Index, e.Status, e.Reason)
			if !want[k] {
				t.Errorf("unexpected entry %s in %s", k, id)
			}
			if e.ChangedAt.IsZero() {
				t.Errorf("entry %s without a time", k)
			}
			delete(want, k)
		}
		for k := range want {
			t.Errorf("entry %s missing from %s (%+v)", k, id, entries)
		}
	}
	if listBefore.Revision == 0 {
		t.Errorf("rescission did not move the list's revision")
	}
	// The valid documents are not entries.
	_, entries, _ := s.StatusListEntries(ctx, d2.StatusListID)
	for _, e := range entries {
		if e.Index == d2.StatusIndex {
			t.Errorf("valid document %s is an entry", d2.ID)
		}
	}
	f.verify()
}

// testDocumentsConcurrent: concurrent signings under one idempotency key
// make one document; without keys, distinct slots.
func testDocumentsConcurrent(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	k, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000d3", store.KeyActive), ev("key.add", "d3"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	slots := map[string]bool{}
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			p := store.DocumentParams{DepartmentCode: deptA, KeyID: k.ID, IdempotencyKey: "same", RequestHash: []byte{1}}
			d, err := s.SignDocument(ctx, p, func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
				doc := f.newDocument(deptA, k.ID, fmt.Sprintf("DOCSAME%09d", i), slot)
				return doc, ev("document.sign", doc.ID), nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[d.ID] = true
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			d, err := s.SignDocument(ctx, store.DocumentParams{DepartmentCode: deptA, KeyID: k.ID}, func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
				doc := f.newDocument(deptA, k.ID, fmt.Sprintf("DOCDIFF%09d", i), slot)
				return doc, ev("document.sign", doc.ID), nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			slots[fmt.Sprint(d.StatusListID, "/", d.StatusIndex)] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Errorf("one idempotency key made %d documents", len(ids))
	}
	if len(slots) != n {
		t.Errorf("%d documents got %d distinct slots", n, len(slots))
	}
	f.verify()
}

// testDocumentSigners: which departments may sign documents, set and
// cleared with an audit entry each, per department.
func testDocumentSigners(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	if ok, err := s.IsDocumentSigner(ctx, deptA); err != nil || ok {
		t.Fatalf("a new department signs documents: %v %v", ok, err)
	}
	before := f.auditLen()
	for _, step := range []struct {
		dept    string
		allowed bool
		wantA   bool
	}{{deptA, true, true}, {deptA, true, true}, {deptB, true, true}, {deptA, false, false}, {deptA, false, false}} {
		if err := s.SetDocumentSigner(ctx, step.dept, step.allowed, ev("document.signer", step.dept)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.IsDocumentSigner(ctx, deptA); err != nil || ok != step.wantA {
			t.Errorf("after %+v: A signs %v (%v)", step, ok, err)
		}
	}
	if ok, _ := s.IsDocumentSigner(ctx, deptB); !ok {
		t.Error("B's permission lost")
	}
	if n := f.auditLen(); n != before+5 {
		t.Errorf("%d audit entries, want 5", n-before)
	}
	wantErr(t, "unknown department", s.SetDocumentSigner(ctx, "NOPE", true, ev("document.signer", "NOPE")), store.ErrNotFound)
	f.verify()
}

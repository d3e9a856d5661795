package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"

	"elicence/issuer/store"
	"elicence/tlog"
)

// Origins of the fixture's issuance logs.
const (
	originA = "issuer.test/tlog/" + deptA
	originB = "issuer.test/tlog/" + deptB
)

// wantLog checks that the log origin holds exactly the leaves of want, in
// order, that each is found by its leaf hash, and that an inclusion proof
// from the log's tiles verifies for each against the state's root.
func (f *fixture) wantLog(origin string, want []tlog.Leaf) {
	f.t.Helper()
	st, err := f.s.LogState(f.ctx, origin)
	if err != nil || st.Size != uint64(len(want)) {
		f.t.Fatalf("log %s: state size %d (%v), want %d", origin, st.Size, err, len(want))
	}
	if len(want) == 0 {
		return
	}
	got, err := f.s.LogLeaves(f.ctx, origin, 0, uint64(len(want)))
	if err != nil {
		f.t.Fatalf("log %s: leaves: %v", origin, err)
	}
	fetch := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, f.s, origin, level, index, p)
	}
	pb := tlog.NewProofBuilder(st.Size, fetch)
	for i, l := range want {
		if got[i] != l {
			f.t.Fatalf("log %s: leaf %d is not the object stored %d-th", origin, i, i)
		}
		loc, err := f.s.LookupLeaf(f.ctx, origin, l.Hash())
		if err != nil || loc.Index != uint64(i) {
			f.t.Fatalf("log %s: lookup of leaf %d: %+v, %v", origin, i, loc, err)
		}
		p, err := pb.InclusionProof(f.ctx, uint64(i))
		if err != nil {
			f.t.Fatal(err)
		}
		if err := proof.VerifyInclusion(tlog.Hasher, uint64(i), st.Size, l.Hash(), p, st.Root); err != nil {
			f.t.Fatalf("log %s: inclusion of %d: %v", origin, i, err)
		}
	}
}

// testLogAppends: every path that stores a licence or a document with a
// LogOrigin appends its leaf in the same transaction, in order, one log
// per department; a failed batch appends nothing; without LogOrigin
// nothing is logged.
func testLogAppends(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	var want []tlog.Leaf
	add := func(ls ...store.Licence) {
		for i := range ls {
			want = append(want, store.LicenceLeaf(&ls[i]))
		}
	}
	pA := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, LogOrigin: originA}
	l, err := s.IssueLicence(ctx, pA, f.builder(deptA, typeBL, "L1"))
	if err != nil {
		t.Fatal(err)
	}
	add(l)
	ik := pA
	ik.IdempotencyKey, ik.RequestHash = "log-1", []byte{1}
	l2, err := s.IssueLicence(ctx, ik, f.builder(deptA, typeBL, "L2"))
	if err != nil {
		t.Fatal(err)
	}
	add(l2)
	// A replay is not a new leaf.
	if _, err := s.IssueLicence(ctx, ik, f.builder(deptA, typeBL, "L2")); err != nil {
		t.Fatal(err)
	}
	// Across a tile boundary.
	batch, err := s.IssueBatch(ctx, pA, 300, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		l := newLicence(deptA, typeBL, fmt.Sprintf("B%d", i), a, f.nextTime())
		return l, ev("licence.issue", l.ID), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	add(batch...)
	// A batch that fails half-way appends nothing.
	_, err = s.IssueBatch(ctx, pA, 5, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		if i == 3 {
			return store.Licence{}, store.AuditEvent{}, errors.New("sign failed")
		}
		l := newLicence(deptA, typeBL, fmt.Sprintf("F%d", i), a, f.nextTime())
		return l, ev("licence.issue", l.ID), nil
	})
	if err == nil {
		t.Fatal("failing batch succeeded")
	}
	v2, err := s.ReissueLicence(ctx, store.ReissueParams{DepartmentCode: deptA, LicenceID: l.ID, LogOrigin: originA}, reissueBuilder(f))
	if err != nil {
		t.Fatal(err)
	}
	add(v2)
	res, err := s.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: deptA, LicenceIDs: []string{batch[0].ID, batch[1].ID}, LogOrigin: originA}, reissueBuilder(f))
	if err != nil {
		t.Fatal(err)
	}
	add(res[0].New, res[1].New)
	key, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000c1", store.KeyActive), ev("key.add", "c1"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SignDocument(ctx, store.DocumentParams{DepartmentCode: deptA, KeyID: key.ID, LogOrigin: originA}, f.docBuilder(deptA, key.ID, "DOCLOG0000000001", nil))
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, store.DocumentLeaf(&d))
	// Not logged: no origin.
	f.issue(deptA, typeBL, "N1")
	// Another department's log.
	lb, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: typeBL, LogOrigin: originB}, f.builder(deptB, typeBL, "L3"))
	if err != nil {
		t.Fatal(err)
	}
	f.wantLog(originA, want)
	f.wantLog(originB, []tlog.Leaf{store.LicenceLeaf(&lb)})
	if _, err := s.LookupLeaf(ctx, originB, want[0].Hash()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lookup of A's leaf in B's log: %v, want ErrNotFound", err)
	}
	if _, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, LogOrigin: "bad origin"}, f.builder(deptA, typeBL, "X")); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("invalid origin: %v, want ErrInvalid", err)
	}
}

// testLogCheckpoints: checkpoints are insert only (the second of a size is
// ignored), read back as the latest and by size, and a lookup names the
// smallest co-signed checkpoint whose tree includes the leaf.
func testLogCheckpoints(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	if _, err := s.LatestCheckpoint(ctx, originA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("latest of an empty history: %v", err)
	}
	var ls []store.Licence
	for i := range 5 {
		l, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, LogOrigin: originA}, f.builder(deptA, typeBL, fmt.Sprint("C", i)))
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	cp := func(size uint64, tag string) store.LogCheckpoint {
		return store.LogCheckpoint{Origin: originA, Size: size, Note: []byte("note " + tag), CosignedNote: []byte("cosigned " + tag), SignedAt: base}
	}
	for _, c := range []store.LogCheckpoint{cp(2, "a"), cp(4, "b")} {
		if ok, err := s.AddCheckpoint(ctx, c); err != nil || !ok {
			t.Fatalf("add %d: %v, %v", c.Size, ok, err)
		}
	}
	if ok, err := s.AddCheckpoint(ctx, cp(4, "other")); err != nil || ok {
		t.Fatalf("second checkpoint of size 4: stored %v, %v; want ignored", ok, err)
	}
	if _, err := s.AddCheckpoint(ctx, store.LogCheckpoint{Origin: originA, Size: 5}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("checkpoint without notes: %v, want ErrInvalid", err)
	}
	latest, err := s.LatestCheckpoint(ctx, originA)
	if err != nil || latest.Size != 4 || !bytes.Equal(latest.CosignedNote, []byte("cosigned b")) || !bytes.Equal(latest.Note, []byte("note b")) {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	if c, err := s.CheckpointOfSize(ctx, originA, 2); err != nil || string(c.CosignedNote) != "cosigned a" || !c.SignedAt.Equal(store.Timestamp(base)) {
		t.Errorf("checkpoint of size 2: %+v, %v", c, err)
	}
	if _, err := s.CheckpointOfSize(ctx, originA, 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("checkpoint of size 3: %v, want ErrNotFound", err)
	}
	for i, want := range []struct {
		size uint64
		ok   bool
	}{{2, true}, {2, true}, {4, true}, {4, true}, {0, false}} {
		loc, err := s.LookupLeaf(ctx, originA, store.LicenceLeaf(&ls[i]).Hash())
		if err != nil || loc.Index != uint64(i) || loc.CheckpointSize != want.size || loc.Checkpointed != want.ok {
			t.Errorf("lookup of leaf %d: %+v, %v; want checkpoint %d", i, loc, err, want.size)
		}
	}
	if _, err := s.LookupLeaf(ctx, originA, make([]byte, 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lookup of an unknown hash: %v, want ErrNotFound", err)
	}
}

// testLogKeys: a department has one checkpoint key; a second is refused.
func testLogKeys(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	if _, err := s.LogKey(ctx, deptA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key before any: %v", err)
	}
	k := store.LogKey{DepartmentCode: deptA, Origin: originA, PublicKey: []byte("spki"), PrivateKeyPEM: []byte("encrypted pem")}
	before := f.auditLen()
	if _, err := s.AddLogKey(ctx, k, ev("log.key", deptA)); err != nil {
		t.Fatal(err)
	}
	if f.auditLen() != before+1 {
		t.Error("AddLogKey appended no audit entry")
	}
	if _, err := s.AddLogKey(ctx, k, ev("log.key", deptA)); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second key: %v, want ErrDuplicate", err)
	}
	if _, err := s.AddLogKey(ctx, store.LogKey{DepartmentCode: deptB, Origin: originA, PublicKey: []byte("x"), PrivateKeyPEM: []byte("y")}, ev("log.key", deptB)); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("another department's origin: %v, want ErrDuplicate", err)
	}
	if _, err := s.AddLogKey(ctx, store.LogKey{DepartmentCode: "NOPE", Origin: "x/tlog/NOPE", PublicKey: []byte("x"), PrivateKeyPEM: []byte("y")}, ev("log.key", "NOPE")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key of an unknown department: %v, want ErrNotFound", err)
	}
	got, err := s.LogKey(ctx, deptA)
	if err != nil || got.Origin != originA || !bytes.Equal(got.PublicKey, k.PublicKey) || !bytes.Equal(got.PrivateKeyPEM, k.PrivateKeyPEM) || got.CreatedAt.IsZero() {
		t.Errorf("key read back: %+v, %v", got, err)
	}
}

// testLogConcurrent: single issuances (gathered into groups where the
// store does so), idempotent ones and batches, concurrently, get distinct
// gapless indices, and the log holds exactly the licences stored.
func testLogConcurrent(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	const workers, each = 4, 8
	var mu sync.Mutex
	stored := map[tlog.Leaf]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for j := range each {
				p := store.IssueParams{DepartmentCode: deptA, TypeCode: typeBL, LogOrigin: originA}
				var ls []store.Licence
				var err error
				switch j % 3 {
				case 0:
					var l store.Licence
					l, err = s.IssueLicence(ctx, p, f.builder(deptA, typeBL, fmt.Sprint("W", w, j)))
					ls = []store.Licence{l}
				case 1:
					p.IdempotencyKey, p.RequestHash = fmt.Sprint("k", w, j), []byte{1}
					var l store.Licence
					l, err = s.IssueLicence(ctx, p, f.builder(deptA, typeBL, fmt.Sprint("W", w, j)))
					ls = []store.Licence{l}
				default:
					ls, err = s.IssueBatch(ctx, p, 3, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
						l := newLicence(deptA, typeBL, fmt.Sprint("W", w, j, i), a, f.nextTime())
						return l, ev("licence.issue", l.ID), nil
					})
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for i := range ls {
					stored[store.LicenceLeaf(&ls[i])] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := s.LogState(ctx, originA)
	if err != nil || st.Size != uint64(len(stored)) {
		t.Fatalf("log size %d (%v), %d licences stored", st.Size, err, len(stored))
	}
	got, err := s.LogLeaves(ctx, originA, 0, st.Size)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[tlog.Leaf]bool{}
	for _, l := range got {
		if !stored[l] || seen[l] {
			t.Fatal("a leaf of no stored licence, or twice")
		}
		seen[l] = true
	}
	f.wantLog(originA, got)
}

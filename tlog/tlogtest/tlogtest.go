// Package tlogtest is the conformance suite every store's implementation of
// the issuance-log seam ([tlog.Tx] and [tlog.Reader]) must pass: the
// in-memory store runs it in tlog's tests, and the PostgreSQL and SQLite
// stores are to run it against a real database.
package tlogtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"elicence/tlog"

	"github.com/transparency-dev/merkle/proof"
)

// Store is a store under test: it runs a function in one transaction,
// committing if it returns nil and rolling back otherwise, and reads what
// was committed.
type Store interface {
	tlog.Reader
	Update(ctx context.Context, fn func(ctx context.Context, tx tlog.Tx) error) error
}

const (
	originA = "issuer.test/tlog/A1"
	originB = "issuer.test/tlog/B2"
)

func leaf(i int) tlog.Leaf {
	return tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "object %d", i))
}

func appendLeaves(ctx context.Context, s Store, origin string, from, to int) error {
	var ls []tlog.Leaf
	for i := from; i < to; i++ {
		ls = append(ls, leaf(i))
	}
	return s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		first, _, err := tlog.Append(ctx, tx, origin, ls)
		if err == nil && first != uint64(from) {
			err = fmt.Errorf("first index %d, want %d", first, from)
		}
		return err
	})
}

// Run runs the suite; newStore returns an empty store for each test.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("AppendAndRead", func(t *testing.T) { testAppendAndRead(t, newStore(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, newStore(t)) })
	t.Run("RefusesOverwrite", func(t *testing.T) { testRefusesOverwrite(t, newStore(t)) })
	t.Run("ConcurrentAppenders", func(t *testing.T) { testConcurrent(t, newStore(t)) })
}

// testAppendAndRead: appends across a tile boundary read back as the same
// leaves, hashes and state, proofs from its tiles verify, and two logs in
// one store stay apart.
func testAppendAndRead(t *testing.T, s Store) {
	ctx := context.Background()
	if st, err := s.LogState(ctx, originA); err != nil || st.Size != 0 {
		t.Fatalf("empty log: %+v, %v", st, err)
	}
	for _, r := range [][2]int{{0, 1}, {1, 200}, {200, 257}, {257, 600}} {
		if err := appendLeaves(ctx, s, originA, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := appendLeaves(ctx, s, originB, 0, 3); err != nil {
		t.Fatal(err)
	}
	st, err := s.LogState(ctx, originA)
	if err != nil || st.Size != 600 {
		t.Fatalf("state %+v, %v", st, err)
	}
	ls, err := s.LogLeaves(ctx, originA, 250, 10)
	if err != nil || len(ls) != 10 || ls[0] != leaf(250) || ls[9] != leaf(259) {
		t.Fatalf("leaves 250..259: %v", err)
	}
	hs, err := s.LogHashes(ctx, originA, 0, 599, 1)
	if err != nil || !bytes.Equal(hs[0], leaf(599).Hash()) {
		t.Fatalf("leaf hash 599: %v", err)
	}
	if _, err := s.LogHashes(ctx, originA, 8, 0, 3); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("level-8 hash 2 of a 600-leaf tree: %v, want ErrNotFound", err)
	}
	if _, err := s.LogLeaves(ctx, originA, 595, 6); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("leaves past the end: %v, want ErrNotFound", err)
	}
	if st, _ := s.LogState(ctx, originB); st.Size != 3 {
		t.Errorf("second log has %d leaves, want 3", st.Size)
	}
	fetch := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, s, originA, level, index, p)
	}
	pb := tlog.NewProofBuilder(600, fetch)
	for _, i := range []uint64{0, 255, 256, 511, 599} {
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(tlog.Hasher, i, 600, leaf(int(i)).Hash(), p, st.Root); err != nil {
			t.Errorf("inclusion of %d: %v", i, err)
		}
	}
}

// testRollback: a transaction that fails after appending leaves no trace,
// and the next append continues from the committed state.
func testRollback(t *testing.T, s Store) {
	ctx := context.Background()
	if err := appendLeaves(ctx, s, originA, 0, 5); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("licence insert failed")
	err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		if _, _, err := tlog.Append(ctx, tx, originA, []tlog.Leaf{leaf(99)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: %v", err)
	}
	if st, _ := s.LogState(ctx, originA); st.Size != 5 {
		t.Fatalf("size %d after a rollback, want 5", st.Size)
	}
	if err := appendLeaves(ctx, s, originA, 5, 6); err != nil {
		t.Fatal(err)
	}
}

// testRefusesOverwrite: a store refuses an entry or hash at an index it
// already holds, as a primary key does, instead of overwriting history.
func testRefusesOverwrite(t *testing.T, s Store) {
	ctx := context.Background()
	if err := appendLeaves(ctx, s, originA, 0, 3); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		st, err := tx.LockLog(ctx, originA)
		if err != nil {
			return err
		}
		forged := tlog.NewLeaf(tlog.KindCredential, []byte("forged"))
		return tx.AppendLog(ctx, originA, []tlog.Entry{{Index: 1, Leaf: forged}}, []tlog.Node{{Level: 0, Index: 1, Hash: forged.Hash()}}, st)
	})
	if err == nil {
		t.Fatal("store overwrote leaf 1")
	}
	if ls, _ := s.LogLeaves(ctx, originA, 1, 1); len(ls) != 1 || ls[0] != leaf(1) {
		t.Fatal("leaf 1 changed")
	}
}

// testConcurrent: appenders on several connections get distinct, gapless
// indices, and the state is the tree of the leaves in index order.
func testConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				l := leaf(1000 + w*each + j)
				errs <- s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
					_, _, err := tlog.Append(ctx, tx, originA, []tlog.Leaf{l})
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.LogState(ctx, originA)
	if err != nil || st.Size != workers*each {
		t.Fatalf("state %+v, %v", st, err)
	}
	ls, err := s.LogLeaves(ctx, originA, 0, workers*each)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[tlog.Leaf]bool{}
	var tree [][]byte
	for _, l := range ls {
		if seen[l] {
			t.Fatal("a leaf appended twice")
		}
		seen[l] = true
		tree = append(tree, l.Hash())
	}
	// Recompute the root from the leaves read back.
	for len(tree) > 1 {
		var next [][]byte
		// RFC 9162 MTH by levels: pair left to right, carry an odd one up.
		for i := 0; i+1 < len(tree); i += 2 {
			next = append(next, tlog.Hasher.HashChildren(tree[i], tree[i+1]))
		}
		if len(tree)%2 == 1 {
			next = append(next, tree[len(tree)-1])
		}
		tree = next
	}
	if !bytes.Equal(tree[0], st.Root) {
		t.Fatal("root does not match the leaves in index order")
	}
}

package tlog_test

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"elicence/tlog"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/testonly"
)

// The reference below is RFC 9162 section 2.1 written out recursively, with
// SM3 called directly, so that it shares no code with the package.

func refLeafHash(leaf []byte) []byte {
	h := sm3.Sum(append([]byte{0x00}, leaf...))
	return h[:]
}

func refNode(l, r []byte) []byte {
	h := sm3.Sum(append(append([]byte{0x01}, l...), r...))
	return h[:]
}

// split is k, the largest power of two smaller than n (n > 1).
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// ref evaluates the RFC 9162 definitions over leaves, memoising MTH of each
// subrange D[lo:hi] so that all proofs of 300 trees stay cheap.
type ref struct {
	d    [][]byte
	memo map[[2]int][]byte
}

func newRef(d [][]byte) *ref { return &ref{d: d, memo: map[[2]int][]byte{}} }

// mth is MTH(D[lo:hi]).
func (r *ref) mth(lo, hi int) []byte {
	if h, ok := r.memo[[2]int{lo, hi}]; ok {
		return h
	}
	var h []byte
	switch hi - lo {
	case 0:
		s := sm3.Sum(nil)
		h = s[:]
	case 1:
		h = refLeafHash(r.d[lo])
	default:
		k := split(hi - lo)
		h = refNode(r.mth(lo, lo+k), r.mth(lo+k, hi))
	}
	r.memo[[2]int{lo, hi}] = h
	return h
}

// path is PATH(m, D[lo:hi]).
func (r *ref) path(m, lo, hi int) [][]byte {
	if hi-lo <= 1 {
		return nil
	}
	k := split(hi - lo)
	if m < k {
		return append(r.path(m, lo, lo+k), r.mth(lo+k, hi))
	}
	return append(r.path(m-k, lo+k, hi), r.mth(lo, lo+k))
}

// subproof is SUBPROOF(m, D[lo:hi], b).
func (r *ref) subproof(m, lo, hi int, b bool) [][]byte {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return [][]byte{r.mth(lo, hi)}
	}
	k := split(n)
	if m <= k {
		return append(r.subproof(m, lo, lo+k, b), r.mth(lo+k, hi))
	}
	return append(r.subproof(m-k, lo+k, hi, false), r.mth(lo, lo+k))
}

// consistency is PROOF(m, D[0:n]).
func (r *ref) consistency(m, n int) [][]byte {
	if m == 0 || m == n {
		return nil
	}
	return r.subproof(m, 0, n, true)
}

// refMTH is MTH(D) without memo, for one-off roots.
func refMTH(d [][]byte) []byte { return newRef(d).mth(0, len(d)) }

func leafN(i int) tlog.Leaf {
	kind := tlog.KindCredential
	if i%3 == 2 {
		kind = tlog.KindDocumentReceipt
	}
	return tlog.NewLeaf(kind, fmt.Appendf(nil, "signed object %d", i))
}

// logOf appends n leaves to a fresh memory store in batches of varying size
// and returns it with the encoded leaves.
func logOf(t testing.TB, origin string, n int, leaf func(int) tlog.Leaf) (*tlog.MemoryStore, [][]byte) {
	t.Helper()
	ctx := context.Background()
	s := tlog.NewMemoryStore()
	var data [][]byte
	for i := 0; i < n; {
		batch := min(1+i%7, n-i)
		var ls []tlog.Leaf
		for j := range batch {
			l := leaf(i + j)
			ls = append(ls, l)
			data = append(data, l.Marshal())
		}
		err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			first, _, err := tlog.Append(ctx, tx, origin, ls)
			if err == nil && first != uint64(i) {
				err = fmt.Errorf("first index %d, want %d", first, i)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		i += batch
	}
	return s, data
}

func fetcherOf(s tlog.Reader, origin string) tlog.TileFetcher {
	return func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, s, origin, level, index, p)
	}
}

func entriesOf(s tlog.Reader, origin string) tlog.EntryBundleFetcher {
	return func(ctx context.Context, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadEntryBundle(ctx, s, origin, index, p)
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

const testOrigin = "log.example.gov.cn/tlog/11000000"

// TestTreeAgainstRFC9162 checks, for every tree size 1..300, the root, every
// inclusion proof and every consistency proof that the tiles give against
// the RFC 9162 recursive definitions, and verifies each with the
// transparency-dev verifier (proof.VerifyInclusion, VerifyConsistency).
func TestTreeAgainstRFC9162(t *testing.T) {
	ctx := context.Background()
	const max = 300
	s, data := logOf(t, testOrigin, max, leafN)
	fetch := fetcherOf(s, testOrigin)
	st, _ := s.LogState(ctx, testOrigin)
	if st.Size != max || !bytes.Equal(st.Root, refMTH(data)) {
		t.Fatalf("state size %d root %x, want %d %x", st.Size, st.Root, max, refMTH(data))
	}
	if !bytes.Equal(tlog.Hasher.EmptyRoot(), refMTH(nil)) {
		t.Fatal("empty root differs from SM3 of the empty string")
	}
	r := newRef(data)
	for n := 1; n <= max; n++ {
		root := r.mth(0, n)
		pb := tlog.NewProofBuilder(uint64(n), fetch)
		for m := 0; m < n; m++ {
			got, err := pb.InclusionProof(ctx, uint64(m))
			if err != nil {
				t.Fatalf("inclusion %d in %d: %v", m, n, err)
			}
			if want := r.path(m, 0, n); !equalProofs(got, want) {
				t.Fatalf("inclusion %d in %d: tiles and RFC 9162 differ", m, n)
			}
			if err := proof.VerifyInclusion(tlog.Hasher, uint64(m), uint64(n), refLeafHash(data[m]), got, root); err != nil {
				t.Fatalf("inclusion %d in %d: %v", m, n, err)
			}
		}
		for m := 0; m <= n; m++ {
			got, err := pb.ConsistencyProof(ctx, uint64(m), uint64(n))
			if err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
			if want := r.consistency(m, n); !equalProofs(got, want) {
				t.Fatalf("consistency %d→%d: tiles and RFC 9162 differ", m, n)
			}
			if err := proof.VerifyConsistency(tlog.Hasher, uint64(m), uint64(n), got, r.mth(0, m), root); err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
		}
	}
}

// TestTreeLargeRandomPairs goes past the first level-2 tile (65,536 leaves)
// and compares proofs from tiles with transparency-dev's in-memory tree,
// for random indices and random pairs of sizes.
func TestTreeLargeRandomPairs(t *testing.T) {
	ctx := context.Background()
	n := 70_000
	if testing.Short() {
		n = 5000
	}
	s, data := logOf(t, testOrigin, n, leafN)
	ref := testonly.New(tlog.Hasher)
	ref.AppendData(data...)
	fetch := fetcherOf(s, testOrigin)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		size2 := 1 + rng.Uint64N(uint64(n))
		size1 := rng.Uint64N(size2 + 1)
		index := rng.Uint64N(size2)
		pb := tlog.NewProofBuilder(size2, fetch)
		root2 := ref.HashAt(size2)
		got, err := pb.InclusionProof(ctx, index)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.InclusionProof(index, size2)
		if !equalProofs(got, want) {
			t.Fatalf("inclusion %d in %d differs from transparency-dev's tree", index, size2)
		}
		if err := proof.VerifyInclusion(tlog.Hasher, index, size2, ref.LeafHash(index), got, root2); err != nil {
			t.Fatal(err)
		}
		got, err = pb.ConsistencyProof(ctx, size1, size2)
		if err != nil {
			t.Fatal(err)
		}
		want, _ = ref.ConsistencyProof(size1, size2)
		if !equalProofs(got, want) {
			t.Fatalf("consistency %d→%d differs from transparency-dev's tree", size1, size2)
		}
		if err := proof.VerifyConsistency(tlog.Hasher, size1, size2, got, ref.HashAt(size1), root2); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProofTampering: a proof with one bit flipped, one hash missing, the
// wrong index or the wrong leaf is refused by the verifier.
func TestProofTampering(t *testing.T) {
	ctx := context.Background()
	s, data := logOf(t, testOrigin, 21, leafN)
	pb := tlog.NewProofBuilder(21, fetcherOf(s, testOrigin))
	root := refMTH(data)
	p, err := pb.InclusionProof(ctx, 13)
	if err != nil {
		t.Fatal(err)
	}
	leaf := refLeafHash(data[13])
	if err := proof.VerifyInclusion(tlog.Hasher, 13, 21, leaf, p, root); err != nil {
		t.Fatal(err)
	}
	for i := range p {
		bad := append([][]byte(nil), p...)
		bad[i] = append([]byte(nil), p[i]...)
		bad[i][0] ^= 1
		if proof.VerifyInclusion(tlog.Hasher, 13, 21, leaf, bad, root) == nil {
			t.Errorf("hash %d flipped: accepted", i)
		}
	}
	if proof.VerifyInclusion(tlog.Hasher, 13, 21, leaf, p[:len(p)-1], root) == nil {
		t.Error("short proof accepted")
	}
	if proof.VerifyInclusion(tlog.Hasher, 12, 21, leaf, p, root) == nil {
		t.Error("wrong index accepted")
	}
	if proof.VerifyInclusion(tlog.Hasher, 13, 21, refLeafHash(data[12]), p, root) == nil {
		t.Error("wrong leaf accepted")
	}
	c, _ := pb.ConsistencyProof(ctx, 6, 21)
	c[0][3] ^= 0x80
	if proof.VerifyConsistency(tlog.Hasher, 6, 21, c, refMTH(data[:6]), root) == nil {
		t.Error("tampered consistency proof accepted")
	}
	if _, err := pb.InclusionProof(ctx, 21); err == nil {
		t.Error("inclusion proof of an index beyond the tree")
	}
	if _, err := tlog.NewProofBuilder(22, fetcherOf(s, testOrigin)).InclusionProof(ctx, 0); err == nil {
		t.Error("proof from a tree larger than the log's")
	}
}

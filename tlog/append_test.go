package tlog_test

import (
	"context"
	"fmt"
	"testing"

	"elicence/tlog"
)

// TestAppendHashed: leaves hashed beforehand append to the same tree as
// leaves Append hashes itself, and a HashedLeaf not made by HashLeaves
// (the zero value) is refused rather than stored without its hash.
func TestAppendHashed(t *testing.T) {
	ctx := context.Background()
	const origin = "example.gov.cn/tlog/test"
	var leaves []tlog.Leaf
	for i := range 300 {
		leaves = append(leaves, tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "object %d", i)))
	}
	plain, hashed := tlog.NewMemoryStore(), tlog.NewMemoryStore()
	for _, part := range [][]tlog.Leaf{leaves[:1], leaves[1:257], leaves[257:]} {
		if err := plain.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			_, _, err := tlog.Append(ctx, tx, origin, part)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := hashed.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			_, _, err := tlog.AppendHashed(ctx, tx, origin, tlog.HashLeaves(part...))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := plain.LogState(ctx, origin)
	b, _ := hashed.LogState(ctx, origin)
	if a.Size != 300 || string(a.Root) != string(b.Root) || b.Size != a.Size {
		t.Fatalf("Append: size %d root %x; AppendHashed: size %d root %x", a.Size, a.Root, b.Size, b.Root)
	}
	for _, level := range []uint{0, 8} {
		n := uint64(300)
		if level == 8 {
			n = 1
		}
		ha, errA := plain.LogHashes(ctx, origin, level, 0, n)
		hb, errB := hashed.LogHashes(ctx, origin, level, 0, n)
		if errA != nil || errB != nil || fmt.Sprint(ha) != fmt.Sprint(hb) {
			t.Fatalf("level %d hashes differ: %v %v", level, errA, errB)
		}
	}
	err := hashed.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		_, _, err := tlog.AppendHashed(ctx, tx, origin, []tlog.HashedLeaf{{}})
		return err
	})
	if err == nil {
		t.Fatal("AppendHashed took a HashedLeaf without a hash")
	}
	if st, _ := hashed.LogState(ctx, origin); st.Size != 300 {
		t.Fatalf("size %d after a refused append, want 300", st.Size)
	}
}

package verifier

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"elicence/format"
	"elicence/tlog"
)

// benchLogSize is the tree size of the benchmarks' log.
const benchLogSize = 100_000

// BenchmarkLogProof measures proofs of existence per credential in a log
// of 100,000 leaves, served over loopback HTTP as the issuer serves it:
//
//   - inclusion: the check itself, leaf hash and RFC 9162 inclusion proof
//     (transparency-dev's verifier) under a checkpoint already verified;
//   - online-new: LogEvidence.Prove of a leaf it has not seen, the
//     checkpoint held: the lookup request, the tiles not yet held, the check;
//   - remembered: LogEvidence.Prove of a leaf proven before;
//   - verify: the whole verification of a credential signed by a key
//     compromised after it was logged, its proof remembered.
func BenchmarkLogProof(b *testing.B) {
	lw := newLogWorld(b, format.KeyCompromised)
	fill := make([][]byte, benchLogSize-logFill-1)
	for i := range fill {
		fill[i] = fmt.Appendf(nil, "bench %d", i)
	}
	lw.clock.Set(t0.Add(-2 * time.Hour))
	lw.log.Append(tlog.KindCredential, fill...)
	lw.log.Checkpoint()
	lw.clock.Set(t0)
	ctx := context.Background()
	st, _ := lw.log.Store.LogState(ctx, lw.log.Origin)
	dept := &lw.trust.List.Departments[0]
	before := t0.Add(-time.Hour)
	leafOf := func(i int) tlog.Leaf { return tlog.NewLeaf(tlog.KindCredential, fill[i%len(fill)]) }

	b.Run("inclusion", func(b *testing.B) {
		tiles := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
			return tlog.ReadTile(ctx, lw.log.Store, lw.log.Origin, level, index, p)
		}
		const idx = benchLogSize / 3
		path, err := tlog.NewProofBuilder(st.Size, tiles).InclusionProof(ctx, idx)
		if err != nil {
			b.Fatal(err)
		}
		leaf := leafOf(idx - logFill - 1)
		b.ReportAllocs()
		for b.Loop() {
			if err := proof.VerifyInclusion(tlog.Hasher, idx, st.Size, leaf.Hash(), path, st.Root); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("online-new", func(b *testing.B) {
		ev := NewLogEvidence(LogConfig{})
		if _, err := ev.Prove(ctx, lw.trust, dept, leafOf(0), before); err != nil {
			b.Fatal(err)
		}
		i := 1
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Prove(ctx, lw.trust, dept, leafOf(i), before); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("remembered", func(b *testing.B) {
		ev := NewLogEvidence(LogConfig{})
		if _, err := ev.Prove(ctx, lw.trust, dept, leafOf(0), before); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Prove(ctx, lw.trust, dept, leafOf(0), before); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		cfg := lw.cfg(NewLogEvidence(LogConfig{}))
		text := format.QRText(format.KindCredential, lw.a)
		b.ReportAllocs()
		for b.Loop() {
			if r := Verify(ctx, text, cfg); r.Indication != Passed || r.LogProof == nil {
				b.Fatalf("%s %s %s", r.Indication, r.SubIndication, r.Reason)
			}
		}
	})
}

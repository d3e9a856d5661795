package tlog_test

import (
	"context"
	"testing"
	"time"

	"elicence/tlog"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// BenchmarkVerifyInclusion is the Merkle part of checking one credential:
// hashing its leaf and verifying its inclusion proof in a tree of 100,000
// leaves (17 hashes).
func BenchmarkVerifyInclusion(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	s, _ := logOf(b, testOrigin, n, leafN)
	st, _ := s.LogState(ctx, testOrigin)
	leaf := leafN(54_321)
	p, err := tlog.NewProofBuilder(n, fetcherOf(s, testOrigin)).InclusionProof(ctx, 54_321)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := proof.VerifyInclusion(tlog.Hasher, 54_321, n, leaf.Hash(), p, st.Root); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/credential")
}

// BenchmarkProveExistence is the whole check for one credential when the
// checkpoint is not cached: the department's SM2 signature and the
// witness's SM2 cosignature on the checkpoint, then the inclusion proof.
func BenchmarkProveExistence(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	d, w := department(b), witnessAt(b, &now)
	wit := &tlog.Witness{Cosigner: w.signer, Logs: map[string]note.Verifier{testOrigin: d.verifier}}
	s, _ := logOf(b, testOrigin, n, leafN)
	_, cosigned, err := wit.Cosign(signedCheckpoint(b, s, d), testOrigin, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := tlog.NewProofBuilder(n, fetcherOf(s, testOrigin)).InclusionProof(ctx, 54_321)
	ip := tlog.InclusionProof{Leaf: leafN(54_321), Index: 54_321, Proof: p, Checkpoint: cosigned}
	T := now.Add(time.Hour)
	b.ResetTimer()
	for b.Loop() {
		if _, err := tlog.ProveExistence(ip, testOrigin, d.verifier, w.verifier, T); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/credential")
}

// BenchmarkAppend measures the seam alone: Append of batches of 1,000
// leaves (hashing, compact range, node rows) into the in-memory store, as
// bulk issuance appends a batch per transaction.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := tlog.NewMemoryStore()
	batch := make([]tlog.Leaf, 1000)
	for i := range batch {
		batch[i] = leafN(i)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			_, _, err := tlog.Append(ctx, tx, testOrigin, batch)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkAppendOne is one leaf per transaction, the single-issue path.
func BenchmarkAppendOne(b *testing.B) {
	ctx := context.Background()
	s := tlog.NewMemoryStore()
	l := []tlog.Leaf{leafN(1)}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			_, _, err := tlog.Append(ctx, tx, testOrigin, l)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkNewLeaf is the issuer's other cost per licence: SM3 over a
// 400-byte signed object to make its leaf.
func BenchmarkNewLeaf(b *testing.B) {
	obj := make([]byte, 400)
	for b.Loop() {
		_ = tlog.NewLeaf(tlog.KindCredential, obj)
	}
}

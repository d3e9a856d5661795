package tlog_test

import (
	"context"
	"fmt"
	"time"

	"elicence/keys"
	"elicence/tlog"

	"golang.org/x/mod/sumdb/note"
)

// Example walks the log's life: the issuer appends a credential's leaf in
// the transaction that stores it and signs a checkpoint, the trust-list
// operator co-signs it, and later a verifier proves from tiles that the
// credential existed before its key was compromised.
func Example() {
	ctx := context.Background()
	const origin = "issuer.example.gov.cn/tlog/11000000"
	deptKey, _ := keys.Generate(nil)
	witnessKey, _ := keys.Generate(nil)
	clock := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

	// Issuer: the credential's leaf goes in with the licence.
	store := tlog.NewMemoryStore()
	credential := []byte("the signed credential's exact bytes")
	_ = store.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		// … insert the licence row in the same transaction …
		_, _, err := tlog.Append(ctx, tx, origin, []tlog.Leaf{tlog.NewLeaf(tlog.KindCredential, credential)})
		return err
	})
	st, _ := store.LogState(ctx, origin)
	signer, _ := tlog.NewNoteSigner(origin, deptKey)
	cp, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: st.Size, Hash: st.Root}, signer)

	// Trust-list operator: co-sign after checking the department's signature.
	deptVKey, _ := tlog.VerifierKey(origin, tlog.NoteSigType, &deptKey.PublicKey)
	deptVerifier, _ := tlog.NewNoteVerifier(deptVKey)
	cosigner, _ := tlog.NewCosigner("trust.example.gov.cn/witness", witnessKey, func() time.Time { return clock })
	w := &tlog.Witness{Cosigner: cosigner, Logs: map[string]note.Verifier{origin: deptVerifier}}
	_, cosigned, _ := w.Cosign(cp, origin, nil, nil)

	// Verifier: the key is marked compromised a day later.
	witnessVKey, _ := tlog.VerifierKey("trust.example.gov.cn/witness", tlog.CosigSigType, &witnessKey.PublicKey)
	witnessVerifier, _ := tlog.NewCosigVerifier(witnessVKey)
	tiles := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, store, origin, level, index, p) // or an HTTP GET of tlog.TilePath(level, index, p)
	}
	proof, _ := tlog.NewProofBuilder(st.Size, tiles).InclusionProof(ctx, 0)
	ex, err := tlog.ProveExistence(tlog.InclusionProof{
		Leaf: tlog.NewLeaf(tlog.KindCredential, credential), Index: 0, Proof: proof, Checkpoint: cosigned,
	}, origin, deptVerifier, witnessVerifier, clock.Add(24*time.Hour))
	fmt.Println(err, ex.Checkpoint.Size, ex.CosignedAt.Format(time.RFC3339))
	// Output: <nil> 1 2026-11-01T09:00:00Z
}

package tlog

import (
	"errors"
	"fmt"
	"time"

	tlogproof "github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Outcomes of [ProveExistence] other than success; each is wrapped with the
// detail.
var (
	// ErrNotIncluded: the inclusion proof does not lead to the checkpoint's root.
	ErrNotIncluded = errors.New("object not proven in the log")
	// ErrNoCosignature: the checkpoint carries no valid cosignature by the witness.
	ErrNoCosignature = errors.New("checkpoint not co-signed by the witness")
	// ErrCosignedTooLate: the witness co-signed the checkpoint at or after the time asked.
	ErrCosignedTooLate = errors.New("checkpoint co-signed too late")
)

// InclusionProof is what a verifier needs to show that a leaf is in a log:
// the leaf, its index, the proof and the checkpoint note it leads to. An
// offline bundle carries it; online, [ProofBuilder] gets Proof from tiles.
type InclusionProof struct {
	Leaf       Leaf
	Index      uint64
	Proof      [][]byte
	Checkpoint []byte
}

// Existence says which checkpoint proved an object existed, and since when.
type Existence struct {
	// Checkpoint is the co-signed checkpoint that includes the object.
	Checkpoint Checkpoint
	// Index is the leaf's index in the log.
	Index uint64
	// Witness names the witness key whose cosignature dates it.
	Witness string
	// CosignedAt is the witness's time: the object existed by then.
	CosignedAt time.Time
}

// ProveExistence decides whether the object of p.Leaf provably existed
// before t: p.Checkpoint must be signed by logKey (the department's log key
// from the trust list) for origin, co-signed by witness with a timestamp
// strictly before t, and p.Proof must lead from the leaf at p.Index to its
// root. The department's signature may be by a key compromised since: the
// witness's timestamp is what dates the checkpoint. Any failure is an
// error; there is no partial answer.
func ProveExistence(p InclusionProof, origin string, logKey, witness note.Verifier, t time.Time) (Existence, error) {
	if witness == nil {
		return Existence{}, fmt.Errorf("proof of existence: %w: no witness key configured", ErrNoCosignature)
	}
	cp, err := OpenCheckpoint(p.Checkpoint, origin, logKey, witness)
	if err != nil {
		return Existence{}, fmt.Errorf("proof of existence: %w", err)
	}
	var cosig *Cosignature
	for i := range cp.Cosignatures {
		if cp.Cosignatures[i].Name == witness.Name() {
			cosig = &cp.Cosignatures[i]
			break
		}
	}
	if cosig == nil {
		return Existence{}, fmt.Errorf("proof of existence: %w (%s)", ErrNoCosignature, witness.Name())
	}
	if !cosig.Time.Before(t) {
		return Existence{}, fmt.Errorf("proof of existence: %w: %s at %s, not before %s", ErrCosignedTooLate, cosig.Name, cosig.Time.Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	if !p.Leaf.Kind.valid() {
		return Existence{}, fmt.Errorf("proof of existence: %w: unknown leaf kind", ErrNotIncluded)
	}
	if err := proof.VerifyInclusion(Hasher, p.Index, cp.Size, p.Leaf.Hash(), p.Proof, cp.Hash); err != nil {
		return Existence{}, fmt.Errorf("proof of existence: %w: leaf %d in size %d: %v", ErrNotIncluded, p.Index, cp.Size, err)
	}
	return Existence{Checkpoint: cp.Checkpoint, Index: p.Index, Witness: cosig.Name, CosignedAt: cosig.Time}, nil
}

// Marshal encodes p as a C2SP tlog-proof (c2sp.org/tlog-proof@v1, the
// transparency-dev encoding): the leaf as its extra data, the index, the
// proof hashes, then the checkpoint note. An offline bundle may carry it.
func (p InclusionProof) Marshal() ([]byte, error) {
	tp := tlogproof.TLogProof{Index: p.Index, Checkpoint: p.Checkpoint, ExtraData: p.Leaf.Marshal()}
	for i, h := range p.Proof {
		if len(h) != HashSize {
			return nil, fmt.Errorf("inclusion proof: hash %d is %d bytes, want %d", i, len(h), HashSize)
		}
		tp.Hashes = append(tp.Hashes, [HashSize]byte(h))
	}
	return tp.Marshal(), nil
}

// ParseInclusionProof decodes what [InclusionProof.Marshal] writes. It
// checks the form only; [ProveExistence] checks the proof.
func ParseInclusionProof(b []byte) (InclusionProof, error) {
	var tp tlogproof.TLogProof
	if err := tp.Unmarshal(b); err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	if tp.ExtraData == nil {
		return InclusionProof{}, errors.New("inclusion proof: no leaf")
	}
	l, err := ParseLeaf(tp.ExtraData)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	p := InclusionProof{Leaf: l, Index: tp.Index, Checkpoint: tp.Checkpoint}
	for _, h := range tp.Hashes {
		p.Proof = append(p.Proof, append([]byte(nil), h[:]...))
	}
	return p, nil
}

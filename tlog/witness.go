package tlog

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// ErrInconsistent reports two checkpoints of one log that the log cannot
// prove to be one history: a consistency proof failed, or the tiles do not
// hash to the checkpoint's root.
var ErrInconsistent = errors.New("checkpoints are not consistent")

// ErrFork reports two checkpoints signed by the log with the same size and
// different roots: proof, by the log's own signatures, of two histories.
var ErrFork = errors.New("fork: two checkpoints of the same size with different roots")

// ForkError carries the evidence of [ErrFork] or [ErrInconsistent]: the two
// signed notes.
type ForkError struct {
	Err      error // ErrFork or ErrInconsistent, possibly wrapping the cause
	Old, New Checkpoint
	OldNote  []byte
	NewNote  []byte
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("%v: %s size %d root %x, then size %d root %x", e.Err, e.Old.Origin, e.Old.Size, e.Old.Hash, e.New.Size, e.New.Hash)
}

func (e *ForkError) Unwrap() error { return e.Err }

// CheckConsistency verifies that the checkpoint newer extends older, with
// the RFC 9162 consistency proof between them (transparency-dev's
// verifier). Equal sizes need equal roots and an empty proof.
func CheckConsistency(older, newer SignedCheckpoint, consistency [][]byte) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("consistency: origins %q and %q differ", older.Origin, newer.Origin)
	}
	if older.Size > newer.Size {
		older, newer = newer, older
	}
	if older.Size == newer.Size {
		if !bytes.Equal(older.Hash, newer.Hash) {
			return &ForkError{Err: ErrFork, Old: older.Checkpoint, New: newer.Checkpoint, OldNote: older.Note, NewNote: newer.Note}
		}
		if len(consistency) != 0 {
			return fmt.Errorf("consistency: %w: proof given for equal sizes", ErrInconsistent)
		}
		return nil
	}
	if older.Size == 0 {
		// Every tree extends the empty one; its root must be the empty root.
		if !bytes.Equal(older.Hash, Hasher.EmptyRoot()) {
			return &ForkError{Err: fmt.Errorf("%w: empty tree with a non-empty root", ErrInconsistent), Old: older.Checkpoint, New: newer.Checkpoint, OldNote: older.Note, NewNote: newer.Note}
		}
		return nil
	}
	if err := proof.VerifyConsistency(Hasher, older.Size, newer.Size, consistency, older.Hash, newer.Hash); err != nil {
		return &ForkError{Err: fmt.Errorf("%w: %v", ErrInconsistent, err), Old: older.Checkpoint, New: newer.Checkpoint, OldNote: older.Note, NewNote: newer.Note}
	}
	return nil
}

// Witness is the trust-list operator's co-signing of department logs: it
// co-signs a checkpoint only when it is signed by the department's log key
// and consistent with the last checkpoint the witness co-signed for that
// log, so that no department can show two histories to two audiences. The
// caller keeps that last checkpoint durably, per origin, and must store
// the returned one before handing out the cosignature.
type Witness struct {
	// Cosigner signs ([NewCosigner]).
	Cosigner note.Signer
	// Logs maps each origin the witness serves to the log's note key.
	Logs map[string]note.Verifier
}

// Cosign checks the checkpoint note msg against last (the last checkpoint
// co-signed for its origin; nil if none) and the consistency proof from it,
// and returns the checkpoint and msg's note with the witness cosignature
// added after the log's signature.
func (w *Witness) Cosign(msg []byte, origin string, last *SignedCheckpoint, consistency [][]byte) (SignedCheckpoint, []byte, error) {
	if w.Cosigner == nil {
		return SignedCheckpoint{}, nil, errors.New("witness: no cosigner")
	}
	logKey, ok := w.Logs[origin]
	if !ok || logKey == nil {
		return SignedCheckpoint{}, nil, fmt.Errorf("witness: unknown log %q", origin)
	}
	cp, err := OpenCheckpoint(msg, origin, logKey)
	if err != nil {
		return SignedCheckpoint{}, nil, fmt.Errorf("witness: %w", err)
	}
	if last != nil {
		if cp.Size < last.Size {
			return SignedCheckpoint{}, nil, fmt.Errorf("witness: size %d older than the co-signed %d", cp.Size, last.Size)
		}
		if err := CheckConsistency(*last, cp, consistency); err != nil {
			return SignedCheckpoint{}, nil, fmt.Errorf("witness: %w", err)
		}
	}
	n, err := note.Open(msg, note.VerifierList(logKey))
	if err != nil {
		return SignedCheckpoint{}, nil, fmt.Errorf("witness: %w", err)
	}
	out, err := note.Sign(n, w.Cosigner)
	if err != nil {
		return SignedCheckpoint{}, nil, fmt.Errorf("witness: %w", err)
	}
	return cp, out, nil
}

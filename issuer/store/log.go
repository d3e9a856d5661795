package store

import (
	"context"
	"fmt"
	"time"

	"elicence/tlog"
)

// LogStore holds the departments' issuance logs (docs/FORMAT.md §17). The
// leaves are appended by the methods that store what they commit to
// (IssueLicence, IssueBatch, ReissueLicence, ReissueBatch, SignDocument),
// in the same transaction, when their parameters name a log (LogOrigin);
// this group reads the logs and keeps their checkpoints and keys.
type LogStore interface {
	// Reader reads the committed leaves, hashes and state of a log, for
	// its tiles and entry bundles.
	tlog.Reader

	// AddLogKey stores a department's log origin and checkpoint key and
	// appends audit. It returns ErrDuplicate if the department has one (a
	// concurrent process made it first: read it back with LogKey) or the
	// origin is another department's, and ErrNotFound for an unknown
	// department.
	AddLogKey(ctx context.Context, k LogKey, audit AuditEvent) (LogKey, error)
	// LogKey returns the department's log origin and checkpoint key, or
	// ErrNotFound.
	LogKey(ctx context.Context, dept string) (LogKey, error)

	// AddCheckpoint stores a co-signed checkpoint unless one of the same
	// origin and size is stored already (another process signed it
	// first); stored says which. Checkpoints are never changed.
	AddCheckpoint(ctx context.Context, c LogCheckpoint) (stored bool, err error)
	// LatestCheckpoint returns the log's co-signed checkpoint of the
	// largest size, or ErrNotFound if it has none.
	LatestCheckpoint(ctx context.Context, origin string) (LogCheckpoint, error)
	// CheckpointOfSize returns the log's co-signed checkpoint of exactly
	// that size, or ErrNotFound.
	CheckpointOfSize(ctx context.Context, origin string, size uint64) (LogCheckpoint, error)
	// LookupLeaf finds the leaf whose RFC 9162 leaf hash is hash in the
	// log, and the smallest co-signed checkpoint that includes it; it
	// returns ErrNotFound if the log has no such leaf.
	LookupLeaf(ctx context.Context, origin string, hash []byte) (LeafLocation, error)
}

// LogKey is a department's checkpoint key: an SM2 key of its own, not one
// of the department's signing keys, that signs the log's checkpoints.
type LogKey struct {
	DepartmentCode string
	// Origin is the department's log origin, fixed when the key is made.
	Origin string
	// PublicKey is the SubjectPublicKeyInfo DER.
	PublicKey []byte
	// PrivateKeyPEM is the encrypted PKCS#8 PEM, opaque to the store.
	PrivateKeyPEM []byte
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// LogCheckpoint is a signed checkpoint of a log as the issuer keeps it.
type LogCheckpoint struct {
	Origin string
	Size   uint64
	// Note is the checkpoint note signed by the department's checkpoint
	// key; CosignedNote the same with the witness cosignature added.
	Note         []byte
	CosignedNote []byte
	// SignedAt is when the issuer signed it.
	SignedAt time.Time
}

// Validate checks what AddCheckpoint stores.
func (c LogCheckpoint) Validate() error {
	if !tlog.ValidOrigin(c.Origin) {
		return invalidf("checkpoint: invalid origin %q", c.Origin)
	}
	if len(c.Note) == 0 || len(c.CosignedNote) == 0 {
		return invalidf("checkpoint %s/%d: note and co-signed note are required", c.Origin, c.Size)
	}
	if c.Size > 1<<62 {
		return invalidf("checkpoint %s: size %d out of range", c.Origin, c.Size)
	}
	return nil
}

// LeafLocation is where LookupLeaf found a leaf.
type LeafLocation struct {
	// Index is the leaf's index in the log.
	Index uint64
	// CheckpointSize is the size of the smallest co-signed checkpoint
	// whose tree includes the leaf (a size greater than Index); zero, with
	// Checkpointed false, when no such checkpoint is stored yet.
	CheckpointSize uint64
	Checkpointed   bool
}

// LicenceLeaf is the log leaf of a licence: its signed, encoded
// credential (the bytes inside the QR text before Base41).
func LicenceLeaf(l *Licence) tlog.Leaf { return tlog.NewLeaf(tlog.KindCredential, l.Credential) }

// DocumentLeaf is the log leaf of a document: its signed receipt envelope.
func DocumentLeaf(d *Document) tlog.Leaf { return tlog.NewLeaf(tlog.KindDocumentReceipt, d.Receipt) }

// validateLogOrigin checks the LogOrigin of a call's parameters: empty (no
// log) or a valid origin.
func validateLogOrigin(origin string) error {
	if origin != "" && !tlog.ValidOrigin(origin) {
		return invalidf("invalid log origin %q", origin)
	}
	return nil
}

// LogRef names what a leaf commits to: a licence or a document. The
// stores keep it beside the leaf, so that a count and a join show that
// every stored licence is a leaf and every leaf a stored object.
type LogRef struct {
	LicenceID  string
	DocumentID string
}

// Validate checks a checkpoint key before it is stored.
func (k LogKey) Validate() error {
	if !ValidDepartmentCode(k.DepartmentCode) {
		return invalidf("checkpoint key: invalid department code %q", k.DepartmentCode)
	}
	if !tlog.ValidOrigin(k.Origin) {
		return invalidf("checkpoint key of %s: invalid origin %q", k.DepartmentCode, k.Origin)
	}
	if len(k.PublicKey) == 0 || len(k.PrivateKeyPEM) == 0 {
		return invalidf("checkpoint key of %s: public and private key are required", k.DepartmentCode)
	}
	return nil
}

// LicenceLeaves returns the leaves of licences, hashed, and what each
// commits to, in order. The stores call it before they lock the audit head
// and the log, so that the hashing (two SM3 per licence) is done by the
// batches in parallel, not one after the other under the locks.
func LicenceLeaves(ls []Licence) ([]tlog.HashedLeaf, []LogRef) {
	leaves, refs := make([]tlog.Leaf, len(ls)), make([]LogRef, len(ls))
	for i := range ls {
		leaves[i], refs[i] = LicenceLeaf(&ls[i]), LogRef{LicenceID: ls[i].ID}
	}
	return tlog.HashLeaves(leaves...), refs
}

// BatchLeaves returns the leaves of the licences out[i] for i in todo, in
// that order (the licences a batch stored), as LicenceLeaves does.
func BatchLeaves(out []Licence, todo []int) ([]tlog.HashedLeaf, []LogRef) {
	leaves, refs := make([]tlog.Leaf, len(todo)), make([]LogRef, len(todo))
	for j, i := range todo {
		leaves[j], refs[j] = LicenceLeaf(&out[i]), LogRef{LicenceID: out[i].ID}
	}
	return tlog.HashLeaves(leaves...), refs
}

// DecodeLogState decodes a stored log state: the size, the root and the
// compact range's hashes concatenated.
func DecodeLogState(size int64, root, compact []byte) (tlog.State, error) {
	if size < 0 || len(compact)%tlog.HashSize != 0 {
		return tlog.State{}, fmt.Errorf("stored log state is malformed")
	}
	st := tlog.State{Size: uint64(size), Root: root}
	for i := 0; i < len(compact); i += tlog.HashSize {
		st.Range = append(st.Range, compact[i:i+tlog.HashSize])
	}
	return st, nil
}

// LogRangeValid reports whether a read of n entries from index from (of
// hashes at tree level, for LogHashes) can be in a log at all; a store
// answers tlog.ErrNotFound otherwise.
func LogRangeValid(level uint, from, n uint64) bool {
	return from+n >= from && from+n <= 1<<62 && level%tlog.TileHeight == 0 && level <= 63
}

// ParseLeaves decodes the n stored leaves bs of a tlog.Reader's
// LogLeaves: tlog.ErrNotFound unless all n were found.
func ParseLeaves(bs [][]byte, n uint64) ([]tlog.Leaf, error) {
	if uint64(len(bs)) != n {
		return nil, tlog.ErrNotFound
	}
	out := make([]tlog.Leaf, n)
	for i, b := range bs {
		var err error
		if out[i], err = tlog.ParseLeaf(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

package tlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// rangeFactory builds SM3 compact ranges.
var rangeFactory = &compact.RangeFactory{Hash: Hasher.HashChildren}

// restoreRange rebuilds the compact range of a stored state, checking that
// it matches the state's size and root.
func restoreRange(st State) (*compact.Range, error) {
	// A copy: appending reuses the slice's array, and st may be shared.
	r, err := rangeFactory.NewRange(0, st.Size, append([][]byte(nil), st.Range...))
	if err != nil {
		return nil, fmt.Errorf("stored log state: %w", err)
	}
	root, err := rootOf(r)
	if err != nil {
		return nil, err
	}
	if st.Size > 0 && string(root) != string(st.Root) {
		return nil, errors.New("stored log state: root does not match its compact range")
	}
	return r, nil
}

// rootOf returns the root hash of a compact range that starts at 0.
func rootOf(r *compact.Range) ([]byte, error) {
	if r.End() == 0 {
		return Hasher.EmptyRoot(), nil
	}
	return r.GetRootHash(nil)
}

// HashedLeaf is a leaf with its Merkle hash, computed once by
// [HashLeaves] so that an append can take it ready-made: the issuer hashes
// a batch's leaves in its signing workers, before the locks an append holds
// until commit. It can only be made by hashing, so its hash is its leaf's.
type HashedLeaf struct {
	leaf Leaf
	hash []byte
}

// Leaf returns the leaf.
func (h HashedLeaf) Leaf() Leaf { return h.leaf }

// Hash returns the leaf's Merkle hash (RFC 9162 leaf hash). The slice is
// the HashedLeaf's own: the caller must not change it.
func (h HashedLeaf) Hash() []byte { return h.hash }

// HashLeaves returns leaves with their Merkle hashes.
func HashLeaves(leaves ...Leaf) []HashedLeaf {
	out := make([]HashedLeaf, len(leaves))
	for i, l := range leaves {
		out[i] = HashedLeaf{leaf: l, hash: l.Hash()}
	}
	return out
}

// Append appends leaves to the log named origin through tx, the caller's
// store transaction, and returns the index of the first one and the new
// state. It locks the log first, so concurrent appenders on other
// connections wait for this transaction to end; nothing is visible until
// the caller commits, and a rollback leaves the log as it was.
func Append(ctx context.Context, tx Tx, origin string, leaves []Leaf) (uint64, State, error) {
	return AppendHashed(ctx, tx, origin, HashLeaves(leaves...))
}

// AppendHashed is [Append] of leaves hashed beforehand: under the log's
// lock it only extends the tree and writes.
func AppendHashed(ctx context.Context, tx Tx, origin string, leaves []HashedLeaf) (uint64, State, error) {
	if !ValidOrigin(origin) {
		return 0, State{}, fmt.Errorf("append: invalid origin %q", origin)
	}
	for i, l := range leaves {
		if !l.leaf.Kind.valid() || len(l.hash) != HashSize {
			return 0, State{}, fmt.Errorf("append: leaf %d: unknown kind 0x%02x or not hashed", i, byte(l.leaf.Kind))
		}
	}
	st, err := tx.LockLog(ctx, origin)
	if err != nil {
		return 0, State{}, fmt.Errorf("append: lock log: %w", err)
	}
	if len(leaves) == 0 {
		return st.Size, st, nil
	}
	r, err := restoreRange(st)
	if err != nil {
		return 0, State{}, fmt.Errorf("append: %w", err)
	}
	entries := make([]Entry, len(leaves))
	nodes := make([]Node, 0, len(leaves)+len(leaves)/TileWidth+2)
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%TileHeight == 0 {
			nodes = append(nodes, Node{Level: id.Level, Index: id.Index, Hash: h})
		}
	}
	for i, l := range leaves {
		entries[i] = Entry{Index: st.Size + uint64(i), Leaf: l.leaf}
		if err := r.Append(l.hash, visit); err != nil {
			return 0, State{}, fmt.Errorf("append: %w", err)
		}
	}
	root, err := rootOf(r)
	if err != nil {
		return 0, State{}, fmt.Errorf("append: %w", err)
	}
	next := State{Size: r.End(), Root: root, Range: r.Hashes()}
	if err := tx.AppendLog(ctx, origin, entries, nodes, next); err != nil {
		return 0, State{}, fmt.Errorf("append: store: %w", err)
	}
	return st.Size, next, nil
}

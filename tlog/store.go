package tlog

import (
	"context"
	"errors"
)

// TileHeight is the height of a tile in tree levels (C2SP tlog-tiles): a
// tile at tile level L holds hashes of tree level 8·L.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile, and of entries in a full
// entry bundle.
const TileWidth = 1 << TileHeight

// State is a log's committed tree.
type State struct {
	// Size is the number of leaves.
	Size uint64
	// Root is the root hash of the tree of Size leaves.
	Root []byte
	// Range holds the roots of the perfect subtrees that cover [0, Size),
	// left to right: the compact range (at most 64 hashes) from which the
	// next append continues without reading the tree.
	Range [][]byte
}

// Node is a hash the log stores: a leaf hash (Level 0) or the root of a
// complete subtree at a tree level that is a multiple of [TileHeight].
// These are exactly the rows of the tiles; the levels in between are
// recomputed from them.
type Node struct {
	Level uint
	Index uint64
	Hash  []byte
}

// Entry is a leaf at its position in the log.
type Entry struct {
	Index uint64
	Leaf  Leaf
}

// Tx is the part of a store transaction that [Append] writes through. The
// store hands it out inside the transaction that stores the licence, so the
// licence and its leaf commit or roll back together.
type Tx interface {
	// LockLog returns the committed state of the log named origin (the zero
	// State for a log never appended to) and holds an exclusive lock on it
	// until the transaction ends: SELECT … FOR UPDATE on its state row in
	// PostgreSQL, the write transaction itself in SQLite. Several issuer
	// processes then append one after the other, never at the same index.
	LockLog(ctx context.Context, origin string) (State, error)
	// AppendLog stores the new entries and node hashes and replaces the
	// state by next. Entries and nodes are new: a store must refuse
	// (primary key) rather than overwrite an existing one.
	AppendLog(ctx context.Context, origin string, entries []Entry, nodes []Node, next State) error
}

// Reader reads what a log has committed. Stored hashes never change, so
// everything read through it may be served as an immutable blob.
type Reader interface {
	// LogState returns the committed state of the log (zero if empty).
	LogState(ctx context.Context, origin string) (State, error)
	// LogHashes returns the n stored hashes at tree level (a multiple of
	// TileHeight) from index from on, or [ErrNotFound] if any is missing.
	LogHashes(ctx context.Context, origin string, level uint, from, n uint64) ([][]byte, error)
	// LogLeaves returns the n leaves from index from on, or [ErrNotFound]
	// if any is missing.
	LogLeaves(ctx context.Context, origin string, from, n uint64) ([]Leaf, error)
}

// ErrNotFound reports a hash, leaf, tile or entry bundle the log does not
// (yet) have.
var ErrNotFound = errors.New("not in the log")

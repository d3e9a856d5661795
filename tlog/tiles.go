package tlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// CheckpointPath is where the latest checkpoint is served, relative to the
// log's URL prefix (C2SP tlog-tiles).
const CheckpointPath = "checkpoint"

// maxTileLevel is the highest tile level tlog-tiles allows.
const maxTileLevel = 63

// TilePath returns the path of a tile relative to the log's URL prefix:
// tile/<L>/<N>, with N in groups of three digits, all but the last
// prefixed with x, and .p/<W> appended for a partial tile of width W
// (1–255; 0 means full).
func TilePath(level, index uint64, p uint8) string {
	return "tile/" + strconv.FormatUint(level, 10) + "/" + indexPath(index, p)
}

// EntriesPath returns the path of an entry bundle: tile/entries/<N>[.p/<W>].
func EntriesPath(index uint64, p uint8) string {
	return "tile/entries/" + indexPath(index, p)
}

func indexPath(n uint64, p uint8) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if p > 0 {
		s += ".p/" + strconv.Itoa(int(p))
	}
	return s
}

// ParseTilePath parses a path written by [TilePath] or [EntriesPath];
// entries reports an entry bundle (level is then 0). Anything not in the
// exact canonical form is refused, so one blob has one path.
func ParseTilePath(path string) (level, index uint64, p uint8, entries bool, err error) {
	bad := func(why string) (uint64, uint64, uint8, bool, error) {
		return 0, 0, 0, false, fmt.Errorf("tile path %q: %s", path, why)
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad("want tile/…")
	}
	first, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no index")
	}
	if first == "entries" {
		entries = true
	} else {
		level, err = strconv.ParseUint(first, 10, 8)
		if err != nil || level > maxTileLevel || strconv.FormatUint(level, 10) != first {
			return bad("bad level")
		}
	}
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.ParseUint(rest[i+3:], 10, 8)
		if err != nil || w == 0 || w >= TileWidth || strconv.FormatUint(w, 10) != rest[i+3:] {
			return bad("bad partial width")
		}
		p, rest = uint8(w), rest[:i]
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		if i < len(groups)-1 {
			if !strings.HasPrefix(g, "x") {
				return bad("bad index")
			}
			g = g[1:]
		}
		if len(g) != 3 || strings.Trim(g, "0123456789") != "" {
			return bad("bad index")
		}
		if index > (1<<64-1-999)/1000 {
			return bad("index out of range")
		}
		d, _ := strconv.ParseUint(g, 10, 64)
		index = index*1000 + d
	}
	if len(groups) > 1 && groups[0] == "x000" {
		return bad("bad index")
	}
	return level, index, p, entries, nil
}

// tileWidthAt returns how many hashes the tile (level, index) holds in a
// tree of size: TileWidth for a full tile, fewer for the partial rightmost
// one, 0 if it does not exist yet.
func tileWidthAt(level, index, size uint64) uint64 {
	if level > maxTileLevel || level*TileHeight >= 64 {
		return 0
	}
	count := size >> (level * TileHeight) // complete nodes at that tree level
	start := index * TileWidth
	if index > (1<<64-1)/TileWidth || count <= start {
		return 0
	}
	return min(count-start, TileWidth)
}

// ReadTile returns the tile (level, index) of width p (0: full) as served:
// the concatenated hashes. Any width the committed tree covers is served;
// its bytes never change.
func ReadTile(ctx context.Context, r Reader, origin string, level, index uint64, p uint8) ([]byte, error) {
	st, err := r.LogState(ctx, origin)
	if err != nil {
		return nil, fmt.Errorf("read tile: %w", err)
	}
	w := uint64(p)
	if p == 0 {
		w = TileWidth
	}
	if tileWidthAt(level, index, st.Size) < w {
		return nil, ErrNotFound
	}
	hs, err := r.LogHashes(ctx, origin, uint(level*TileHeight), index*TileWidth, w)
	if err != nil {
		return nil, fmt.Errorf("read tile: %w", err)
	}
	out := make([]byte, 0, w*HashSize)
	for _, h := range hs {
		out = append(out, h...)
	}
	return out, nil
}

// ReadEntryBundle returns the entry bundle index of width p (0: full): the
// leaves, each as a big-endian uint16 length and the 34-byte leaf
// (C2SP tlog-tiles).
func ReadEntryBundle(ctx context.Context, r Reader, origin string, index uint64, p uint8) ([]byte, error) {
	st, err := r.LogState(ctx, origin)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle: %w", err)
	}
	w := uint64(p)
	if p == 0 {
		w = TileWidth
	}
	if tileWidthAt(0, index, st.Size) < w {
		return nil, ErrNotFound
	}
	ls, err := r.LogLeaves(ctx, origin, index*TileWidth, w)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle: %w", err)
	}
	return MarshalEntryBundle(ls), nil
}

// MarshalEntryBundle encodes leaves as a tlog-tiles entry bundle.
func MarshalEntryBundle(leaves []Leaf) []byte {
	out := make([]byte, 0, len(leaves)*(2+LeafSize))
	for _, l := range leaves {
		out = binary.BigEndian.AppendUint16(out, LeafSize)
		out = append(out, l.Marshal()...)
	}
	return out
}

// ParseEntryBundle decodes an entry bundle of elicence leaves.
func ParseEntryBundle(b []byte) ([]Leaf, error) {
	var out []Leaf
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("entry bundle: truncated length")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("entry bundle: truncated entry")
		}
		l, err := ParseLeaf(b[2 : 2+n])
		if err != nil {
			return nil, fmt.Errorf("entry bundle: entry %d: %w", len(out), err)
		}
		out = append(out, l)
		b = b[2+n:]
		if len(out) > TileWidth {
			return nil, errors.New("entry bundle: more than 256 entries")
		}
	}
	return out, nil
}

// TileFetcher fetches the tile (level, index) of width p (0: full) from
// wherever the log is served: over HTTP, from files, from a bundle. It
// returns an error wrapping [ErrNotFound] when the tile does not exist.
type TileFetcher func(ctx context.Context, level, index uint64, p uint8) ([]byte, error)

// EntryBundleFetcher fetches the entry bundle index of width p (0: full).
type EntryBundleFetcher func(ctx context.Context, index uint64, p uint8) ([]byte, error)

// ProofBuilder computes inclusion and consistency proofs for a tree of a
// given size from its tiles, fetching each tile once. It is not safe for
// concurrent use.
type ProofBuilder struct {
	size  uint64
	fetch TileFetcher
	tiles map[[2]uint64][][]byte
	nodes map[compact.NodeID][]byte
}

// NewProofBuilder returns a builder for the tree of size leaves, whose tiles
// fetch gets.
func NewProofBuilder(size uint64, fetch TileFetcher) *ProofBuilder {
	return &ProofBuilder{size: size, fetch: fetch, tiles: map[[2]uint64][][]byte{}, nodes: map[compact.NodeID][]byte{}}
}

// tile returns the hashes of the tile (level, index) in the builder's tree.
func (b *ProofBuilder) tile(ctx context.Context, level, index uint64) ([][]byte, error) {
	key := [2]uint64{level, index}
	if t, ok := b.tiles[key]; ok {
		return t, nil
	}
	w := tileWidthAt(level, index, b.size)
	if w == 0 {
		return nil, fmt.Errorf("tile %s: %w in a tree of %d", TilePath(level, index, 0), ErrNotFound, b.size)
	}
	var p uint8
	if w < TileWidth {
		p = uint8(w)
	}
	raw, err := b.fetch(ctx, level, index, p)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", TilePath(level, index, p), err)
	}
	if uint64(len(raw)) != w*HashSize {
		return nil, fmt.Errorf("fetch %s: %d bytes, want %d", TilePath(level, index, p), len(raw), w*HashSize)
	}
	t := make([][]byte, w)
	for i := range t {
		t[i] = raw[i*HashSize : (i+1)*HashSize : (i+1)*HashSize]
	}
	b.tiles[key] = t
	return t, nil
}

// node returns the hash of the complete node id, from the tile whose bottom
// row lies under it.
func (b *ProofBuilder) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if h, ok := b.nodes[id]; ok {
		return h, nil
	}
	level := uint64(id.Level) / TileHeight
	sub := uint64(id.Level) % TileHeight
	first := id.Index << sub // index of its leftmost descendant in the tile row
	t, err := b.tile(ctx, level, first/TileWidth)
	if err != nil {
		return nil, err
	}
	off := first % TileWidth
	n := uint64(1) << sub
	if off+n > uint64(len(t)) {
		return nil, fmt.Errorf("node (%d, %d): %w in a tree of %d", id.Level, id.Index, ErrNotFound, b.size)
	}
	row := append([][]byte(nil), t[off:off+n]...)
	for len(row) > 1 {
		for i := range len(row) / 2 {
			row[i] = Hasher.HashChildren(row[2*i], row[2*i+1])
		}
		row = row[:len(row)/2]
	}
	b.nodes[id] = row[0]
	return row[0], nil
}

func (b *ProofBuilder) build(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hs := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := b.node(ctx, id)
		if err != nil {
			return nil, err
		}
		hs[i] = append([]byte(nil), h...) // the caller owns the proof
	}
	return nodes.Rehash(hs, Hasher.HashChildren)
}

// InclusionProof returns the RFC 9162 inclusion proof of the leaf at index
// in the builder's tree.
func (b *ProofBuilder) InclusionProof(ctx context.Context, index uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, b.size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	p, err := b.build(ctx, nodes)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of %d in %d: %w", index, b.size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 9162 consistency proof between the trees
// of size1 and size2 leaves, size1 ≤ size2 ≤ the builder's size.
func (b *ProofBuilder) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if size2 > b.size {
		return nil, fmt.Errorf("consistency proof: size %d beyond the tree of %d", size2, b.size)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	p, err := b.build(ctx, nodes)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d→%d: %w", size1, size2, err)
	}
	return p, nil
}

// LeafHashes returns the leaf hashes [from, to) of the builder's tree from
// its level-0 tiles. They are not authenticated: the monitor checks them
// against a checkpoint's root.
func (b *ProofBuilder) LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from > to || to > b.size {
		return nil, fmt.Errorf("leaf hashes [%d, %d) outside the tree of %d", from, to, b.size)
	}
	out := make([][]byte, 0, to-from)
	for i := from; i < to; {
		t, err := b.tile(ctx, 0, i/TileWidth)
		if err != nil {
			return nil, err
		}
		off := i % TileWidth
		n := min(uint64(len(t))-off, to-i)
		out = append(out, t[off:off+n]...)
		i += n
	}
	return out, nil
}

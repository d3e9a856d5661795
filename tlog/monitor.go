package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// MonitorConfig configures a [Monitor].
type MonitorConfig struct {
	// Origin is the log followed, LogKey its note key (from the trust list).
	Origin string
	LogKey note.Verifier
	// Witnesses are the witness keys whose cosignatures are reported.
	Witnesses []note.Verifier
	// Tiles fetches the log's tiles.
	Tiles TileFetcher
	// Entries, when set, fetches entry bundles so that unknown leaves are
	// reported with their kind and object hash, not only their hash.
	Entries EntryBundleFetcher
	// Known reports whether a leaf hash belongs to the department's own
	// records (every credential and receipt it stored). A leaf it does not
	// know is misissuance: something signed and logged that the department
	// never recorded. Nil checks nothing.
	Known func(leafHash []byte) bool
}

// UnknownLeaf is a logged leaf the department's records do not know.
type UnknownLeaf struct {
	Index    uint64
	LeafHash []byte
	// Leaf is set when the entry bundle was fetched and matches LeafHash.
	Leaf *Leaf
}

// MonitorReport is what one [Monitor.Update] found.
type MonitorReport struct {
	// Checkpoint is the one just checked.
	Checkpoint SignedCheckpoint
	// From and To bound the leaves checked now, [From, To); empty when the
	// checkpoint added nothing new.
	From, To uint64
	// Unknown are the leaves among them Known does not know.
	Unknown []UnknownLeaf
}

// Monitor follows one log's checkpoints, as `elicence log verify` does. It
// keeps the compact range of the largest checkpoint verified, downloads the
// leaf hashes each new checkpoint adds and recomputes its root, so that
// every leaf it reports on is authenticated by the log's signature and
// every new checkpoint is proven to extend the last. An older or equal
// checkpoint (say, one a verifier was shown) is checked with a consistency
// proof from the tiles, and one of the same size with another root is a
// fork. It is not safe for concurrent use.
type Monitor struct {
	cfg    MonitorConfig
	latest *SignedCheckpoint
	rng    *compact.Range
	seen   map[uint64]SignedCheckpoint // a checkpoint per size, the fork evidence
}

// NewMonitor returns a monitor that has verified nothing yet.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if !ValidOrigin(cfg.Origin) || cfg.LogKey == nil || cfg.Tiles == nil {
		return nil, errors.New("monitor: origin, log key and tile fetcher are required")
	}
	return &Monitor{cfg: cfg, rng: rangeFactory.NewEmptyRange(0), seen: map[uint64]SignedCheckpoint{}}, nil
}

// Latest returns the largest checkpoint verified so far, if any.
func (m *Monitor) Latest() (SignedCheckpoint, bool) {
	if m.latest == nil {
		return SignedCheckpoint{}, false
	}
	return *m.latest, true
}

// Update verifies the checkpoint note msg against everything seen so far.
// It returns an error wrapping [ErrFork] or [ErrInconsistent] (a
// [*ForkError] with both notes as evidence) when msg and an earlier
// checkpoint cannot be one history, [ErrBadCheckpoint] when msg is not
// validly signed, and any fetch error as is; the monitor's state then
// stays as it was.
func (m *Monitor) Update(ctx context.Context, msg []byte) (MonitorReport, error) {
	cp, err := OpenCheckpoint(msg, m.cfg.Origin, m.cfg.LogKey, m.cfg.Witnesses...)
	if err != nil {
		return MonitorReport{}, fmt.Errorf("monitor: %w", err)
	}
	if prev, ok := m.seen[cp.Size]; ok && !bytes.Equal(prev.Hash, cp.Hash) {
		return MonitorReport{}, &ForkError{Err: ErrFork, Old: prev.Checkpoint, New: cp.Checkpoint, OldNote: prev.Note, NewNote: cp.Note}
	}
	rep := MonitorReport{Checkpoint: cp}
	if m.latest != nil && cp.Size <= m.latest.Size {
		// An older view: the latest verified tree must contain it.
		pb := NewProofBuilder(m.latest.Size, m.cfg.Tiles)
		var p [][]byte
		if cp.Size > 0 && cp.Size < m.latest.Size {
			if p, err = pb.ConsistencyProof(ctx, cp.Size, m.latest.Size); err != nil {
				return MonitorReport{}, fmt.Errorf("monitor: %w", err)
			}
		}
		if err := CheckConsistency(cp, *m.latest, p); err != nil {
			return MonitorReport{}, fmt.Errorf("monitor: %w", err)
		}
		m.seen[cp.Size] = cp
		rep.From, rep.To = cp.Size, cp.Size
		return rep, nil
	}
	// A newer tree: fetch the leaf hashes it adds and recompute its root
	// from the verified compact range.
	from := m.rng.End()
	pb := NewProofBuilder(cp.Size, m.cfg.Tiles)
	hashes, err := pb.LeafHashes(ctx, from, cp.Size)
	if err != nil {
		return MonitorReport{}, fmt.Errorf("monitor: %w", err)
	}
	next, err := rangeFactory.NewRange(0, m.rng.End(), append([][]byte(nil), m.rng.Hashes()...))
	if err != nil {
		return MonitorReport{}, fmt.Errorf("monitor: %w", err)
	}
	for _, h := range hashes {
		if err := next.Append(h, nil); err != nil {
			return MonitorReport{}, fmt.Errorf("monitor: %w", err)
		}
	}
	root, err := rootOf(next)
	if err != nil {
		return MonitorReport{}, fmt.Errorf("monitor: %w", err)
	}
	if !bytes.Equal(root, cp.Hash) {
		fe := &ForkError{Err: fmt.Errorf("%w: the leaves of the tree of %d do not hash to its signed root", ErrInconsistent, cp.Size), New: cp.Checkpoint, NewNote: cp.Note}
		if m.latest != nil {
			fe.Old, fe.OldNote = m.latest.Checkpoint, m.latest.Note
		}
		return MonitorReport{}, fe
	}
	rep.From, rep.To = from, cp.Size
	if m.cfg.Known != nil {
		if rep.Unknown, err = m.unknown(ctx, from, hashes); err != nil {
			return MonitorReport{}, fmt.Errorf("monitor: %w", err)
		}
	}
	m.rng, m.latest = next, &cp
	m.seen[cp.Size] = cp
	return rep, nil
}

// unknown lists the leaves among hashes (starting at index from) that Known
// does not know, with their content when entry bundles are available.
func (m *Monitor) unknown(ctx context.Context, from uint64, hashes [][]byte) ([]UnknownLeaf, error) {
	var out []UnknownLeaf
	bundles := map[uint64][]Leaf{}
	for i, h := range hashes {
		if m.cfg.Known(h) {
			continue
		}
		u := UnknownLeaf{Index: from + uint64(i), LeafHash: h}
		if m.cfg.Entries != nil {
			bi := u.Index / TileWidth
			ls, ok := bundles[bi]
			if !ok {
				w := tileWidthAt(0, bi, from+uint64(len(hashes)))
				var p uint8
				if w < TileWidth {
					p = uint8(w)
				}
				raw, err := m.cfg.Entries(ctx, bi, p)
				if err != nil {
					return nil, fmt.Errorf("fetch %s: %w", EntriesPath(bi, p), err)
				}
				if ls, err = ParseEntryBundle(raw); err != nil {
					return nil, fmt.Errorf("fetch %s: %w", EntriesPath(bi, p), err)
				}
				bundles[bi] = ls
			}
			if off := u.Index % TileWidth; off < uint64(len(ls)) && bytes.Equal(ls[off].Hash(), h) {
				l := ls[off]
				u.Leaf = &l
			}
		}
		out = append(out, u)
	}
	return out, nil
}

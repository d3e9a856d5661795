package tlog

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// LookupPath returns the path, relative to the log's URL prefix, at which
// the issuer answers where the leaf with hash leafHash is:
// lookup/<64 lowercase hex digits of the leaf hash>.
func LookupPath(leafHash []byte) string { return "lookup/" + hex.EncodeToString(leafHash) }

// Position is the issuer's lookup answer: the leaf's index and the size of
// the smallest co-signed checkpoint that holds it (nil while none does).
// It is not evidence: a verifier proves the leaf from that checkpoint and
// the tiles.
type Position struct {
	Index          uint64  `json:"index"`
	CheckpointSize *uint64 `json:"checkpoint_size,omitempty"`
}

// Lookup asks the log where the leaf with hash leafHash is. A leaf the log
// does not hold is an error wrapping [ErrNotFound]; an answer that is not
// {"index":N[,"checkpoint_size":S]} with S > N is an error.
func (f HTTPFetchers) Lookup(ctx context.Context, leafHash []byte) (Position, error) {
	b, err := f.get(ctx, LookupPath(leafHash))
	if err != nil {
		return Position{}, err
	}
	var p struct {
		Index *uint64 `json:"index"`
		Size  *uint64 `json:"checkpoint_size"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Index == nil {
		return Position{}, fmt.Errorf("lookup: answer is not {\"index\":…}")
	}
	if p.Size != nil && *p.Size <= *p.Index {
		return Position{}, fmt.Errorf("lookup: checkpoint size %d does not hold leaf %d", *p.Size, *p.Index)
	}
	return Position{Index: *p.Index, CheckpointSize: p.Size}, nil
}

package tlog

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a C2SP tlog-checkpoint body: origin line, tree size, root
// hash. It is the transparency-dev type, used unchanged.
type Checkpoint = log.Checkpoint

// ErrBadCheckpoint is wrapped by every error about a checkpoint's text or
// signatures.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// maxOriginLen bounds the origin line; the witness cosignature of
// tlog-cosignature's binary form limits it to 255 bytes too.
const maxOriginLen = 255

// ValidOrigin reports whether origin may be a log's origin line: 1 to 255
// printable ASCII characters without spaces, as a schema-less URL is.
func ValidOrigin(origin string) bool {
	if origin == "" || len(origin) > maxOriginLen {
		return false
	}
	for i := 0; i < len(origin); i++ {
		if c := origin[i]; c <= 0x20 || c >= 0x7f || c == '+' {
			return false
		}
	}
	return true
}

// parseCheckpointText parses the three checkpoint lines at the start of a
// note text and demands their canonical form (no leading zeros, standard
// padded base64, a 32-byte hash). Extension lines after them are allowed
// and ignored, as C2SP tlog-checkpoint says.
func parseCheckpointText(text []byte) (Checkpoint, error) {
	var cp Checkpoint
	if _, err := cp.Unmarshal(text); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	if !ValidOrigin(cp.Origin) {
		return Checkpoint{}, fmt.Errorf("%w: invalid origin %q", ErrBadCheckpoint, cp.Origin)
	}
	if len(cp.Hash) != HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash is %d bytes, want %d", ErrBadCheckpoint, len(cp.Hash), HashSize)
	}
	if !bytes.HasPrefix(text, cp.Marshal()) {
		return Checkpoint{}, fmt.Errorf("%w: not in canonical form", ErrBadCheckpoint)
	}
	return cp, nil
}

// SignCheckpoint returns the signed note of cp signed by signer (the
// department's [NewNoteSigner]).
func SignCheckpoint(cp Checkpoint, signer note.Signer) ([]byte, error) {
	if !ValidOrigin(cp.Origin) {
		return nil, fmt.Errorf("%w: invalid origin %q", ErrBadCheckpoint, cp.Origin)
	}
	if len(cp.Hash) != HashSize {
		return nil, fmt.Errorf("%w: root hash is %d bytes, want %d", ErrBadCheckpoint, len(cp.Hash), HashSize)
	}
	n, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return n, nil
}

// Cosignature is a verified witness cosignature on a checkpoint.
type Cosignature struct {
	// Name is the witness key's name.
	Name string
	// Time is the witness's timestamp: it saw the checkpoint then.
	Time time.Time
}

// SignedCheckpoint is a checkpoint whose log signature verified.
type SignedCheckpoint struct {
	Checkpoint
	// Note is the signed note as received.
	Note []byte
	// Cosignatures are the verified cosignatures by the witnesses passed to
	// [OpenCheckpoint], in note order.
	Cosignatures []Cosignature
}

// OpenCheckpoint verifies a checkpoint note: it must carry a valid signature
// by logKey on a checkpoint for origin. Cosignatures by the given witness
// keys are verified and returned; signatures by unknown keys are ignored,
// and any invalid signature by a known key refuses the whole note, as C2SP
// signed-note recommends.
func OpenCheckpoint(msg []byte, origin string, logKey note.Verifier, witnesses ...note.Verifier) (SignedCheckpoint, error) {
	if logKey == nil {
		return SignedCheckpoint{}, fmt.Errorf("%w: no log key to check it with", ErrBadCheckpoint)
	}
	for _, w := range witnesses {
		if w == nil {
			return SignedCheckpoint{}, fmt.Errorf("%w: nil witness key", ErrBadCheckpoint)
		}
	}
	vs := append([]note.Verifier{logKey}, witnesses...)
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	signed := false
	var cosigs []Cosignature
	for _, s := range n.Sigs {
		if s.Name == logKey.Name() && s.Hash == logKey.KeyHash() {
			signed = true
			continue
		}
		t, err := cosignatureTime(s)
		if err != nil {
			return SignedCheckpoint{}, fmt.Errorf("%w: witness %s: %v", ErrBadCheckpoint, s.Name, err)
		}
		cosigs = append(cosigs, Cosignature{Name: s.Name, Time: t})
	}
	if !signed {
		return SignedCheckpoint{}, fmt.Errorf("%w: no signature by the log's key %s", ErrBadCheckpoint, logKey.Name())
	}
	cp, err := parseCheckpointText([]byte(n.Text))
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if cp.Origin != origin {
		return SignedCheckpoint{}, fmt.Errorf("%w: origin %q, want %q", ErrBadCheckpoint, cp.Origin, origin)
	}
	return SignedCheckpoint{Checkpoint: cp, Note: msg, Cosignatures: cosigs}, nil
}

package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"elicence/format"
	"elicence/keys"
	"elicence/tlog"
)

// LogConfig configures a [LogEvidence]. Zero values take the defaults
// named in each field.
type LogConfig struct {
	// Client makes the HTTP requests; nil: a client with a 10 s timeout.
	Client *http.Client
	// Timeout bounds one proof (its lookup, checkpoint and tiles); 10 s.
	Timeout time.Duration
	// ProofDir, when set, is a directory of C2SP tlog-proof files (an
	// offline bundle's tlog-proofs/, see bundle.go), consulted first.
	ProofDir string
	// Offline never fetches: only ProofDir's proofs count, and an object
	// without one there is TRY_LATER.
	Offline bool
	// Logger receives forks and refused data; slog.Default when nil.
	Logger *slog.Logger
	// MaxTiles bounds the tiles held (8 KiB each at most); default 2048.
	MaxTiles int
	// MaxProofs bounds the proofs remembered per log; default 100,000.
	MaxProofs int
}

// LogEvidence is the reference [Evidence]: it proves existence from the
// departments' issuance logs named in the trust list, online from the log's
// lookup, historical checkpoint and tiles (docs/FORMAT.md §12), or offline
// from an offline bundle's tlog-proofs. It keeps, per log, the checkpoints
// it verified (so that one of the same size with another root, a fork, is
// refused, and from then on every proof of that log), the proofs it
// verified (an object's leaf index and first co-signed checkpoint never
// change) and, bounded, the tiles of proofs that verified. Tiles that led
// to no verified proof are never kept. It is safe for concurrent use.
type LogEvidence struct {
	cfg    LogConfig
	log    *slog.Logger
	bundle *proofDir

	mu    sync.Mutex
	logs  map[string]*logState
	tiles boundedMap[string, []byte]
}

// logState is what LogEvidence knows of one log under one pair of keys.
type logState struct {
	keyDER, witnessDER string
	logKey, witness    note.Verifier
	witnessName        string
	// roots holds the root of each log-signed checkpoint seen, by size.
	roots map[uint64][]byte
	notes map[uint64]tlog.SignedCheckpoint // co-signed, verified
	// proven holds verified proofs by leaf hash.
	proven boundedMap[string, LogProof]
	// verified holds the checkpoint notes whose signatures verified (and
	// were compared with those seen), by SHA-256 of the note.
	verified boundedMap[[32]byte, verifiedNote]
	// builders holds a proof builder per tree size proven in.
	builders map[uint64]*builder
	start    time.Time
	fork     *tlog.ForkError
}

// verifiedNote is what a verified co-signed checkpoint note says.
type verifiedNote struct {
	Size       uint64
	Root       []byte
	Witness    string
	CosignedAt time.Time
}

// maxRoots bounds the checkpoints remembered per log for fork detection.
const maxRoots = 100_000

// NewLogEvidence returns an evidence source with cfg.
func NewLogEvidence(cfg LogConfig) *LogEvidence {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxTiles <= 0 {
		cfg.MaxTiles = 2048
	}
	if cfg.MaxProofs <= 0 {
		cfg.MaxProofs = 100_000
	}
	e := &LogEvidence{cfg: cfg, log: cfg.Logger, logs: map[string]*logState{}, tiles: newBoundedMap[string, []byte](cfg.MaxTiles)}
	if cfg.ProofDir != "" {
		e.bundle = &proofDir{dir: cfg.ProofDir}
	}
	return e
}

// state returns the log's state under the keys trust names, starting
// afresh when the keys changed.
func (e *LogEvidence) state(trust *Trust, lg *format.DepartmentLog) (*logState, error) {
	w := trust.List.Witness
	if w == nil {
		return nil, noEvidence("the trust list names no witness")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.logs[lg.Origin]
	if st != nil && st.keyDER == string(lg.PublicKey) && st.witnessDER == string(w.PublicKey) && st.witnessName == w.Name {
		return st, nil
	}
	logKey, witness, err := LogVerifiers(trust.List, lg)
	if err != nil {
		return nil, noEvidence("the trust list's %v is unusable", err)
	}
	st = &logState{keyDER: string(lg.PublicKey), witnessDER: string(w.PublicKey), witnessName: w.Name, logKey: logKey, witness: witness,
		roots: map[uint64][]byte{}, notes: map[uint64]tlog.SignedCheckpoint{}, proven: newBoundedMap[string, LogProof](e.cfg.MaxProofs), verified: newBoundedMap[[32]byte, verifiedNote](1024), builders: map[uint64]*builder{}}
	e.logs[lg.Origin] = st
	return st, nil
}

// LogVerifiers returns the signed-note verifiers of a department's log as
// the trust list tl names it: the log's checkpoint key (named by its
// origin) and the witness's cosignature key.
func LogVerifiers(tl *format.TrustList, lg *format.DepartmentLog) (logKey, witness note.Verifier, err error) {
	if tl.Witness == nil {
		return nil, nil, errors.New("the trust list names no witness")
	}
	if logKey, err = noteKey(lg.Origin, tlog.NoteSigType, lg.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("checkpoint key of log %s: %w", lg.Origin, err)
	}
	if witness, err = noteKey(tl.Witness.Name, tlog.CosigSigType, tl.Witness.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("witness key: %w", err)
	}
	return logKey, witness, nil
}

// noteKey makes a signed-note verifier of an SM2 SubjectPublicKeyInfo.
func noteKey(name, sigType string, der []byte) (note.Verifier, error) {
	pub, err := keys.ParsePublicKey(der)
	if err != nil {
		return nil, err
	}
	vk, err := tlog.VerifierKey(name, sigType, pub)
	if err != nil {
		return nil, err
	}
	if sigType == tlog.CosigSigType {
		return tlog.NewCosigVerifier(vk)
	}
	return tlog.NewNoteVerifier(vk)
}

// Prove implements [Evidence].
func (e *LogEvidence) Prove(ctx context.Context, trust *Trust, dept *format.Department, leaf tlog.Leaf, before time.Time) (*LogProof, error) {
	lg := dept.Log
	if lg == nil {
		return nil, noEvidence("department %s keeps no issuance log", dept.Code)
	}
	st, err := e.state(trust, lg)
	if err != nil {
		return nil, err
	}
	p, err := e.prove(ctx, st, lg, leaf)
	if err != nil {
		return nil, err
	}
	if !p.CosignedAt.Before(before) {
		return nil, noEvidence("its leaf %d is first in checkpoint %s size %d, co-signed at %s, not before %s",
			p.Index, p.Origin, p.Size, p.CosignedAt.Format(time.RFC3339), before.UTC().Format(time.RFC3339))
	}
	return p, nil
}

// LogStart implements [Evidence]: the first co-signed checkpoint holding
// leaf 0, whose leaf it reads from the first entry bundle.
func (e *LogEvidence) LogStart(ctx context.Context, trust *Trust, dept *format.Department) (time.Time, error) {
	lg := dept.Log
	if lg == nil {
		return time.Time{}, nil
	}
	st, err := e.state(trust, lg)
	if err != nil {
		return time.Time{}, err
	}
	e.mu.Lock()
	start, fork := st.start, st.fork
	e.mu.Unlock()
	switch {
	case fork != nil:
		return time.Time{}, fmt.Errorf("issuance log %s is forked: %v", lg.Origin, fork)
	case !start.IsZero():
		return start, nil
	}
	var first *tlog.Leaf
	if e.bundle != nil {
		if p, ok := e.bundle.first(lg.Origin); ok {
			first = &p.Leaf
		}
	}
	if first == nil {
		if e.cfg.Offline {
			return time.Time{}, fmt.Errorf("the offline bundle carries no proof of log %s's first leaf (index 0), which dates the log's start", lg.Origin)
		}
		ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
		raw, err := e.get(ctx, lg.URL+tlog.EntriesPath(0, 1), tlog.LeafSize+2)
		if errors.Is(err, tlog.ErrNotFound) {
			return time.Time{}, nil // nothing logged yet
		}
		if err != nil {
			return time.Time{}, err
		}
		ls, err := tlog.ParseEntryBundle(raw)
		if err != nil || len(ls) != 1 {
			return time.Time{}, fmt.Errorf("log %s: first entry bundle: %v", lg.Origin, err)
		}
		first = &ls[0]
	}
	p, err := e.prove(ctx, st, lg, *first)
	if errors.Is(err, ErrNoEvidence) && !errors.Is(err, errForked) && !errors.Is(err, errNotLogged) {
		return time.Time{}, nil // not co-signed yet: the log has not started
	}
	if err != nil {
		return time.Time{}, err
	}
	if p.Index != 0 {
		return time.Time{}, fmt.Errorf("log %s: its first entry is at index %d", lg.Origin, p.Index)
	}
	e.mu.Lock()
	st.start = p.CosignedAt
	e.mu.Unlock()
	return p.CosignedAt, nil
}

// Causes of ErrNoEvidence that LogStart must not take for a log that has
// not started.
var (
	errForked    = errors.New("issuance log forked")
	errNotLogged = errors.New("not logged")
)

// prove returns the verified proof of leaf in the log, from what it holds,
// the bundle, or the log's lookup and tiles.
func (e *LogEvidence) prove(ctx context.Context, st *logState, lg *format.DepartmentLog, leaf tlog.Leaf) (*LogProof, error) {
	key := hex.EncodeToString(leaf.Hash())
	e.mu.Lock()
	fork := st.fork
	p, ok := st.proven.get(key)
	e.mu.Unlock()
	if fork != nil {
		return nil, fmt.Errorf("%w: %w %s: %v; no proof of it is accepted", ErrNoEvidence, errForked, lg.Origin, fork)
	}
	if ok {
		return &p, nil
	}
	var bundleErr error
	if e.bundle != nil {
		if ip, ok := e.bundle.lookup(lg.Origin, leaf); ok {
			p, err := e.check(st, lg, ip, "bundle", nil, false)
			if err == nil || errors.Is(err, errForked) {
				return p, err
			}
			bundleErr = err
		}
	}
	if e.cfg.Offline {
		if bundleErr != nil {
			return nil, fmt.Errorf("the offline bundle's proof of it does not verify: %w", bundleErr)
		}
		return nil, errors.New("no inclusion proof of it in the offline bundle (tlog-proofs): an online verifier, or a bundle that carries its proof, can decide")
	}
	res, _, err := e.online(ctx, st, lg, leaf)
	return res, err
}

// online proves leaf from the log's lookup, checkpoint and tiles, and
// returns the verified proof both ways.
func (e *LogEvidence) online(ctx context.Context, st *logState, lg *format.DepartmentLog, leaf tlog.Leaf) (*LogProof, tlog.InclusionProof, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	idx, size, err := e.lookup(ctx, lg, leaf.Hash())
	if err != nil {
		return nil, tlog.InclusionProof{}, err
	}
	cp, err := e.checkpoint(ctx, st, lg, size)
	if err != nil {
		return nil, tlog.InclusionProof{}, err
	}
	bd := e.builder(st, lg, size)
	bd.mu.Lock()
	bd.fetched = map[string][]byte{}
	path, err := bd.pb.InclusionProof(ctx, idx)
	fetched := bd.fetched
	bd.fetched = nil
	bd.mu.Unlock()
	if err != nil {
		return nil, tlog.InclusionProof{}, fmt.Errorf("log %s: %w", lg.Origin, err)
	}
	ip := tlog.InclusionProof{Leaf: leaf, Index: idx, Proof: path, Checkpoint: cp.Note}
	res, err := e.check(st, lg, ip, "http", fetched, true)
	if errors.Is(err, tlog.ErrNotIncluded) {
		// Some tile held or fetched is not the log's: forget them all.
		e.mu.Lock()
		e.tiles = newBoundedMap[string, []byte](e.cfg.MaxTiles)
		st.builders = map[uint64]*builder{}
		e.mu.Unlock()
	}
	return res, ip, err
}

// InclusionProof fetches and verifies, from dept's log, the proof of leaf
// in the first co-signed checkpoint holding it, for an offline bundle
// (tlog.InclusionProof.Marshal, [WriteBundleProofs]). It ignores the
// bundle directory and Offline.
func (e *LogEvidence) InclusionProof(ctx context.Context, trust *Trust, dept *format.Department, leaf tlog.Leaf) (tlog.InclusionProof, *LogProof, error) {
	if dept.Log == nil {
		return tlog.InclusionProof{}, nil, noEvidence("department %s keeps no issuance log", dept.Code)
	}
	st, err := e.state(trust, dept.Log)
	if err != nil {
		return tlog.InclusionProof{}, nil, err
	}
	e.mu.Lock()
	fork := st.fork
	e.mu.Unlock()
	if fork != nil {
		return tlog.InclusionProof{}, nil, fmt.Errorf("%w: %w %s: %v", ErrNoEvidence, errForked, dept.Log.Origin, fork)
	}
	p, ip, err := e.online(ctx, st, dept.Log, leaf)
	return ip, p, err
}

// builder is a proof builder for one tree size, kept so that the subtree
// hashes it computes from tiles serve every later proof in that tree.
type builder struct {
	mu      sync.Mutex // held while it builds
	pb      *tlog.ProofBuilder
	fetched map[string][]byte // tiles fetched by the build in progress
}

// maxBuilders bounds the tree sizes a log keeps a builder for.
const maxBuilders = 16

// builder returns the log's proof builder for the tree of size leaves,
// whose tiles come from the tiles held or the log.
func (e *LogEvidence) builder(st *logState, lg *format.DepartmentLog, size uint64) *builder {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bd := st.builders[size]; bd != nil {
		return bd
	}
	if len(st.builders) >= maxBuilders {
		st.builders = map[uint64]*builder{}
	}
	bd := &builder{}
	bd.pb = tlog.NewProofBuilder(size, func(ctx context.Context, level, index uint64, w uint8) ([]byte, error) {
		path := tlog.TilePath(level, index, w)
		e.mu.Lock()
		b, ok := e.tiles.get(lg.Origin + " " + path)
		e.mu.Unlock()
		if !ok {
			var err error
			if b, err = e.get(ctx, lg.URL+path, 0); err != nil {
				return nil, err
			}
			bd.fetched[path] = b // bd.mu is held by the build
		}
		return b, nil
	})
	st.builders[size] = bd
	return bd
}

// check verifies an inclusion proof with no time limit and, when it holds,
// remembers it (unless an earlier checkpoint is known to hold the leaf) and
// keeps the tiles that built it. seen says the checkpoint was already
// compared with those seen.
func (e *LogEvidence) check(st *logState, lg *format.DepartmentLog, ip tlog.InclusionProof, source string, tiles map[string][]byte, seen bool) (*LogProof, error) {
	sum := sha256.Sum256(ip.Checkpoint)
	e.mu.Lock()
	vn, known := st.verified.get(sum)
	e.mu.Unlock()
	if known {
		// The note's signatures verified and it was compared with the
		// checkpoints seen: only the inclusion proof is left to check
		// (transparency-dev's verifier, as ProveExistence does).
		if err := proof.VerifyInclusion(tlog.Hasher, ip.Index, vn.Size, ip.Leaf.Hash(), ip.Proof, vn.Root); err != nil {
			return nil, e.notIncluded(lg, ip, source)
		}
		return e.remember(st, lg, ip, LogProof{Origin: lg.Origin, Size: vn.Size, Root: base64.StdEncoding.EncodeToString(vn.Root),
			Index: ip.Index, Witness: vn.Witness, CosignedAt: vn.CosignedAt, Source: source}, tiles), nil
	}
	if !seen {
		if _, err := e.seen(st, lg, ip.Checkpoint); err != nil {
			return nil, err
		}
	}
	ex, err := tlog.ProveExistence(ip, lg.Origin, st.logKey, st.witness, time.Unix(1<<62, 0))
	if errors.Is(err, tlog.ErrNotIncluded) {
		return nil, e.notIncluded(lg, ip, source)
	}
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", lg.Origin, err)
	}
	e.mu.Lock()
	st.verified.put(sum, verifiedNote{Size: ex.Checkpoint.Size, Root: ex.Checkpoint.Hash, Witness: ex.Witness, CosignedAt: ex.CosignedAt})
	e.mu.Unlock()
	return e.remember(st, lg, ip, LogProof{Origin: lg.Origin, Size: ex.Checkpoint.Size, Root: base64.StdEncoding.EncodeToString(ex.Checkpoint.Hash),
		Index: ex.Index, Witness: ex.Witness, CosignedAt: ex.CosignedAt, Source: source}, tiles), nil
}

func (e *LogEvidence) notIncluded(lg *format.DepartmentLog, ip tlog.InclusionProof, source string) error {
	e.log.Warn("issuance log proof does not verify", "origin", lg.Origin, "source", source, "index", ip.Index)
	return fmt.Errorf("log %s: the inclusion proof of leaf %d does not lead to the co-signed root: %w", lg.Origin, ip.Index, tlog.ErrNotIncluded)
}

// remember keeps a verified proof, unless an earlier checkpoint is known
// to hold the leaf, and the tiles that built it.
func (e *LogEvidence) remember(st *logState, lg *format.DepartmentLog, ip tlog.InclusionProof, p LogProof, tiles map[string][]byte) *LogProof {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := hex.EncodeToString(ip.Leaf.Hash())
	if old, ok := st.proven.get(key); ok && old.CosignedAt.Before(p.CosignedAt) {
		p = old
	} else {
		st.proven.put(key, p)
	}
	for path, b := range tiles {
		e.tiles.put(lg.Origin+" "+path, b)
	}
	return &p
}

// seen checks a checkpoint note's log signature and compares it with the
// checkpoints of its size seen before: another root is a fork, which is
// logged with both notes, and refuses every later proof of the log.
func (e *LogEvidence) seen(st *logState, lg *format.DepartmentLog, msg []byte) (tlog.SignedCheckpoint, error) {
	cp, err := tlog.OpenCheckpoint(msg, lg.Origin, st.logKey)
	if err != nil {
		return cp, fmt.Errorf("log %s: %w", lg.Origin, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	root, ok := st.roots[cp.Size]
	switch {
	case ok && !bytes.Equal(root, cp.Hash):
		old := tlog.Checkpoint{Origin: cp.Origin, Size: cp.Size, Hash: root}
		fe := &tlog.ForkError{Err: tlog.ErrFork, Old: old, New: cp.Checkpoint, NewNote: msg}
		if n, ok := st.notes[cp.Size]; ok {
			fe.OldNote = n.Note
		}
		st.fork = fe
		e.log.Error("issuance log forked: two checkpoints of one size with different roots", "origin", lg.Origin, "size", cp.Size,
			"root", base64.StdEncoding.EncodeToString(root), "other_root", base64.StdEncoding.EncodeToString(cp.Hash),
			"note", string(fe.OldNote), "other_note", string(msg))
		return cp, fmt.Errorf("%w: %w %s: %v", ErrNoEvidence, errForked, lg.Origin, fe)
	case !ok && len(st.roots) < maxRoots:
		st.roots[cp.Size] = cp.Hash
	}
	return cp, nil
}

// checkpoint returns the verified co-signed checkpoint of size.
func (e *LogEvidence) checkpoint(ctx context.Context, st *logState, lg *format.DepartmentLog, size uint64) (tlog.SignedCheckpoint, error) {
	e.mu.Lock()
	cp, ok := st.notes[size]
	e.mu.Unlock()
	if ok {
		return cp, nil
	}
	msg, err := e.get(ctx, lg.URL+"checkpoint/"+strconv.FormatUint(size, 10), 0)
	if err != nil {
		return cp, err
	}
	if _, err := e.seen(st, lg, msg); err != nil {
		return cp, err
	}
	cp, err = tlog.OpenCheckpoint(msg, lg.Origin, st.logKey, st.witness)
	if err != nil {
		return cp, fmt.Errorf("log %s: checkpoint %d: %w", lg.Origin, size, err)
	}
	if cp.Size != size {
		return cp, fmt.Errorf("log %s: checkpoint/%d is of size %d", lg.Origin, size, cp.Size)
	}
	cosigned := false
	for _, c := range cp.Cosignatures {
		cosigned = cosigned || c.Name == st.witnessName
	}
	if !cosigned {
		return cp, fmt.Errorf("log %s: checkpoint/%d carries no cosignature by the witness %s", lg.Origin, size, st.witnessName)
	}
	e.mu.Lock()
	if len(st.notes) < maxRoots {
		st.notes[size] = cp
	}
	e.mu.Unlock()
	return cp, nil
}

// lookup asks the log where a leaf is: its index and the size of the first
// co-signed checkpoint holding it.
func (e *LogEvidence) lookup(ctx context.Context, lg *format.DepartmentLog, leafHash []byte) (uint64, uint64, error) {
	base, err := url.Parse(lg.URL)
	if err != nil {
		return 0, 0, noEvidence("the trust list's log URL %q does not parse", lg.URL)
	}
	pos, err := tlog.HTTPFetchers{Client: e.cfg.Client, Base: base}.Lookup(ctx, leafHash)
	switch {
	case errors.Is(err, tlog.ErrNotFound):
		return 0, 0, fmt.Errorf("%w: %w: it is not in the issuance log %s", ErrNoEvidence, errNotLogged, lg.Origin)
	case err != nil:
		return 0, 0, fmt.Errorf("issuance log %s: %w", lg.Origin, unwrapURLError(err))
	case pos.CheckpointSize == nil:
		return 0, 0, noEvidence("it is leaf %d of the issuance log %s, in no co-signed checkpoint yet", pos.Index, lg.Origin)
	}
	return pos.Index, *pos.CheckpointSize, nil
}

// get fetches a blob of the log; 404 is tlog.ErrNotFound. limit bounds the
// body (0: tlog's largest blob, 64 KiB).
func (e *LogEvidence) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = 64 << 10
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("issuance log: %w", err)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("issuance log unreachable: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", redactQuery(url), tlog.ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("issuance log: %s: %s", redactQuery(url), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("issuance log: %s: %w", redactQuery(url), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("issuance log: %s: larger than %d bytes", redactQuery(url), limit)
	}
	return b, nil
}

func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// boundedMap is a map that forgets its oldest entries beyond max.
type boundedMap[K comparable, V any] struct {
	max   int
	m     map[K]V
	order []K
}

func newBoundedMap[K comparable, V any](max int) boundedMap[K, V] {
	return boundedMap[K, V]{max: max, m: map[K]V{}}
}

func (b *boundedMap[K, V]) get(k K) (V, bool) {
	v, ok := b.m[k]
	return v, ok
}

func (b *boundedMap[K, V]) put(k K, v V) {
	if _, ok := b.m[k]; ok {
		b.m[k] = v
		return
	}
	if len(b.order) >= b.max {
		delete(b.m, b.order[0])
		b.order = b.order[1:]
	}
	b.m[k] = v
	b.order = append(b.order, k)
}

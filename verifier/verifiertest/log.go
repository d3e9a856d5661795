package verifiertest

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"

	"elicence/format"
	"elicence/keys"
	"elicence/tlog"
)

// WitnessName is the witness key name of a World's issuance logs.
const WitnessName = "trust.test/witness"

// Log is a department's issuance log served over HTTP as the issuer serves
// it (docs/FORMAT.md §17): under its URL prefix the latest co-signed
// checkpoint, historical co-signed checkpoints (checkpoint/<size>), tiles
// and entry bundles (tlog.Handler), and lookups by leaf hash. It appends
// to a tlog.MemoryStore; Checkpoint signs and has the witness co-sign.
type Log struct {
	Origin string
	URL    string
	Server *httptest.Server
	Store  *tlog.MemoryStore
	// Key signs the checkpoints; Witness co-signs them at the clock's time.
	Key     *sm2.PrivateKey
	Witness *sm2.PrivateKey
	// Failing makes every request answer 503; TamperTiles flips a bit in
	// every tile served; Requests counts requests.
	Failing, TamperTiles atomic.Bool
	Requests             atomic.Int64

	tb     testing.TB
	now    func() time.Time
	signer note.Signer
	wit    *tlog.Witness

	mu      sync.Mutex
	index   map[string]uint64 // leaf hash (hex) → index
	history map[uint64][]byte // co-signed checkpoints by size
	sizes   []uint64          // co-signed sizes, ascending
	latest  []byte
	last    *tlog.SignedCheckpoint
}

// NewLog starts a log server for department d of w, whose witness key it
// creates if w has none, and records it in the trust list: w.TrustList
// then names the log and the witness. now dates the witness's cosignatures.
func (w *World) NewLog(tb testing.TB, d *Dept, now func() time.Time) *Log {
	tb.Helper()
	if w.WitnessKey == nil {
		k, err := keys.Generate(nil)
		if err != nil {
			tb.Fatal(err)
		}
		w.WitnessKey = k
	}
	k, err := keys.Generate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	l := &Log{Origin: "issuer.test/tlog/" + d.Code, Store: tlog.NewMemoryStore(), Key: k, Witness: w.WitnessKey,
		tb: tb, now: now, index: map[string]uint64{}, history: map[uint64][]byte{}}
	if l.signer, err = tlog.NewNoteSigner(l.Origin, k); err != nil {
		tb.Fatal(err)
	}
	cosigner, err := tlog.NewCosigner(WitnessName, w.WitnessKey, now)
	if err != nil {
		tb.Fatal(err)
	}
	l.wit = &tlog.Witness{Cosigner: cosigner, Logs: map[string]note.Verifier{l.Origin: l.NoteVerifier(tb)}}
	l.Server = httptest.NewServer(l)
	tb.Cleanup(l.Server.Close)
	l.URL = l.Server.URL + "/tlog/" + d.Code + "/"
	der, err := keys.MarshalPublicKeyDER(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	d.Log = &format.DepartmentLog{Origin: l.Origin, URL: l.URL, PublicKey: der}
	return l
}

// NoteVerifier returns the verifier of the log's checkpoint signatures.
func (l *Log) NoteVerifier(tb testing.TB) note.Verifier {
	return verifierOf(tb, l.Origin, tlog.NoteSigType, &l.Key.PublicKey, tlog.NewNoteVerifier)
}

// WitnessVerifier returns the verifier of the witness's cosignatures.
func (l *Log) WitnessVerifier(tb testing.TB) note.Verifier {
	return verifierOf(tb, WitnessName, tlog.CosigSigType, &l.Witness.PublicKey, tlog.NewCosigVerifier)
}

func verifierOf(tb testing.TB, name, sigType string, pub *ecdsa.PublicKey, parse func(string) (note.Verifier, error)) note.Verifier {
	tb.Helper()
	vk, err := tlog.VerifierKey(name, sigType, pub)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := parse(vk)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Append appends the leaf of each signed object of kind and returns the
// index of the first.
func (l *Log) Append(kind tlog.Kind, objects ...[]byte) uint64 {
	l.tb.Helper()
	leaves := make([]tlog.Leaf, len(objects))
	for i, o := range objects {
		leaves[i] = tlog.NewLeaf(kind, o)
	}
	var first uint64
	err := l.Store.Update(context.Background(), func(ctx context.Context, tx tlog.Tx) error {
		var err error
		first, _, err = tlog.Append(ctx, tx, l.Origin, leaves)
		return err
	})
	if err != nil {
		l.tb.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, lf := range leaves {
		l.index[hex.EncodeToString(lf.Hash())] = first + uint64(i)
	}
	return first
}

// Checkpoint signs the current tree, has the witness co-sign it (after
// checking it extends the last co-signed one) and publishes it as the
// latest and as checkpoint/<size>. It returns the co-signed note.
func (l *Log) Checkpoint() []byte {
	l.tb.Helper()
	ctx := context.Background()
	st, err := l.Store.LogState(ctx, l.Origin)
	if err != nil {
		l.tb.Fatal(err)
	}
	root := st.Root
	if st.Size == 0 {
		root = tlog.Hasher.EmptyRoot()
	}
	msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: l.Origin, Size: st.Size, Hash: root}, l.signer)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var proof [][]byte
	if l.last != nil && l.last.Size > 0 && l.last.Size < st.Size {
		pb := tlog.NewProofBuilder(st.Size, l.tiles)
		if proof, err = pb.ConsistencyProof(ctx, l.last.Size, st.Size); err != nil {
			l.tb.Fatal(err)
		}
	}
	cp, cosigned, err := l.wit.Cosign(msg, l.Origin, l.last, proof)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.last, l.latest = &cp, cosigned
	if _, ok := l.history[st.Size]; !ok {
		l.sizes = append(l.sizes, st.Size)
	}
	l.history[st.Size] = cosigned
	return cosigned
}

// SignOnly signs a checkpoint of the given size and root with the log's key
// and nothing else: a forged history's checkpoint, no witness.
func (l *Log) SignOnly(size uint64, root []byte) []byte {
	l.tb.Helper()
	msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: l.Origin, Size: size, Hash: root}, l.signer)
	if err != nil {
		l.tb.Fatal(err)
	}
	return msg
}

// Cosign has the witness co-sign msg without any consistency check, as a
// colluding or broken witness would.
func (l *Log) Cosign(msg []byte) []byte {
	l.tb.Helper()
	w := &tlog.Witness{Cosigner: l.wit.Cosigner, Logs: l.wit.Logs}
	_, out, err := w.Cosign(msg, l.Origin, nil, nil)
	if err != nil {
		l.tb.Fatal(err)
	}
	return out
}

// Serve publishes msg as checkpoint/<size> and, if latest, as the latest
// checkpoint, whatever it says: a log showing another history.
func (l *Log) Serve(size uint64, msg []byte, latest bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.history[size]; !ok {
		l.sizes = append(l.sizes, size)
	}
	l.history[size] = msg
	if latest {
		l.latest = msg
	}
}

func (l *Log) tiles(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return tlog.ReadTile(ctx, l.Store, l.Origin, level, index, p)
}

// ServeHTTP serves the log under /tlog/<dept>/.
func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.Requests.Add(1)
	if l.Failing.Load() {
		http.Error(w, "log unavailable, try later", http.StatusServiceUnavailable)
		return
	}
	prefix := strings.TrimPrefix(l.URL, l.Server.URL)
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if h, ok := strings.CutPrefix(path, "lookup/"); ok {
		l.lookup(w, h)
		return
	}
	if s, ok := strings.CutPrefix(path, "checkpoint/"); ok {
		size, err := strconv.ParseUint(s, 10, 64)
		l.mu.Lock()
		msg, have := l.history[size]
		l.mu.Unlock()
		if err != nil || !have {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", tlog.ImmutableCacheControl)
		w.Write(msg)
		return
	}
	h := &tlog.Handler{Reader: l.Store, Origin: l.Origin, Checkpoint: func(context.Context) ([]byte, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.latest == nil {
			return nil, tlog.ErrNotFound
		}
		return l.latest, nil
	}}
	if l.TamperTiles.Load() && strings.HasPrefix(path, "tile/") {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, withPath(r, path))
		b := rec.Body.Bytes()
		if len(b) > 0 {
			b[len(b)/2] ^= 1
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
		return
	}
	h.ServeHTTP(w, withPath(r, path))
}

func withPath(r *http.Request, path string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + path
	return r2
}

// lookup answers {"index":N,"checkpoint_size":S}: S the smallest co-signed
// size above N, omitted while there is none.
func (l *Log) lookup(w http.ResponseWriter, h string) {
	l.mu.Lock()
	idx, ok := l.index[h]
	var size uint64
	for _, s := range l.sizes {
		if s > idx && (size == 0 || s < size) {
			size = s
		}
	}
	l.mu.Unlock()
	if !ok {
		http.NotFound(w, nil)
		return
	}
	out := map[string]uint64{"index": idx}
	if size > 0 {
		out["checkpoint_size"] = size
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

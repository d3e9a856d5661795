package verifier

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/transparency-dev/merkle/proof"

	"elicence/format"
	"elicence/tlog"
	"elicence/verifier/verifiertest"
)

// logWorld is a department with an issuance log whose first key signed
// credential A (logged, co-signed at t0-2h with 299 other leaves) and
// whose key is then compromised (or retired) at t0-1h; the department
// signs status lists with a new key.
type logWorld struct {
	w     *verifiertest.World
	d     *verifiertest.Dept
	log   *verifiertest.Log
	clock *verifiertest.Clock
	old   *sm2.PrivateKey
	a     format.Signed // issued t0-3h, logged, co-signed t0-2h
	cp    []byte        // that co-signed checkpoint
	trust *Trust
	set   StatusSet
}

const logFill = 299 // leaves before A, so that proofs cross a tile

func newLogWorld(t testing.TB, state format.KeyState) *logWorld {
	t.Helper()
	lw := &logWorld{w: verifiertest.NewWorld(t), clock: verifiertest.NewClock(t0.Add(-3 * time.Hour))}
	lw.d = lw.w.Depts[0]
	lw.d.Documents = true
	lw.log = lw.w.NewLog(t, lw.d, lw.clock.Now)
	fill := make([][]byte, logFill)
	for i := range fill {
		fill[i] = fmt.Appendf(nil, "filler %d", i)
	}
	lw.log.Append(tlog.KindCredential, fill...)
	lw.a = lw.w.Sign(t, lw.d, lw.w.Credential(lw.d, "1", "L1", 1, t0.Add(-3*time.Hour)))
	if i := lw.log.Append(tlog.KindCredential, lw.a.Encode()); i != logFill {
		t.Fatalf("A at %d", i)
	}
	lw.clock.Set(t0.Add(-2 * time.Hour))
	lw.cp = lw.log.Checkpoint()
	lw.old = lw.d.Key
	lw.d.SetKeyState(state, t0.Add(-time.Hour))
	lw.w.NewKey(t, lw.d)
	lw.clock.Set(t0)
	lw.resign(t)
	return lw
}

// resign signs the trust list and a status list (by the new key) anew.
func (lw *logWorld) resign(t testing.TB) {
	t.Helper()
	tr, err := NewTrust(lw.w.RootPublic(), lw.w.SignTrust(t, 2, t0.Add(-time.Minute), t0.Add(time.Hour)), t0)
	if err != nil {
		t.Fatal(err)
	}
	lw.trust, lw.set = tr, StatusSet{}
	if err := lw.set.Add(tr, lw.w.SignStatus(t, lw.d, "L1", format.MinStatusListSize, t0, 5*time.Minute, nil), t0, "file"); err != nil {
		t.Fatal(err)
	}
	if err := lw.set.Add(tr, lw.w.SignStatus(t, lw.d, format.StatusListName(lw.d.Code, 1), format.MinStatusListSize, t0, 5*time.Minute, nil), t0, "file"); err != nil {
		t.Fatal(err)
	}
}

// signOld signs a credential with the old key, as its thief would.
func (lw *logWorld) signOld(t *testing.T, serial string, issuedAt time.Time) format.Signed {
	t.Helper()
	c := lw.w.Credential(lw.d, serial, "L1", 2, issuedAt)
	c.KeyID = lw.trust.List.Departments[0].Keys[0].ID
	s, err := format.SignCredential(lw.old, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (lw *logWorld) cfg(ev Evidence) Config {
	return Config{Trust: StaticTrust(lw.trust), Status: lw.set.Func(), Now: lw.clock.Now, Evidence: ev}
}

func (lw *logWorld) verify(ev Evidence, s format.Signed) *Report {
	return Verify(context.Background(), format.QRText(format.KindCredential, s), lw.cfg(ev))
}

func wantProof(t *testing.T, r *Report, lw *logWorld, source string) {
	t.Helper()
	p := r.LogProof
	if p == nil || p.Origin != lw.log.Origin || p.Size != logFill+1 || p.Index != logFill || p.Witness != verifiertest.WitnessName ||
		!p.CosignedAt.Equal(t0.Add(-2*time.Hour)) || p.Source != source || p.Root == "" {
		t.Fatalf("log proof %+v, want %s size %d index %d co-signed %s from %s", p, lw.log.Origin, logFill+1, logFill, t0.Add(-2*time.Hour), source)
	}
	if !strings.Contains(r.Checks[4].Detail, fmt.Sprintf("checkpoint %s size %d", lw.log.Origin, logFill+1)) {
		t.Fatalf("key_state detail %q does not name the checkpoint", r.Checks[4].Detail)
	}
}

// TestLogProvesExistenceBeforeCompromise: a credential signed by a key
// compromised after it was logged and co-signed passes, naming the
// checkpoint; the same key signing a backdated credential after the
// compromise fails, whether the thief got it logged (co-signed too late)
// or not; without the log every one fails.
func TestLogProvesExistenceBeforeCompromise(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	logged := lw.signOld(t, "2", t0.Add(-3*time.Hour))
	lw.log.Append(tlog.KindCredential, logged.Encode())
	lw.log.Checkpoint() // co-signed at t0, after the compromise
	unlogged := lw.signOld(t, "3", t0.Add(-3*time.Hour))

	ev := NewLogEvidence(LogConfig{})
	r := lw.verify(ev, lw.a)
	want(t, r, Passed, "")
	wantProof(t, r, lw, "http")
	want(t, lw.verify(ev, logged), Failed, KeyCompromised)
	r = lw.verify(ev, unlogged)
	want(t, r, Failed, KeyCompromised)
	if !strings.Contains(r.Reason, "not in the issuance log") {
		t.Errorf("reason %q", r.Reason)
	}
	// Without evidence, the pre-log rule: compromise fails everything.
	want(t, lw.verify(nil, lw.a), Failed, KeyCompromised)
	// A proof once verified stands while the log is down; a new verifier
	// cannot get one: TRY_LATER, never PASSED.
	lw.log.Failing.Store(true)
	want(t, lw.verify(ev, lw.a), Passed, "")
	want(t, lw.verify(NewLogEvidence(LogConfig{}), lw.a), Indeterminate, TryLater)
	// A presentation is new: no log covers it.
	pres := lw.w.PresentationQR(t, &verifiertest.Dept{Code: lw.d.Code, Key: lw.old}, lw.a, t0.Add(-10*time.Second), time.Minute)
	r = Verify(context.Background(), pres, lw.cfg(ev))
	want(t, r, Failed, KeyCompromised)
}

// TestLogTamperedTiles: tiles that do not lead to the co-signed root prove
// nothing (not PASSED), and are not kept: the genuine tiles then prove.
func TestLogTamperedTiles(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	ev := NewLogEvidence(LogConfig{})
	lw.log.TamperTiles.Store(true)
	r := lw.verify(ev, lw.a)
	if r.Indication == Passed || r.LogProof != nil {
		t.Fatalf("tampered tiles: %s %s %s", r.Indication, r.SubIndication, r.Reason)
	}
	want(t, r, Indeterminate, TryLater)
	lw.log.TamperTiles.Store(false)
	want(t, lw.verify(ev, lw.a), Passed, "")
}

// TestLogOfflineBundleProofs: an offline bundle's tlog-proof proves
// existence; one whose checkpoint has another root (co-signed or not), or
// none at all, does not.
func TestLogOfflineBundleProofs(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	ctx := context.Background()
	size := uint64(logFill + 1)
	tiles := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, lw.log.Store, lw.log.Origin, level, index, p)
	}
	path, err := tlog.NewProofBuilder(size, tiles).InclusionProof(ctx, logFill)
	if err != nil {
		t.Fatal(err)
	}
	// The proof the tiles give is the one transparency-dev's verifier
	// accepts for the log's root.
	st, _ := lw.log.Store.LogState(ctx, lw.log.Origin)
	if err := proof.VerifyInclusion(tlog.Hasher, logFill, size, tlog.NewLeaf(tlog.KindCredential, lw.a.Encode()).Hash(), path, st.Root); err != nil {
		t.Fatal(err)
	}
	good := tlog.InclusionProof{Leaf: tlog.NewLeaf(tlog.KindCredential, lw.a.Encode()), Index: logFill, Proof: path, Checkpoint: lw.log.Checkpoint()}
	// The latest checkpoint is of the same size, co-signed at t0: too late.
	lw.clock.Set(t0.Add(-2 * time.Hour))
	good.Checkpoint = lw.log.Checkpoint()
	lw.clock.Set(t0)
	wrongRoot := make([]byte, tlog.HashSize)
	rand.Read(wrongRoot)
	bad := good
	bad.Checkpoint = lw.log.Cosign(lw.log.SignOnly(size, wrongRoot))

	offline := func(p ...tlog.InclusionProof) *LogEvidence {
		dir := t.TempDir()
		for _, ip := range p {
			raw, err := ip.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteBundleProofs(dir, raw); err != nil {
				t.Fatal(err)
			}
		}
		return NewLogEvidence(LogConfig{ProofDir: filepath.Join(dir, BundleProofDir), Offline: true})
	}
	before := lw.log.Requests.Load()
	r := lw.verify(offline(good), lw.a)
	want(t, r, Passed, "")
	wantProof(t, r, lw, "bundle")
	for name, ev := range map[string]*LogEvidence{"wrong root": offline(bad), "no proof": offline()} {
		if r := lw.verify(ev, lw.a); r.Indication == Passed {
			t.Errorf("%s: PASSED", name)
		} else {
			want(t, r, Indeterminate, TryLater)
		}
	}
	// Once the checkpoint note is known good, a proof under the same note
	// is still checked: a path that does not lead to its root proves
	// nothing.
	other := lw.signOld(t, "5", t0.Add(-3*time.Hour))
	forged := good
	forged.Leaf = tlog.NewLeaf(tlog.KindCredential, other.Encode())
	ev := offline(good, forged)
	want(t, lw.verify(ev, lw.a), Passed, "")
	want(t, lw.verify(ev, other), Indeterminate, TryLater)
	if n := lw.log.Requests.Load() - before; n != 0 {
		t.Errorf("offline verifier made %d requests to the log", n)
	}
}

// TestLogForkRefused: a verifier that has seen a checkpoint refuses one of
// the same size with another root, though the log signed it and the
// witness co-signed it, and from then on accepts no proof from that log.
func TestLogForkRefused(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	dir := t.TempDir()

	// Another history of the same size, where a forged credential is leaf 0.
	forged := lw.signOld(t, "9", t0.Add(-3*time.Hour))
	other := tlog.NewMemoryStore()
	leaves := []tlog.Leaf{tlog.NewLeaf(tlog.KindCredential, forged.Encode())}
	for i := 1; i <= logFill; i++ {
		leaves = append(leaves, tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "other %d", i)))
	}
	ctx := context.Background()
	if err := other.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		_, _, err := tlog.Append(ctx, tx, lw.log.Origin, leaves)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st, _ := other.LogState(ctx, lw.log.Origin)
	path, err := tlog.NewProofBuilder(st.Size, func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, other, lw.log.Origin, level, index, p)
	}).InclusionProof(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	lw.clock.Set(t0.Add(-2 * time.Hour))
	fork := lw.log.Cosign(lw.log.SignOnly(st.Size, st.Root))
	lw.clock.Set(t0)
	raw, err := tlog.InclusionProof{Leaf: leaves[0], Index: 0, Proof: path, Checkpoint: fork}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundleProofs(dir, raw); err != nil {
		t.Fatal(err)
	}
	// On its own the forged history's proof would pass.
	alone := NewLogEvidence(LogConfig{ProofDir: filepath.Join(dir, BundleProofDir), Offline: true})
	want(t, lw.verify(alone, forged), Passed, "")

	// A verifier that saw the served history's checkpoint (proving A
	// online) is then shown the other one (in a bundle).
	ev := NewLogEvidence(LogConfig{ProofDir: filepath.Join(dir, BundleProofDir)})
	want(t, lw.verify(ev, lw.a), Passed, "")
	r := lw.verify(ev, forged)
	want(t, r, Failed, KeyCompromised)
	if !strings.Contains(r.Reason, "fork") {
		t.Errorf("reason %q does not say fork", r.Reason)
	}
	r = lw.verify(ev, lw.a)
	want(t, r, Failed, KeyCompromised)
	if !strings.Contains(r.Reason, "fork") {
		t.Errorf("after the fork, reason %q", r.Reason)
	}
}

// TestLogRetiredKey: for a department with a log, a retired key's
// credential passes with a proof of existence before the retirement, or
// on the time it claims if that is before the log began; one claiming a
// time when the log already ran, but not in it, is KEY_RETIRED (a thief
// with the retired key backdating to yesterday). Without log access that
// case cannot be decided: TRY_LATER.
func TestLogRetiredKey(t *testing.T) {
	lw := newLogWorld(t, format.KeyRetired)
	ev := NewLogEvidence(LogConfig{})
	r := lw.verify(ev, lw.a)
	want(t, r, Passed, "")
	wantProof(t, r, lw, "http")
	backdated := lw.signOld(t, "2", t0.Add(-90*time.Minute)) // after the log's start (t0-2h), before since
	r = lw.verify(ev, backdated)
	want(t, r, Failed, KeyRetired)
	if !strings.Contains(r.Reason, "issuance log already ran") {
		t.Errorf("reason %q", r.Reason)
	}
	preLog := lw.signOld(t, "3", t0.Add(-30*24*time.Hour))
	r = lw.verify(ev, preLog)
	want(t, r, Passed, "")
	if r.LogProof != nil {
		t.Errorf("pre-log credential reports a proof %+v", r.LogProof)
	}
	want(t, lw.verify(ev, lw.signOld(t, "4", t0.Add(-time.Minute))), Failed, KeyRetired) // after since
	want(t, lw.verify(nil, backdated), Indeterminate, TryLater)
	lw.log.Failing.Store(true)
	want(t, lw.verify(NewLogEvidence(LogConfig{}), preLog), Indeterminate, TryLater)
}

// TestLogDocumentReceipt: a document receipt by a compromised key passes
// with its leaf co-signed before the compromise, fails without.
func TestLogDocumentReceipt(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	oldID := lw.trust.List.Departments[0].Keys[0].ID
	receipt := func(title string) format.Signed {
		s, err := format.SignDocumentReceipt(lw.old, format.DocumentReceipt{
			ID: "7D2A9C04E1B3F658", Title: title, SignedAt: t0.Add(-3 * time.Hour).Unix(), SM3: make([]byte, format.DocumentSM3Size),
			Status: format.CompactStatusRef{List: 1, Index: 5}, ShortKeyID: oldID[:format.ShortKeyIDSize],
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	genuine, forged := receipt("批复"), receipt("伪造的批复")
	lw.clock.Set(t0.Add(-2 * time.Hour))
	lw.log.Append(tlog.KindDocumentReceipt, genuine.Encode())
	lw.log.Checkpoint()
	lw.clock.Set(t0)
	ev := NewLogEvidence(LogConfig{})
	r := Verify(context.Background(), format.QRText2(format.KindDocumentReceipt, genuine), lw.cfg(ev))
	want(t, r, Passed, "")
	if r.LogProof == nil || r.LogProof.Index != logFill+1 {
		t.Fatalf("log proof %+v", r.LogProof)
	}
	want(t, Verify(context.Background(), format.QRText2(format.KindDocumentReceipt, forged), lw.cfg(ev)), Failed, KeyCompromised)
}

// TestLogConcurrentProofs: many proofs at once, of the same and of other
// leaves, share the checkpoint, tiles and proof builder safely (run with
// -race).
func TestLogConcurrentProofs(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	ev := NewLogEvidence(LogConfig{})
	dept := &lw.trust.List.Departments[0]
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				leaf := tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "filler %d", (g*37+i*11)%logFill))
				p, err := ev.Prove(context.Background(), lw.trust, dept, leaf, t0.Add(-time.Hour))
				if err != nil || p.Size != logFill+1 {
					errs <- fmt.Errorf("proof %d/%d: %+v %v", g, i, p, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLogCheckpointNotCosigned: a historical checkpoint served without the
// witness's cosignature proves nothing (TRY_LATER) and is not kept: once
// the log serves the co-signed one, the proof holds.
func TestLogCheckpointNotCosigned(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	st, _ := lw.log.Store.LogState(context.Background(), lw.log.Origin)
	lw.log.Serve(st.Size, lw.log.SignOnly(st.Size, st.Root), true)
	ev := NewLogEvidence(LogConfig{})
	want(t, lw.verify(ev, lw.a), Indeterminate, TryLater)
	lw.log.Serve(st.Size, lw.cp, true)
	want(t, lw.verify(ev, lw.a), Passed, "")
}

// TestLogForkLogSignedOnly: a conflicting checkpoint signed by the log
// alone (no witness) is fork evidence too: the log's key signed two
// histories, so nothing it signs proves existence any more.
func TestLogForkLogSignedOnly(t *testing.T) {
	lw := newLogWorld(t, format.KeyCompromised)
	dir := t.TempDir()
	root := make([]byte, tlog.HashSize)
	rand.Read(root)
	forged := lw.signOld(t, "8", t0.Add(-3*time.Hour))
	raw, err := tlog.InclusionProof{Leaf: tlog.NewLeaf(tlog.KindCredential, forged.Encode()), Index: 0,
		Checkpoint: lw.log.SignOnly(logFill+1, root)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundleProofs(dir, raw); err != nil {
		t.Fatal(err)
	}
	// The verifier first proves A online (the served history of size 300),
	// then is shown the other history's checkpoint in the bundle.
	ev := NewLogEvidence(LogConfig{ProofDir: filepath.Join(dir, BundleProofDir)})
	want(t, lw.verify(ev, lw.a), Passed, "")
	want(t, lw.verify(ev, forged), Failed, KeyCompromised)
	r := lw.verify(ev, lw.a)
	want(t, r, Failed, KeyCompromised)
	if !strings.Contains(r.Reason, "fork") {
		t.Errorf("reason %q", r.Reason)
	}
}

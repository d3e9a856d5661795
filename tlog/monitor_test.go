package tlog_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"elicence/tlog"

	"golang.org/x/mod/sumdb/note"
)

func forkedLeaf(i int) tlog.Leaf {
	if i >= 5 {
		return tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "forged %d", i))
	}
	return leafN(i)
}

// TestMonitorDetectsFork: the monitor follows the log the department serves;
// a checkpoint of the same size with another root is a fork, one that the
// served tiles cannot prove consistent is refused, and a genuine older one
// passes.
func TestMonitorDetectsFork(t *testing.T) {
	ctx := context.Background()
	d := department(t)
	served, _ := logOf(t, testOrigin, 300, leafN)
	other, _ := logOf(t, testOrigin, 300, forkedLeaf)
	// Checkpoints of sizes 10 and 300 of the served history, 300 and 280 of the other.
	partial, _ := logOf(t, testOrigin, 10, leafN)
	otherPartial, _ := logOf(t, testOrigin, 280, forkedLeaf)
	cp10, cp300 := signedCheckpoint(t, partial, d), signedCheckpoint(t, served, d)
	fork300, fork280 := signedCheckpoint(t, other, d), signedCheckpoint(t, otherPartial, d)

	m, err := tlog.NewMonitor(tlog.MonitorConfig{Origin: testOrigin, LogKey: d.verifier, Tiles: fetcherOf(served, testOrigin)})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := m.Update(ctx, cp10); err != nil || rep.From != 0 || rep.To != 10 {
		t.Fatalf("first checkpoint: %+v, %v", rep, err)
	}
	if rep, err := m.Update(ctx, cp300); err != nil || rep.From != 10 || rep.To != 300 {
		t.Fatalf("extension: %+v, %v", rep, err)
	}
	var fe *tlog.ForkError
	if _, err := m.Update(ctx, fork300); !errors.Is(err, tlog.ErrFork) || !errors.As(err, &fe) || !bytes.Equal(fe.OldNote, cp300) || !bytes.Equal(fe.NewNote, fork300) {
		t.Errorf("same size, other root: got %v, want ErrFork with both notes", err)
	}
	if _, err := m.Update(ctx, fork280); !errors.Is(err, tlog.ErrInconsistent) {
		t.Errorf("older checkpoint of another history: got %v, want ErrInconsistent", err)
	}
	if _, err := m.Update(ctx, cp10); err != nil {
		t.Errorf("genuine older checkpoint: %v", err)
	}
	if latest, _ := m.Latest(); latest.Size != 300 {
		t.Errorf("latest size %d after refusals, want 300", latest.Size)
	}

	// A monitor that first saw the other history's checkpoint, then tiles
	// of the served one: the leaves do not hash to the signed root.
	m2, _ := tlog.NewMonitor(tlog.MonitorConfig{Origin: testOrigin, LogKey: d.verifier, Tiles: fetcherOf(served, testOrigin)})
	if _, err := m2.Update(ctx, fork280); !errors.Is(err, tlog.ErrInconsistent) {
		t.Errorf("tiles of another history: got %v, want ErrInconsistent", err)
	}
	// A note not signed by the department is refused outright.
	if _, err := m.Update(ctx, signedCheckpoint(t, served, department(t))); !errors.Is(err, tlog.ErrBadCheckpoint) {
		t.Errorf("foreign signature: got %v", err)
	}
}

// TestMonitorReportsMisissuance: one leaf the department's records do not
// know is reported with its index and content; known leaves are not.
func TestMonitorReportsMisissuance(t *testing.T) {
	ctx := context.Background()
	d := department(t)
	const rogue = 271
	leaf := func(i int) tlog.Leaf {
		if i == rogue {
			return tlog.NewLeaf(tlog.KindCredential, []byte("signed with a stolen key"))
		}
		return leafN(i)
	}
	s, _ := logOf(t, testOrigin, 300, leaf)
	known := map[string]bool{}
	for i := range 300 {
		known[string(leafN(i).Hash())] = true // the department's own records
	}
	m, _ := tlog.NewMonitor(tlog.MonitorConfig{
		Origin: testOrigin, LogKey: d.verifier,
		Tiles: fetcherOf(s, testOrigin), Entries: entriesOf(s, testOrigin),
		Known: func(h []byte) bool { return known[string(h)] },
	})
	rep, err := m.Update(ctx, signedCheckpoint(t, s, d))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unknown) != 1 || rep.Unknown[0].Index != rogue || rep.Unknown[0].Leaf == nil || *rep.Unknown[0].Leaf != leaf(rogue) {
		t.Fatalf("unknown leaves %+v, want only %d", rep.Unknown, rogue)
	}
}

// TestProveExistence: a credential logged and co-signed before its key was
// compromised is proven; a backdated one logged after is not.
func TestProveExistence(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	d, w := department(t), witnessAt(t, &now)
	wit := &tlog.Witness{Cosigner: w.signer, Logs: map[string]note.Verifier{testOrigin: d.verifier}}
	s, _ := logOf(t, testOrigin, 77, leafN)
	cp1, cosigned1, err := wit.Cosign(signedCheckpoint(t, s, d), testOrigin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	compromised := now.Add(24 * time.Hour)

	genuine := leafN(42)
	p, _ := tlog.NewProofBuilder(77, fetcherOf(s, testOrigin)).InclusionProof(ctx, 42)
	ex, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: genuine, Index: 42, Proof: p, Checkpoint: cosigned1}, testOrigin, d.verifier, w.verifier, compromised)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Checkpoint.Size != 77 || !ex.CosignedAt.Equal(now) || ex.Witness != witnessKeyName || ex.Index != 42 {
		t.Fatalf("existence %+v", ex)
	}
	// The same proof carried offline as a C2SP tlog-proof.
	enc, err := tlog.InclusionProof{Leaf: genuine, Index: 42, Proof: p, Checkpoint: cosigned1}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	carried, err := tlog.ParseInclusionProof(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, []byte("c2sp.org/tlog-proof@v1\nextra ")) || carried.Leaf != genuine || carried.Index != 42 || !equalProofs(carried.Proof, p) || !bytes.Equal(carried.Checkpoint, cosigned1) {
		t.Fatalf("tlog-proof round trip:\n%s", enc)
	}
	if _, err := tlog.ProveExistence(carried, testOrigin, d.verifier, w.verifier, compromised); err != nil {
		t.Fatalf("carried proof: %v", err)
	}
	// Backdated after the compromise: appended and co-signed later.
	now = compromised.Add(time.Hour)
	backdated := tlog.NewLeaf(tlog.KindCredential, []byte("issued 2026-10-01, really signed after the theft"))
	if err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		_, _, err := tlog.Append(ctx, tx, testOrigin, []tlog.Leaf{backdated})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := tlog.NewProofBuilder(78, fetcherOf(s, testOrigin)).ConsistencyProof(ctx, 77, 78)
	_, cosigned2, err := wit.Cosign(signedCheckpoint(t, s, d), testOrigin, &cp1, c)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := tlog.NewProofBuilder(78, fetcherOf(s, testOrigin)).InclusionProof(ctx, 77)
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: backdated, Index: 77, Proof: p2, Checkpoint: cosigned2}, testOrigin, d.verifier, w.verifier, compromised); !errors.Is(err, tlog.ErrCosignedTooLate) {
		t.Errorf("backdated: got %v, want ErrCosignedTooLate", err)
	}
	// And it is in no earlier checkpoint: the proof does not fit the first one.
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: backdated, Index: 42, Proof: p, Checkpoint: cosigned1}, testOrigin, d.verifier, w.verifier, compromised); !errors.Is(err, tlog.ErrNotIncluded) {
		t.Errorf("backdated against the early checkpoint: got %v, want ErrNotIncluded", err)
	}
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: genuine, Index: 42, Proof: p, Checkpoint: signedCheckpoint(t, s, d)}, testOrigin, d.verifier, w.verifier, compromised); !errors.Is(err, tlog.ErrNoCosignature) {
		t.Errorf("no cosignature: got %v, want ErrNoCosignature", err)
	}
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: genuine, Index: 43, Proof: p, Checkpoint: cosigned1}, testOrigin, d.verifier, w.verifier, compromised); !errors.Is(err, tlog.ErrNotIncluded) {
		t.Errorf("wrong index: got %v, want ErrNotIncluded", err)
	}
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Leaf: genuine, Index: 42, Proof: p, Checkpoint: cosigned1}, testOrigin, d.verifier, w.verifier, cp1Time(cosigned1, t, d, w)); !errors.Is(err, tlog.ErrCosignedTooLate) {
		t.Errorf("compromised at the cosignature's second: got %v, want ErrCosignedTooLate", err)
	}
}

func cp1Time(msg []byte, t *testing.T, d, w party) time.Time {
	cp, err := tlog.OpenCheckpoint(msg, testOrigin, d.verifier, w.verifier)
	if err != nil || len(cp.Cosignatures) != 1 {
		t.Fatal(err)
	}
	return cp.Cosignatures[0].Time
}

// TestAppendAtomicAndSerial: a failed transaction leaves no leaf, and
// concurrent appenders get distinct indices in one tree.
func TestAppendAtomicAndSerial(t *testing.T) {
	ctx := context.Background()
	s := tlog.NewMemoryStore()
	boom := errors.New("licence insert failed")
	err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		if _, _, err := tlog.Append(ctx, tx, testOrigin, []tlog.Leaf{leafN(0)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if st, _ := s.LogState(ctx, testOrigin); st.Size != 0 {
		t.Fatalf("rolled-back append left size %d", st.Size)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	at := map[uint64]tlog.Leaf{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 25 {
				l := leafN(1000 + g*100 + j)
				if err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
					i, _, err := tlog.Append(ctx, tx, testOrigin, []tlog.Leaf{l})
					mu.Lock()
					at[i] = l
					mu.Unlock()
					return err
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st, _ := s.LogState(ctx, testOrigin)
	var data [][]byte
	for i := range uint64(200) {
		l, ok := at[i]
		if !ok {
			t.Fatalf("no leaf at %d", i)
		}
		data = append(data, l.Marshal())
	}
	if st.Size != 200 || !bytes.Equal(st.Root, refMTH(data)) {
		t.Fatalf("size %d root %x, want 200 %x", st.Size, st.Root, refMTH(data))
	}
}

// TestLeafEncoding pins the 34 leaf bytes and refuses other forms.
func TestLeafEncoding(t *testing.T) {
	l := tlog.NewLeaf(tlog.KindDocumentReceipt, []byte("abc"))
	// SM3("abc") is the GB/T 32905 example digest.
	want := "0102" + "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if got := hex.EncodeToString(l.Marshal()); got != want {
		t.Fatalf("leaf %s, want %s", got, want)
	}
	back, err := tlog.ParseLeaf(l.Marshal())
	if err != nil || back != l {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	for _, bad := range []string{"", "01", want[:66], want + "00", "02" + want[2:], "0100" + want[4:], "0103" + want[4:]} {
		b, _ := hex.DecodeString(bad)
		if _, err := tlog.ParseLeaf(b); !errors.Is(err, tlog.ErrMalformedLeaf) {
			t.Errorf("leaf %q accepted", bad)
		}
	}
	if h := hex.EncodeToString(l.Hash()); h != hex.EncodeToString(refLeafHash(l.Marshal())) {
		t.Errorf("leaf hash %s is not SM3(0x00‖leaf)", h)
	}
}

// TestTilePaths pins the tlog-tiles paths and refuses non-canonical ones.
func TestTilePaths(t *testing.T) {
	for _, c := range []struct {
		level, index uint64
		p            uint8
		entries      bool
		path         string
	}{
		{0, 0, 0, false, "tile/0/000"},
		{0, 1234067, 0, false, "tile/0/x001/x234/067"},
		{1, 5, 17, false, "tile/1/005.p/17"},
		{2, 1000, 255, false, "tile/2/x001/000.p/255"},
		{0, 12, 0, true, "tile/entries/012"},
		{0, 3, 9, true, "tile/entries/003.p/9"},
	} {
		got := tlog.TilePath(c.level, c.index, c.p)
		if c.entries {
			got = tlog.EntriesPath(c.index, c.p)
		}
		if got != c.path {
			t.Errorf("path %q, want %q", got, c.path)
		}
		l, i, p, e, err := tlog.ParseTilePath(c.path)
		if err != nil || l != c.level || i != c.index || p != c.p || e != c.entries {
			t.Errorf("parse %q: %d %d %d %v %v", c.path, l, i, p, e, err)
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/0/001/002", "tile/00/000", "tile/64/000",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07", "tile/0/x1/000", "tiles/0/000", "tile/entries/", "tile/0/+01"} {
		if _, _, _, _, err := tlog.ParseTilePath(bad); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

// TestTilesServed: a partial tile is a prefix of the later full one, tiles
// beyond the tree are not found, and an entry bundle decodes to the leaves
// whose hashes are the level-0 tile.
func TestTilesServed(t *testing.T) {
	ctx := context.Background()
	s, _ := logOf(t, testOrigin, 300, leafN)
	full, err := tlog.ReadTile(ctx, s, testOrigin, 0, 0, 0)
	if err != nil || len(full) != 256*32 {
		t.Fatalf("full tile: %d bytes, %v", len(full), err)
	}
	part, err := tlog.ReadTile(ctx, s, testOrigin, 0, 0, 100)
	if err != nil || !bytes.Equal(part, full[:100*32]) {
		t.Fatalf("partial tile is not a prefix of the full one: %v", err)
	}
	if _, err := tlog.ReadTile(ctx, s, testOrigin, 0, 1, 0); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("full tile 1 of a 300-leaf tree: %v", err)
	}
	if _, err := tlog.ReadTile(ctx, s, testOrigin, 0, 1, 45); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("partial tile wider than the tree: %v", err)
	}
	if l1, err := tlog.ReadTile(ctx, s, testOrigin, 1, 0, 1); err != nil || len(l1) != 32 {
		t.Errorf("level-1 tile of width 1: %d bytes, %v", len(l1), err)
	}
	b, err := tlog.ReadEntryBundle(ctx, s, testOrigin, 1, 44)
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := tlog.ParseEntryBundle(b)
	if err != nil || len(leaves) != 44 {
		t.Fatalf("bundle: %d leaves, %v", len(leaves), err)
	}
	tile1, _ := tlog.ReadTile(ctx, s, testOrigin, 0, 1, 44)
	for i, l := range leaves {
		if l != leafN(256+i) || !bytes.Equal(l.Hash(), tile1[i*32:(i+1)*32]) {
			t.Fatalf("bundle entry %d does not match the tile", i)
		}
	}
	if _, err := tlog.ParseEntryBundle(b[:len(b)-1]); err == nil {
		t.Error("truncated bundle accepted")
	}
}

// TestMissingKeysRefused: absent keys are errors, never a panic or a pass.
func TestMissingKeysRefused(t *testing.T) {
	d := department(t)
	s, _ := logOf(t, testOrigin, 2, leafN)
	msg := signedCheckpoint(t, s, d)
	if _, err := tlog.OpenCheckpoint(msg, testOrigin, nil); !errors.Is(err, tlog.ErrBadCheckpoint) {
		t.Errorf("no log key: %v", err)
	}
	if _, err := tlog.ProveExistence(tlog.InclusionProof{Checkpoint: msg}, testOrigin, d.verifier, nil, time.Now()); !errors.Is(err, tlog.ErrNoCosignature) {
		t.Errorf("no witness key: %v", err)
	}
	if _, _, err := (&tlog.Witness{}).Cosign(msg, testOrigin, nil, nil); err == nil {
		t.Error("witness without a cosigner co-signed")
	}
	if _, err := tlog.NewMonitor(tlog.MonitorConfig{Origin: testOrigin}); err == nil {
		t.Error("monitor without keys or tiles")
	}
}

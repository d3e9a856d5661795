package tlog_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"elicence/keys"
	"elicence/tlog"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"
)

const (
	deptKeyName    = "log.example.gov.cn/tlog/11000000"
	witnessKeyName = "trust.example.gov.cn/witness"
)

type party struct {
	key      *sm2.PrivateKey
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func department(t testing.TB) party {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlog.NewNoteSigner(deptKeyName, k)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := tlog.VerifierKey(deptKeyName, tlog.NoteSigType, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewNoteVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return party{key: k, signer: s, verifier: v, vkey: vkey}
}

func witnessAt(t testing.TB, now *time.Time) party {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlog.NewCosigner(witnessKeyName, k, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := tlog.VerifierKey(witnessKeyName, tlog.CosigSigType, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewCosigVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return party{key: k, signer: s, verifier: v, vkey: vkey}
}

func signedCheckpoint(t testing.TB, s *tlog.MemoryStore, d party) []byte {
	t.Helper()
	st, err := s.LogState(context.Background(), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	root := st.Root
	if st.Size == 0 {
		root = tlog.Hasher.EmptyRoot()
	}
	n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: testOrigin, Size: st.Size, Hash: root}, d.signer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckpointRoundTrip signs a checkpoint with an SM2 note key and opens
// it; the note text is exactly the tlog-checkpoint body and the signature
// line carries key ID ‖ r‖s, checked with the keys package independently.
func TestCheckpointRoundTrip(t *testing.T) {
	d := department(t)
	s, data := logOf(t, testOrigin, 5, leafN)
	msg := signedCheckpoint(t, s, d)
	cp, err := tlog.OpenCheckpoint(msg, testOrigin, d.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 5 || !bytes.Equal(cp.Hash, refMTH(data)) || cp.Origin != testOrigin || len(cp.Cosignatures) != 0 {
		t.Fatalf("opened %+v", cp)
	}
	text, sigLine, ok := strings.Cut(string(msg), "\n\n")
	if !ok || text+"\n" != testOrigin+"\n5\n"+base64.StdEncoding.EncodeToString(refMTH(data))+"\n" {
		t.Fatalf("note text %q", text)
	}
	prefix := "— " + deptKeyName + " "
	if !strings.HasPrefix(sigLine, prefix) {
		t.Fatalf("signature line %q", sigLine)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(sigLine, prefix), "\n"))
	if err != nil || len(sig) != 4+keys.SignatureSize {
		t.Fatalf("signature %d bytes, %v", len(sig), err)
	}
	if h := d.verifier.KeyHash(); uint32(sig[0])<<24|uint32(sig[1])<<16|uint32(sig[2])<<8|uint32(sig[3]) != h {
		t.Fatal("signature does not start with the key id")
	}
	if !keys.Verify(&d.key.PublicKey, []byte(text+"\n"), sig[4:]) {
		t.Fatal("SM2 signature over the note text does not verify with keys.Verify")
	}
}

func TestCheckpointRefused(t *testing.T) {
	d, other := department(t), department(t)
	s, _ := logOf(t, testOrigin, 5, leafN)
	msg := signedCheckpoint(t, s, d)
	text, sigs, _ := strings.Cut(string(msg), "\n\n")

	tamperedSig := []byte(msg)
	tamperedSig = append([]byte(nil), tamperedSig...)
	i := len(tamperedSig) - 10
	tamperedSig[i] ^= 0x01
	if tamperedSig[i] == '\n' || tamperedSig[i] > 0x7e {
		tamperedSig[i] = 'A'
	}
	resigned := func(body string) []byte {
		n, err := note.Sign(&note.Note{Text: body}, d.signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, bad := range map[string][]byte{
		"size changed":           []byte(strings.Replace(text, "\n5\n", "\n6\n", 1) + "\n\n" + sigs),
		"signature bit flipped":  tamperedSig,
		"signed by another key":  signedCheckpoint(t, s, other),
		"no signature":           []byte(text + "\n\n"),
		"size with leading zero": resigned(strings.Replace(text, "\n5\n", "\n05\n", 1) + "\n"),
		"short hash":             resigned(testOrigin + "\n5\nAAAA\n"),
		"other origin":           resigned("other.example/log\n5\n" + strings.SplitN(text, "\n", 3)[2] + "\n"),
	} {
		if _, err := tlog.OpenCheckpoint(bad, testOrigin, d.verifier); !errors.Is(err, tlog.ErrBadCheckpoint) {
			t.Errorf("%s: got %v, want ErrBadCheckpoint", name, err)
		}
	}
	// Key strings: a note key is not a cosignature key, and the key ID is checked.
	if _, err := tlog.NewCosigVerifier(d.vkey); err == nil {
		t.Error("note key accepted as a cosignature key")
	}
	b := []byte(d.vkey)
	b[len(deptKeyName)+1] ^= 1
	if _, err := tlog.NewNoteVerifier(string(b)); err == nil {
		t.Error("wrong key id accepted")
	}
}

// TestCosignatureRoundTrip: the witness adds a timestamped SM2 cosignature;
// it verifies, carries the witness's time, and is refused once tampered.
func TestCosignatureRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	d, w := department(t), witnessAt(t, &now)
	s, _ := logOf(t, testOrigin, 9, leafN)
	wit := &tlog.Witness{Cosigner: w.signer, Logs: map[string]note.Verifier{testOrigin: d.verifier}}
	_, cosigned, err := wit.Cosign(signedCheckpoint(t, s, d), testOrigin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(cosigned, testOrigin, d.verifier, w.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Cosignatures) != 1 || cp.Cosignatures[0].Name != witnessKeyName || !cp.Cosignatures[0].Time.Equal(now) {
		t.Fatalf("cosignatures %+v", cp.Cosignatures)
	}
	// The cosignature line: key id ‖ 8-byte big-endian time ‖ r‖s.
	line := cosigned[bytes.LastIndex(cosigned, []byte("— "+witnessKeyName+" ")):]
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(line[len("— "+witnessKeyName+" "):])))
	if len(raw) != 4+8+64 {
		t.Fatalf("cosignature is %d bytes", len(raw))
	}
	// Move the timestamp back a day: the signature covers it.
	raw[4+7] ^= 0x01
	backdated := append(append([]byte(nil), cosigned[:len(cosigned)-len(line)]...), []byte("— "+witnessKeyName+" "+base64.StdEncoding.EncodeToString(raw)+"\n")...)
	if _, err := tlog.OpenCheckpoint(backdated, testOrigin, d.verifier, w.verifier); !errors.Is(err, tlog.ErrBadCheckpoint) {
		t.Errorf("retimed cosignature: got %v", err)
	}
	// Another witness key with the same name is not this witness.
	later := now
	w2 := witnessAt(t, &later)
	cp2, err := tlog.OpenCheckpoint(cosigned, testOrigin, d.verifier, w2.verifier)
	if err != nil || len(cp2.Cosignatures) != 0 {
		t.Errorf("cosignature by an unknown key counted: %+v, %v", cp2.Cosignatures, err)
	}
}

// TestWitnessRefusesFork: the witness co-signs only checkpoints consistent
// with the last it co-signed.
func TestWitnessRefusesFork(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ctx := context.Background()
	d, w := department(t), witnessAt(t, &now)
	wit := &tlog.Witness{Cosigner: w.signer, Logs: map[string]note.Verifier{testOrigin: d.verifier}}
	honest, _ := logOf(t, testOrigin, 40, leafN)
	forked, _ := logOf(t, testOrigin, 40, func(i int) tlog.Leaf {
		if i == 17 {
			return tlog.NewLeaf(tlog.KindCredential, []byte("backdated"))
		}
		return leafN(i)
	})
	first, _, err := wit.Cosign(signedCheckpoint(t, honest, d), testOrigin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wit.Cosign(signedCheckpoint(t, forked, d), testOrigin, &first, nil); !errors.Is(err, tlog.ErrFork) {
		t.Errorf("same size, other root: got %v, want ErrFork", err)
	}
	logOfInto(t, honest, 40, 60)
	logOfInto(t, forked, 40, 60)
	p, err := tlog.NewProofBuilder(60, fetcherOf(forked, testOrigin)).ConsistencyProof(ctx, 40, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wit.Cosign(signedCheckpoint(t, forked, d), testOrigin, &first, p); !errors.Is(err, tlog.ErrInconsistent) {
		t.Errorf("forked extension: got %v, want ErrInconsistent", err)
	}
	p, _ = tlog.NewProofBuilder(60, fetcherOf(honest, testOrigin)).ConsistencyProof(ctx, 40, 60)
	second, _, err := wit.Cosign(signedCheckpoint(t, honest, d), testOrigin, &first, p)
	if err != nil {
		t.Fatalf("honest extension refused: %v", err)
	}
	if _, _, err := wit.Cosign(first.Note, testOrigin, &second, nil); err == nil {
		t.Error("older checkpoint co-signed after a newer one")
	}
}

// logOfInto appends leaves [from, to) of leafN to s.
func logOfInto(t testing.TB, s *tlog.MemoryStore, from, to int) {
	t.Helper()
	var ls []tlog.Leaf
	for i := from; i < to; i++ {
		ls = append(ls, leafN(i))
	}
	if err := s.Update(context.Background(), func(ctx context.Context, tx tlog.Tx) error {
		_, _, err := tlog.Append(ctx, tx, testOrigin, ls)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

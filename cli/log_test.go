package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/tlog"
	"elicence/verifier"
	"elicence/verifier/verifiertest"
)

// logFixture is a department with an issuance log served over HTTP, and
// the files log verify reads.
type logFixture struct {
	w                    *verifiertest.World
	d                    *verifiertest.Dept
	log                  *verifiertest.Log
	clock                *verifiertest.Clock
	dir                  string
	trust, root, state   string
	objects              [][]byte
	recordsA, recordsAll string
	first                []byte // the co-signed checkpoint of the first three
}

func newLogFixture(t *testing.T) *logFixture {
	t.Helper()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f := &logFixture{w: verifiertest.NewWorld(t), clock: verifiertest.NewClock(now), dir: t.TempDir()}
	f.d = f.w.Depts[0]
	f.log = f.w.NewLog(t, f.d, f.clock.Now)
	f.trust, f.root, f.state = filepath.Join(f.dir, "trust.cbor"), filepath.Join(f.dir, "root.pem"), filepath.Join(f.dir, "state.json")
	write(t, f.trust, f.w.SignTrust(t, 1, now.Add(-time.Hour), now.Add(24*time.Hour)))
	write(t, f.root, f.w.RootPEM(t))
	// Three credentials, the department records the first two (one as a
	// QR text, one as a leaf hash) but not the third: misissuance.
	var qr []string
	for i := range 3 {
		s := f.w.Sign(t, f.d, f.w.Credential(f.d, fmt.Sprint(i+1), "L1", uint32(i), now.Add(-time.Hour)))
		f.objects = append(f.objects, s.Encode())
		qr = append(qr, format.QRText(format.KindCredential, s))
	}
	f.log.Append(tlog.KindCredential, f.objects...)
	f.first = f.log.Checkpoint()
	hash := func(o []byte) string { return hex.EncodeToString(tlog.NewLeaf(tlog.KindCredential, o).Hash()) }
	f.recordsA = filepath.Join(f.dir, "records-a.txt")
	write(t, f.recordsA, []byte("# exported 2026-12-01\n"+qr[0]+"\n\n"+hash(f.objects[1])+"\n"))
	f.recordsAll = filepath.Join(f.dir, "records-all.txt")
	write(t, f.recordsAll, []byte(qr[0]+"\n"+hash(f.objects[1])+"\n"+hash(f.objects[2])+"\n"))
	return f
}

// compromise marks the department's key compromised a minute after the
// log's checkpoint, gives it a new key, and writes the trust list and a
// status list (by the new key) as of an hour later, which it returns with
// the status file.
func (f *logFixture) compromise(t *testing.T) (time.Time, string) {
	t.Helper()
	now := f.clock.Now()
	f.d.SetKeyState(format.KeyCompromised, now.Add(time.Minute))
	f.w.NewKey(t, f.d)
	later := now.Add(time.Hour)
	write(t, f.trust, f.w.SignTrust(t, 2, later.Add(-time.Minute), later.Add(time.Hour)))
	status := filepath.Join(f.dir, "status.cbor")
	write(t, status, f.w.SignStatus(t, f.d, "L1", format.MinStatusListSize, later, time.Hour, nil))
	return later, status
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *logFixture) run(t *testing.T, args ...string) (result, logReport) {
	t.Helper()
	args = append([]string{"log", "verify", "--trust", f.trust, "--root", f.root, "--json"}, args...)
	r := elicence(t, f.clock.Now(), args...)
	var rep logReport
	if r.code <= 2 {
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("exit %d, output not a report: %v\n%s%s", r.code, err, r.stdout, r.stderr)
		}
	}
	return r, rep
}

// TestLogVerify: the monitor reports the leaf the department's records do
// not know, follows the log from run to run by consistency, and finds a
// fork in what the log serves and in a checkpoint seen elsewhere, without
// advancing its state; an unreachable log is exit 2.
func TestLogVerify(t *testing.T) {
	f := newLogFixture(t)
	r, rep := f.run(t, "--state", f.state, "--records", f.recordsA)
	if r.code != ExitFailed || rep.Result != logProblem || len(rep.Unknown) != 1 || rep.Unknown[0].Index != 2 ||
		rep.Unknown[0].Kind != "credential" || rep.Witness != verifiertest.WitnessName || rep.Size != 3 {
		t.Fatalf("unknown leaf: exit %d %+v\n%s", r.code, rep, r.stderr)
	}
	r, rep = f.run(t, "--state", f.state, "--records", f.recordsAll)
	if r.code != 0 || rep.Result != logSound || rep.PreviousSize == nil || *rep.PreviousSize != 3 {
		t.Fatalf("all known: exit %d %+v\n%s", r.code, rep, r.stderr)
	}

	// The log grows: the next run checks only the new leaf, from the state.
	f.clock.Advance(time.Minute)
	f.log.Append(tlog.KindCredential, []byte("a fourth credential"))
	f.log.Checkpoint()
	r, rep = f.run(t, "--state", f.state)
	if r.code != 0 || rep.From != 3 || rep.To != 4 || *rep.PreviousSize != 3 || rep.Records != nil {
		t.Fatalf("extension: exit %d %+v\n%s", r.code, rep, r.stderr)
	}
	saved, _ := os.ReadFile(f.state)
	// An older genuine checkpoint seen elsewhere is proven consistent
	// (RFC 9162 consistency proof from the tiles, transparency-dev's
	// verifier).
	older := filepath.Join(f.dir, "older.note")
	write(t, older, f.first)
	r, rep = f.run(t, "--checkpoint", older)
	if r.code != 0 || len(rep.Extra) != 1 || !rep.Extra[0].OK || rep.Extra[0].Size != 3 {
		t.Fatalf("older checkpoint: exit %d %+v\n%s", r.code, rep, r.stderr)
	}

	// A checkpoint of size 4 with another root, co-signed by a witness
	// that checked nothing, from a verifier's log: a fork.
	root := make([]byte, tlog.HashSize)
	rand.Read(root)
	forged := f.log.Cosign(f.log.SignOnly(4, root))
	other := filepath.Join(f.dir, "seen.note")
	write(t, other, forged)
	r, rep = f.run(t, "--state", f.state, "--checkpoint", other)
	if r.code != ExitFailed || rep.Fork == nil || rep.Fork.NewNote != string(forged) || rep.Fork.OldNote == "" {
		t.Fatalf("fork from elsewhere: exit %d %+v\n%s", r.code, rep, r.stderr)
	}
	// The log itself now serves that history.
	f.log.Serve(4, forged, true)
	r, rep = f.run(t, "--state", f.state)
	if r.code != ExitFailed || rep.Fork == nil || !strings.Contains(rep.Error, "fork") {
		t.Fatalf("served fork: exit %d %+v\n%s", r.code, rep, r.stderr)
	}
	if now, _ := os.ReadFile(f.state); string(now) != string(saved) {
		t.Fatal("state advanced past a fork")
	}
	// Text output names the fork and prints both notes.
	r = elicence(t, f.clock.Now(), "log", "verify", "--trust", f.trust, "--root", f.root, "--state", f.state)
	if r.code != ExitFailed || !strings.Contains(r.stdout, "FORK") || !strings.Contains(r.stdout, "--- conflicting note\n"+string(forged)) {
		t.Fatalf("text: exit %d\n%s", r.code, r.stdout)
	}

	f.log.Failing.Store(true)
	if r, rep = f.run(t); r.code != ExitIndeterminate || rep.Result != logUnreachable {
		t.Fatalf("log down: exit %d %+v", r.code, rep)
	}
}

// TestLogVerifyUsage: mistakes in the call are exit 3 with a hint; a
// state file of another log, or records that are neither hashes nor QR
// texts, are exit 4 with the reason.
func TestLogVerifyUsage(t *testing.T) {
	f := newLogFixture(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"log", "verify"}, ExitUsage, "no trust list"},
		{[]string{"log", "verify", "--trust", f.trust}, ExitUsage, "no root key"},
		{[]string{"log", "verify", "--trust", f.trust, "--root", f.root, "--dept", "NOPE"}, ExitUsage, "departments with a log: DEPTA"},
		{[]string{"log", "verify", "--trust", f.trust, "--root", f.root, "--url", "ftp://x/"}, ExitUsage, "http or https"},
	} {
		r := elicence(t, f.clock.Now(), c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	bad := filepath.Join(f.dir, "bad.txt")
	write(t, bad, []byte("not a hash\n"))
	r := elicence(t, f.clock.Now(), "log", "verify", "--trust", f.trust, "--root", f.root, "--records", bad)
	if r.code != ExitError || !strings.Contains(r.stderr, "line 1: neither a leaf hash") {
		t.Errorf("bad records: exit %d %q", r.code, r.stderr)
	}
	write(t, f.state, []byte(`{"origin":"elsewhere/tlog/X","checkpoint":"","range":[]}`))
	r = elicence(t, f.clock.Now(), "log", "verify", "--trust", f.trust, "--root", f.root, "--state", f.state)
	if r.code != ExitError || !strings.Contains(r.stderr, "give each log its own --state") {
		t.Errorf("foreign state: exit %d %q", r.code, r.stderr)
	}
}

// TestVerifyWithLogProofs: elicence verify accepts a credential of a key
// compromised after it was logged when --log-proofs holds its tlog-proof,
// naming the checkpoint; without the proof it is KEY_COMPROMISED.
func TestVerifyWithLogProofs(t *testing.T) {
	f := newLogFixture(t)
	ctx := context.Background()
	st, _ := f.log.Store.LogState(ctx, f.log.Origin)
	path, err := tlog.NewProofBuilder(st.Size, func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, f.log.Store, f.log.Origin, level, index, p)
	}).InclusionProof(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tlog.InclusionProof{Leaf: tlog.NewLeaf(tlog.KindCredential, f.objects[0]), Index: 0, Proof: path, Checkpoint: f.log.Checkpoint()}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(f.dir, "bundle")
	if err := verifier.WriteBundleProofs(bundle, raw); err != nil {
		t.Fatal(err)
	}
	later, status := f.compromise(t)
	s, _, err := format.ParseCredential(f.objects[0])
	if err != nil {
		t.Fatal(err)
	}
	text := format.QRText(format.KindCredential, s)
	args := []string{"verify", "--trust", f.trust, "--root", f.root, "--status", status}
	r := elicence(t, later, append(args, "--log-proofs", filepath.Join(bundle, verifier.BundleProofDir), text)...)
	if r.code != 0 || !strings.Contains(r.stdout, "签发日志 issuance log: leaf 0 of checkpoint "+f.log.Origin+" size 3") {
		t.Fatalf("with the proof: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := elicence(t, later, append(args, text)...); r.code != ExitFailed || !strings.Contains(r.stdout, "KEY_COMPROMISED") {
		t.Fatalf("without: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestLogProofs: log proofs fetches and verifies the proofs of the objects
// given, writes them into a bundle, and says which have none (exit 1);
// elicence verify then accepts a logged credential of the key compromised
// since from that bundle, offline.
func TestLogProofs(t *testing.T) {
	f := newLogFixture(t)
	now := f.clock.Now()
	var lines []string
	for _, o := range f.objects[:2] {
		s, _, err := format.ParseCredential(o)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, format.QRText(format.KindCredential, s))
	}
	lines = append(lines, hex.EncodeToString(tlog.NewLeaf(tlog.KindCredential, f.objects[2]).Marshal()))
	unlogged := f.w.Sign(t, f.d, f.w.Credential(f.d, "9", "L1", 9, now.Add(-time.Hour)))
	lines = append(lines, format.QRText(format.KindCredential, unlogged))
	in := filepath.Join(f.dir, "objects.txt")
	write(t, in, []byte(strings.Join(lines, "\n")+"\n"))
	bundle := filepath.Join(f.dir, "bundle")
	r := elicence(t, now, "log", "proofs", "--trust", f.trust, "--root", f.root, "--in", in, "--out", bundle)
	if r.code != ExitFailed || !strings.Contains(r.stdout, "3 proofs written") || !strings.Contains(r.stdout, "line 4: no proof") {
		t.Fatalf("log proofs: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(bundle, verifier.BundleProofDir, "*.tlog-proof"))
	if len(files) != 3 {
		t.Fatalf("%d proof files", len(files))
	}
	later, status := f.compromise(t)
	f.log.Failing.Store(true) // offline: the bundle alone
	r = elicence(t, later, "verify", "--trust", f.trust, "--root", f.root, "--status", status,
		"--log-proofs", filepath.Join(bundle, verifier.BundleProofDir), lines[1])
	if r.code != 0 || !strings.Contains(r.stdout, "leaf 1 of checkpoint") {
		t.Fatalf("verify from the bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

package tlog_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicence/internal/testenv"
	"elicence/keys"
	"elicence/tlog"

	"golang.org/x/mod/sumdb/note"
)

// sigOfLine returns the raw signature bytes (after the 4-byte key ID) of
// the signature line by name in a signed note.
func sigOfLine(t *testing.T, msg []byte, name string) []byte {
	t.Helper()
	prefix := "— " + name + " "
	for _, line := range strings.Split(string(msg), "\n") {
		if s, ok := strings.CutPrefix(line, prefix); ok {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			return b[4:]
		}
	}
	t.Fatalf("no signature by %s", name)
	return nil
}

// TestOpenSSLJudgesNoteSignatures has OpenSSL 3 verify the department's
// checkpoint signature over the note text and the witness's cosignature
// over "cosignature/v1\ntime T\n" ‖ text, as docs/design/issuance-log.md
// specifies them, with the public keys exported as SubjectPublicKeyInfo.
func TestOpenSSLJudgesNoteSignatures(t *testing.T) {
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	d, w := department(t), witnessAt(t, &now)
	s, _ := logOf(t, testOrigin, 12, leafN)
	wit := &tlog.Witness{Cosigner: w.signer, Logs: map[string]note.Verifier{testOrigin: d.verifier}}
	_, msg, err := wit.Cosign(signedCheckpoint(t, s, d), testOrigin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := bytes.Cut(msg, []byte("\n\n"))
	text = append(text, '\n')
	work := t.TempDir()
	judge := func(p party, signed, raw []byte) error {
		pub, err := keys.MarshalPublicKeyPEM(&p.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		der, err := keys.DERSignature(raw)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(work, "pub.pem"), pub, 0o644)
		os.WriteFile(filepath.Join(work, "msg"), signed, 0o644)
		os.WriteFile(filepath.Join(work, "sig"), der, 0o644)
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(work, "pub.pem"), "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:"+keys.DefaultUID, "-in", filepath.Join(work, "msg"), "-sigfile", filepath.Join(work, "sig")).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := judge(d, text, sigOfLine(t, msg, deptKeyName)); err != nil {
		t.Errorf("openssl rejected the checkpoint signature: %v", err)
	}
	cosig := sigOfLine(t, msg, witnessKeyName) // timestamp ‖ r‖s
	cosigned := append([]byte("cosignature/v1\ntime "+strconv.FormatInt(now.Unix(), 10)+"\n"), text...)
	if err := judge(w, cosigned, cosig[8:]); err != nil {
		t.Errorf("openssl rejected the cosignature: %v", err)
	}
	if err := judge(w, text, cosig[8:]); err == nil {
		t.Error("openssl accepted the cosignature over the bare note text")
	}
}

// TestLayers keeps the package shareable by the stateless verifier: it
// depends on no issuer, store, driver or verifier package.
func TestLayers(t *testing.T) {
	testenv.SkipShort(t, "runs go list")
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", "elicence/tlog").Output()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		for _, bad := range []string{"elicence/issuer", "elicence/verifier", "elicence/api", "elicence/cli", "github.com/jackc/pgx", "modernc.org/sqlite"} {
			if p.ImportPath == bad || strings.HasPrefix(p.ImportPath, bad+"/") {
				t.Errorf("tlog depends on %s", p.ImportPath)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list listed only %d packages", n)
	}
}

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"elicence/format"
	"elicence/internal/testenv"
	"elicence/internal/vectors"
	"elicence/issuer"
	"elicence/keys"
)

// extractSignature splits a credential QR text into the signed payload and
// the signature in DER, the two files OpenSSL needs.
func extractSignature(t *testing.T, text, dir string) (payload, sig string) {
	t.Helper()
	kind, raw, err := format.ParseQRText(text)
	if err != nil || kind != format.KindCredential {
		t.Fatalf("qr text: %v %v", kind, err)
	}
	s, _, err := format.ParseCredential(raw)
	if err != nil {
		t.Fatal(err)
	}
	der, err := keys.DERSignature(s.Signature)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig = filepath.Join(dir, "payload.bin"), filepath.Join(dir, "sig.der")
	os.WriteFile(payload, s.Payload, 0o644)
	os.WriteFile(sig, der, 0o644)
	return payload, sig
}

func opensslVerify(openssl, pub, payload, sig string) (string, error) {
	out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+keys.DefaultUID, "-in", payload, "-sigfile", sig).CombinedOutput()
	return string(out), err
}

// TestOpenSSLJudgesCLI: OpenSSL 3 verifies the signature of a credential the
// CLI issued, with the department public key the CLI exported, refuses it
// over a changed payload, and verifies the department certificate under the
// root certificate.
func TestOpenSSLJudgesCLI(t *testing.T) {
	t.Parallel()
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	d := newDemo(t)
	text, err := os.ReadFile(d.qrText)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig := extractSignature(t, strings.TrimSpace(string(text)), d.dir)
	pub := filepath.Join(d.keys, keys.DeptFile(issuer.DemoDepartmentCode, "pub"))
	if out, err := opensslVerify(openssl, pub, payload, sig); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl rejected the credential signature: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(payload)
	b[len(b)/2] ^= 0x01
	os.WriteFile(payload, b, 0o644)
	if out, err := opensslVerify(openssl, pub, payload, sig); err == nil {
		t.Fatalf("openssl accepted a changed payload:\n%s", out)
	}
	out, err := exec.Command(openssl, "verify", "-vfyopt", "distid:"+keys.DefaultUID, "-CAfile", filepath.Join(d.keys, keys.RootCertFile),
		filepath.Join(d.keys, keys.DeptFile(issuer.DemoDepartmentCode, "crt"))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify of the department certificate: %v\n%s", err, out)
	}
}

// TestOpenSSLJudgesVectors: OpenSSL verifies the valid test vectors'
// signatures with the vectors' exported public keys, so the vectors are
// right by a judge other than our own code.
func TestOpenSSLJudgesVectors(t *testing.T) {
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	vs, err := vectors.Load("../testdata/vectors")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name != "credential_valid" && v.Name != "credential_valid_driving" {
			continue
		}
		payload, sig := extractSignature(t, v.Text, t.TempDir())
		if out, err := opensslVerify(openssl, "../testdata/vectors/keys/dept-a.pub", payload, sig); err != nil {
			t.Errorf("%s: openssl rejected the signature: %v\n%s", v.Name, err, out)
		}
	}
}

// TestZbarReadsPNG: an independent QR decoder reads the CLI's PNG back to
// exactly the QR text.
func TestZbarReadsPNG(t *testing.T) {
	t.Parallel()
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	d := newDemo(t)
	want, err := os.ReadFile(d.qrText)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(zbarimg, "--raw", "-q", d.png)
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("zbarimg: %v\n%s", err, stderr.String())
	}
	if string(got) != string(want) {
		t.Fatalf("zbarimg read\n%q\nwant\n%q", got, want)
	}
}

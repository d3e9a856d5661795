package cms_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"elicence/document/cms"
	"elicence/document/cms/cmstest"
	"elicence/internal/testenv"
)

// TestOpenSSLCMSVerify has `openssl cms -verify` judge our SignedData and
// pins down why OpenSSL 3.0 refuses it (docs/design/document-signing.md,
// "openssl cms -verify"):
//
//   - OpenSSL's CMS code computes the SM2 Z value with an empty
//     distinguishing ID (it sets none, and its SM2 provider has no default),
//     while GB/T 35275 and GM/T 0009 sign with the default ID
//     1234567812345678, as we do. So `openssl cms -verify` refuses our
//     PKCS #7-profile SignedData at the signature step only: the same
//     SignedData with its signature re-made by OpenSSL under the empty ID
//     (`openssl pkeyutl -sign -rawin -digest sm3`, no distid) verifies, which
//     proves that OpenSSL accepts everything else — the structure, the
//     certificates, the signed attributes, content-type, message-digest
//     against the content, the algorithm identifiers.
//   - `openssl pkeyutl -verify` with distid:1234567812345678 accepts our
//     signature and without it refuses it (the same ID question, outside CMS).
//   - OpenSSL knows no GB/T 35275 content types: a GM-profile .p7s is
//     "content type not signed data" before any check.
//
// Should a later OpenSSL verify our SignedData as it is (a default ID in
// CMS), the test says so in its log and still passes.
func TestOpenSSLCMSVerify(t *testing.T) {
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(openssl, args...).CombinedOutput()
		return string(out), err
	}
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "11100000000013127D", "测试市市场监督管理局", now)
	s.Profile = cms.ProfilePKCS7
	content := []byte("准予行政许可决定书\n")
	der, err := s.Sign(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	file := write("content.txt", content)
	verify := func(p7s []byte, data string) (string, error) {
		return run("cms", "-verify", "-binary", "-inform", "DER", "-in", write("f.p7s", p7s), "-content", data, "-noverify", "-out", os.DevNull)
	}

	// As we sign it: refused at the signature step, if at all.
	if out, err := verify(der, file); err == nil {
		t.Logf("this OpenSSL verifies our SignedData as it is (it uses the default distinguishing ID in CMS):\n%s", out)
	} else if !strings.Contains(out, "CMS_SignerInfo_verify") {
		t.Fatalf("openssl cms -verify refuses our SignedData before the signature step:\n%s", out)
	}

	// The same SignedData, its signature re-made by OpenSSL with the empty
	// distinguishing ID, spliced in (same length, so no length changes).
	kder, err := smx509.MarshalPKCS8PrivateKey(s.Key.(*sm2.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	key := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	attrs := write("attrs.der", sd.SignedAttributes)
	var resigned []byte
	for range 64 {
		sig, err := exec.Command(openssl, "pkeyutl", "-sign", "-inkey", key, "-rawin", "-digest", "sm3", "-in", attrs).Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -sign: %v", err)
		}
		if len(sig) == len(sd.Signature) {
			resigned = bytes.Replace(der, sd.Signature, sig, 1)
			break
		}
	}
	if resigned == nil {
		t.Fatal("openssl made no signature of our signature's length in 64 tries")
	}
	if out, err := verify(resigned, file); err != nil || !strings.Contains(out, "Verification successful") {
		t.Fatalf("openssl cms -verify refuses our SignedData even with its own signature: %v\n%s", err, out)
	}
	// And it checks the content: a changed file is refused.
	if out, err := verify(resigned, write("changed.txt", append(bytes.Clone(content), '!'))); err == nil {
		t.Fatalf("openssl cms -verify accepted a changed content:\n%s", out)
	}

	// The ID, outside CMS: ours verifies with the default ID only.
	pub := write("pub.pem", []byte(mustRun(t, run, "x509", "-inform", "DER", "-noout", "-pubkey", "-in", write("signer.der", sd.Signer.Raw))))
	sigFile := write("sig.der", sd.Signature)
	if out, err := run("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", attrs, "-sigfile", sigFile); err != nil {
		t.Fatalf("pkeyutl with the default id: %v\n%s", err, out)
	}
	if _, err := run("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3", "-in", attrs, "-sigfile", sigFile); err == nil {
		t.Log("this OpenSSL's SM2 default distinguishing ID is 1234567812345678")
	}

	// The GB/T 35275 content types are unknown to OpenSSL.
	s.Profile = cms.ProfileGM
	gm, err := s.Sign(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(gm, file); err == nil {
		t.Log("this OpenSSL knows the GB/T 35275 content types")
	} else if !strings.Contains(out, "content type not signed data") {
		t.Errorf("GM profile: want \"content type not signed data\", got:\n%s", out)
	}
}

func mustRun(t *testing.T, run func(...string) (string, error), args ...string) string {
	t.Helper()
	out, err := run(args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

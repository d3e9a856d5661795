package keys

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"elicence/internal/testenv"
)

func TestSignVerify(t *testing.T) {
	k, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("电子证照")
	sig, err := Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != SignatureSize {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	if !Verify(&k.PublicKey, msg, sig) {
		t.Fatal("valid signature rejected")
	}
	for i := range sig {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		if Verify(&k.PublicKey, msg, bad) {
			t.Fatalf("signature with byte %d flipped accepted", i)
		}
	}
	if Verify(&k.PublicKey, []byte("电子证照!"), sig) {
		t.Fatal("signature over other message accepted")
	}
	other, _ := Generate(nil)
	if Verify(&other.PublicKey, msg, sig) {
		t.Fatal("signature accepted under another key")
	}
	if Verify(&k.PublicKey, msg, sig[:63]) {
		t.Fatal("short signature accepted")
	}
}

func TestSignatureConversion(t *testing.T) {
	raw := make([]byte, 64)
	raw[31], raw[63] = 7, 9 // small integers: DER must drop the leading zeros
	der, err := DERSignature(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x30, 6, 2, 1, 7, 2, 1, 9}; !bytes.Equal(der, want) {
		t.Fatalf("DER = %x, want %x", der, want)
	}
	back, err := RawSignature(der)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("round trip = %x, %v", back, err)
	}
	if _, err := RawSignature(append(der, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestKeyID(t *testing.T) {
	k, _ := Generate(nil)
	id, err := IDOf(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseID(id.String())
	if err != nil || parsed != id {
		t.Fatalf("ParseID(%s) = %v, %v", id, parsed, err)
	}
	if _, err := ParseID("abc"); err == nil {
		t.Fatal("short id accepted")
	}
	k2, _ := Generate(nil)
	id2, _ := IDOf(&k2.PublicKey)
	if id == id2 {
		t.Fatal("two keys share an id")
	}
}

func TestPrivateKeyEncryption(t *testing.T) {
	k, _ := Generate(nil)
	pemBytes, err := MarshalPrivateKey(k, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pemBytes, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatal("not an encrypted PEM")
	}
	got, err := ParsePrivateKey(pemBytes, []byte("correct horse"))
	if err != nil || !got.Equal(k) {
		t.Fatalf("decrypt: %v", err)
	}
	if _, err := ParsePrivateKey(pemBytes, []byte("wrong")); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	if _, err := MarshalPrivateKey(k, nil); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}

func TestPassphrase(t *testing.T) {
	t.Setenv("TEST_PASS", "")
	t.Setenv("TEST_PASS_FILE", "")
	if _, err := Passphrase("TEST_PASS"); err == nil {
		t.Fatal("no passphrase accepted")
	}
	f := filepath.Join(t.TempDir(), "p")
	os.WriteFile(f, []byte("from-file\n"), 0o600)
	t.Setenv("TEST_PASS_FILE", f)
	if p, err := Passphrase("TEST_PASS"); err != nil || string(p) != "from-file" {
		t.Fatalf("file passphrase = %q, %v", p, err)
	}
	t.Setenv("TEST_PASS", "from-env")
	if p, err := Passphrase("TEST_PASS"); err != nil || string(p) != "from-env" {
		t.Fatalf("env passphrase = %q, %v", p, err)
	}
}

func initDir(t *testing.T) (string, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	pass := []byte("test passphrase")
	err := InitDir(dir, pass, Subject{Code: "ROOT", Name: "示例省数据局"}, Subject{Code: "11100000000013127D", Name: "示例市市场监督管理局"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return dir, pass
}

func TestInitDir(t *testing.T) {
	dir, pass := initDir(t)
	for _, f := range []string{RootKeyFile, DeptFile("11100000000013127D", "key")} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	root, err := LoadPair(dir, RootKeyFile, RootCertFile, pass)
	if err != nil {
		t.Fatal(err)
	}
	dept, err := LoadPair(dir, DeptFile("11100000000013127D", "key"), DeptFile("11100000000013127D", "crt"), pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyIssuerCertificate(root.Cert, dept.Cert, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := VerifyIssuerCertificate(dept.Cert, root.Cert, time.Now()); err == nil {
		t.Fatal("root accepted as signed by the department")
	}
	if err := InitDir(dir, pass, Subject{Code: "ROOT"}, Subject{Code: "X"}, time.Now()); err == nil {
		t.Fatal("InitDir overwrote an existing root")
	}
	if _, err := LoadPair(dir, RootKeyFile, RootCertFile, []byte("nope")); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
}

// TestOpenSSLJudges has OpenSSL 3, which nobody here wrote, verify our SM2
// signature with our exported public key and our certificate chain.
func TestOpenSSLJudges(t *testing.T) {
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	dir, pass := initDir(t)
	dept, err := LoadPair(dir, DeptFile("11100000000013127D", "key"), DeptFile("11100000000013127D", "crt"), pass)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("licence bytes 电子证照 \x00\x01\x02")
	raw, err := Sign(dept.Key, msg)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := DERSignature(raw)
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "msg"), msg, 0o644)
	os.WriteFile(filepath.Join(work, "sig"), der, 0o644)
	pub := filepath.Join(dir, DeptFile("11100000000013127D", "pub"))
	run := func(args ...string) (string, error) {
		out, err := exec.Command(openssl, args...).CombinedOutput()
		return string(out), err
	}
	verify := func(sigFile string) (string, error) {
		return run("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:"+DefaultUID, "-in", filepath.Join(work, "msg"), "-sigfile", sigFile)
	}
	if out, err := verify(filepath.Join(work, "sig")); err != nil {
		t.Fatalf("openssl rejected our signature: %v\n%s", err, out)
	}
	bad := bytes.Clone(raw)
	bad[10] ^= 0x80
	badDER, _ := DERSignature(bad)
	os.WriteFile(filepath.Join(work, "bad"), badDER, 0o644)
	if out, err := verify(filepath.Join(work, "bad")); err == nil {
		t.Fatalf("openssl accepted a tampered signature:\n%s", out)
	}
	// OpenSSL 3.0 applies no distinguishing ID to certificate signatures
	// unless told; ours use the GB/T 32918 default, as GM/T 0015 requires.
	out, err := run("verify", "-vfyopt", "distid:"+DefaultUID, "-CAfile", filepath.Join(dir, RootCertFile), filepath.Join(dir, DeptFile("11100000000013127D", "crt")))
	if err != nil {
		t.Fatalf("openssl verify of issuer certificate: %v\n%s", err, out)
	}
}

// Package cmstest holds test helpers for signed documents: a throw-away
// trust-list root with department keys, and OpenSSL as an outside judge of
// a CMS SignedData.
package cmstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicence/document/cms"
	"elicence/internal/testenv"
	"elicence/keys"
)

// Root is a throw-away trust-list root.
type Root struct {
	Key  *sm2.PrivateKey
	Cert *smx509.Certificate
}

// NewRoot makes a root certificate valid at now.
func NewRoot(t testing.TB, now time.Time) Root {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := keys.NewRootCertificate(k, keys.Subject{Code: "ROOT", Name: "测试信任根"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Root{Key: k, Cert: c}
}

// Department makes a department key certified by the root and returns a
// signer for it with the chain [department, root] and the clock now.
func (r Root) Department(t testing.TB, code, name string, now time.Time) cms.Signer {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := keys.NewIssuerCertificate(r.Cert.Raw, r.Key, &k.PublicKey, keys.Subject{Code: code, Name: name}, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cms.Signer{Key: k, Chain: []*smx509.Certificate{c, r.Cert}, Now: func() time.Time { return now }}
}

// OpenSSLJudge has OpenSSL parse every certificate of the SignedData der
// and verify its SM2 signature over the signed attributes (openssl pkeyutl,
// SM3, default distinguishing ID) with the signer certificate's key as
// OpenSSL extracts it. It returns the signer's subject as OpenSSL prints it.
func OpenSSLJudge(t testing.TB, der []byte) string {
	t.Helper()
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	sd, err := cms.Parse(der)
	if err != nil {
		t.Fatalf("parse signed data: %v", err)
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// OpenSSL parses the whole structure.
	run("asn1parse", "-inform", "DER", "-in", write("sd.der", trimZeros(der)))
	for i, c := range sd.Certificates {
		run("x509", "-inform", "DER", "-noout", "-subject", "-in", write("cert"+string(rune('0'+i))+".der", c.Raw))
	}
	signer := write("signer.der", sd.Signer.Raw)
	subject := strings.TrimSpace(run("x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "utf8", "-in", signer))
	pub := write("pub.pem", []byte(run("x509", "-inform", "DER", "-noout", "-pubkey", "-in", signer)))
	run("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+keys.DefaultUID,
		"-in", write("attrs.der", sd.SignedAttributes), "-sigfile", write("sig.der", sd.Signature))
	// And it must refuse a changed attribute set, or the check proves nothing.
	bad := append([]byte(nil), sd.SignedAttributes...)
	bad[len(bad)-1] ^= 1
	if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+keys.DefaultUID, "-in", write("bad.der", bad), "-sigfile", filepath.Join(dir, "sig.der")).CombinedOutput(); err == nil {
		t.Fatalf("openssl verified changed signed attributes:\n%s", out)
	}
	return subject
}

// trimZeros returns the DER element at the start of b without the zero
// padding a PDF's /Contents hole adds after it. It reads the element's
// length rather than stripping zero bytes: a DER may itself end in 0x00
// (a signature's last byte, once in 256 signings).
func trimZeros(b []byte) []byte {
	s := cryptobyte.String(b)
	var elem cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1Element(&elem, &tag) {
		return b
	}
	return elem
}

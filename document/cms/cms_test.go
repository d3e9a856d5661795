package cms_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/document/cms"
	"elicence/document/cms/cmstest"
	"elicence/keys"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestSignVerify(t *testing.T) {
	root := cmstest.NewRoot(t, now)
	for _, p := range []cms.Profile{cms.ProfileGM, cms.ProfilePKCS7} {
		t.Run(p.String(), func(t *testing.T) {
			s := root.Department(t, "11100000000013127D", "测试市市场监督管理局", now)
			s.Profile = p
			content := []byte(strings.Repeat("批复 approval\n", 10000))
			der, err := s.Sign(bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			sd, err := cms.Verify(der, bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if !sd.SigningTime.Equal(now) {
				t.Errorf("signing time %v, want the injected clock's %v", sd.SigningTime, now)
			}
			if sd.Signer.Subject.SerialNumber != "11100000000013127D" || sd.Profile != p || len(sd.Certificates) != 2 {
				t.Errorf("signer %v profile %v certs %d", sd.Signer.Subject, sd.Profile, len(sd.Certificates))
			}
			if sum := sm3.Sum(content); !bytes.Equal(sd.Digest, sum[:]) {
				t.Error("digest attribute is not the content's sm3")
			}
			// The signed attributes depend on nothing but the inputs.
			der2, _ := s.Sign(bytes.NewReader(content))
			sd2, err := cms.Parse(der2)
			if err != nil || !bytes.Equal(sd.SignedAttributes, sd2.SignedAttributes) {
				t.Error("signed attributes are not repeatable under a fixed clock")
			}

			changed := bytes.Clone(content)
			changed[len(changed)/2] ^= 1
			if _, err := cms.Verify(der, bytes.NewReader(changed)); !errors.Is(err, cms.ErrDigest) {
				t.Errorf("changed content: %v, want ErrDigest", err)
			}
			// Flip each byte of the signature value: never accepted.
			sig := bytes.Index(der, sd.Signature)
			for i := sig; i < sig+len(sd.Signature); i++ {
				bad := bytes.Clone(der)
				bad[i] ^= 0x01
				if _, err := cms.Verify(bad, bytes.NewReader(content)); err == nil {
					t.Fatalf("signature byte %d changed and still verified", i-sig)
				}
			}
			// A signed attribute changed: the signing time.
			at := bytes.Index(der, []byte("260314092653Z"))
			bad := bytes.Clone(der)
			bad[at+11] = '4' // 09:26:54
			if _, err := cms.Verify(bad, bytes.NewReader(content)); !errors.Is(err, cms.ErrSignature) {
				t.Errorf("changed signed attributes: %v", err)
			}
			if got := cmstest.OpenSSLJudge(t, der); !strings.Contains(got, "测试市市场监督管理局") {
				t.Errorf("openssl signer subject %q", got)
			}
		})
	}
}

func TestWrongSigner(t *testing.T) {
	root := cmstest.NewRoot(t, now)
	a := root.Department(t, "A", "甲", now)
	b := root.Department(t, "B", "乙", now)
	a.Chain = b.Chain
	if _, err := a.Sign(strings.NewReader("x")); err == nil {
		t.Fatal("signed with a certificate that is not the key's")
	}
	a.Now = nil
	if _, err := b.SignDigest([]byte("short")); err == nil {
		t.Fatal("signed a digest of the wrong length")
	}
}

func TestParseRejects(t *testing.T) {
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	der, err := s.Sign(strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(der); i++ {
		if _, err := cms.Parse(der[:i]); !errors.Is(err, cms.ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v, want ErrFormat", i, err)
		}
	}
	if _, err := cms.Parse(append(bytes.Clone(der), 1)); !errors.Is(err, cms.ErrFormat) {
		t.Fatal("trailing byte accepted")
	}
	if _, err := cms.Parse(append(bytes.Clone(der), 0, 0, 0)); err != nil {
		t.Fatalf("zero padding (as in a pdf /Contents) refused: %v", err)
	}
}

// errReader fails after n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestReadError(t *testing.T) {
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	if _, err := s.Sign(&errReader{n: 1000}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	root := cmstest.NewRoot(f, now)
	s := root.Department(f, "A", "甲", now)
	der, err := s.Sign(strings.NewReader("x"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := cms.Parse(b)
		if err != nil {
			if !errors.Is(err, cms.ErrFormat) {
				t.Fatalf("parse error %v does not wrap ErrFormat", err)
			}
			return
		}
		if sd.Signer == nil || len(sd.Digest) != sm3.Size {
			t.Fatal("parsed without signer or digest")
		}
	})
}

// TestKeyDirectory signs with a department key as package keys stores it
// and checks the signer against the directory's root.
func TestKeyDirectory(t *testing.T) {
	dir := t.TempDir()
	pass := []byte("test passphrase")
	dept := keys.Subject{Code: "11100000000013127D", Name: "测试市市场监督管理局"}
	if err := keys.InitDir(dir, pass, keys.Subject{Code: "ROOT", Name: "根"}, dept, now); err != nil {
		t.Fatal(err)
	}
	pair, err := keys.LoadPair(dir, keys.DeptFile(dept.Code, "key"), keys.DeptFile(dept.Code, "crt"), pass)
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(dir, keys.RootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParseCertificate(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := cms.NewSigner(pair, func() time.Time { return now.Add(time.Hour) }, root)
	der, err := s.Sign(strings.NewReader("证明"))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Verify(der, strings.NewReader("证明"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.VerifyIssuer(root); err != nil {
		t.Fatalf("issuer: %v", err)
	}
	other := cmstest.NewRoot(t, now)
	if err := sd.VerifyIssuer(other.Cert); err == nil {
		t.Fatal("signer accepted under another root")
	}
	// Signed after the certificate expired: refused.
	late := cms.NewSigner(pair, func() time.Time { return now.Add(keys.IssuerValidity + time.Hour) }, root)
	der, _ = late.Sign(strings.NewReader("x"))
	sd, err = cms.Verify(der, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.VerifyIssuer(root); err == nil {
		t.Fatal("signature after the certificate's expiry accepted")
	}
}

// A receipt travels as a fourth signed attribute: parsed back, covered by
// the signature, and OpenSSL still judges the SignedData sound.
func TestReceiptAttribute(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "11350100MB00000012", "测试市市场监督管理局", now)
	s.Receipt = []byte("receipt envelope bytes")
	content := []byte("document")
	der, err := s.Sign(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Verify(der, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sd.Receipt, s.Receipt) {
		t.Fatalf("receipt %q", sd.Receipt)
	}
	at := bytes.Index(der, s.Receipt)
	bad := bytes.Clone(der)
	bad[at] ^= 1
	if _, err := cms.Verify(bad, bytes.NewReader(content)); !errors.Is(err, cms.ErrSignature) {
		t.Errorf("changed receipt: %v", err)
	}
	s.Receipt = nil
	plain, _ := s.Sign(bytes.NewReader(content))
	if sd, err := cms.Verify(plain, bytes.NewReader(content)); err != nil || sd.Receipt != nil {
		t.Errorf("without receipt: %v %q", err, sd.Receipt)
	}
	cmstest.OpenSSLJudge(t, der)
}

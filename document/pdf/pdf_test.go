package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/document/cms/cmstest"
	"elicence/document/pdf/pdftest"
	"elicence/internal/testenv"
)

// minimalPDF writes a one-page PDF with a classic cross-reference table.
func minimalPDF() []byte { return minimalRotated(0) }

// minimalRotated is minimalPDF with the page shown turned by rotate degrees.
func minimalRotated(rotate int) []byte { return pdftest.OnePage("minimal", rotate) }

func requireFont(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultFontPath); err != nil {
		testenv.Missing(t, DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
}

func TestSignVerifyMinimal(t *testing.T) {
	requireFont(t)
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", deptName, now)
	in := minimalPDF()
	out, err := Sign(in, Options{Signer: s, Reason: "批复", Stamp: &Stamp{QRText: "DR1:ABC", Department: deptName, DocumentNumber: docNum}})
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(out)
	if err := r.Err(); err != nil || len(r.Signatures) != 1 || r.Appended() != 0 {
		t.Fatalf("verify: %v %+v", err, r)
	}
	sig := r.Signatures[0]
	if !sig.CMS.SigningTime.Equal(now) || sig.CMS.Signer.Subject.CommonName != deptName {
		t.Fatalf("cms: %v %v", sig.CMS.SigningTime, sig.CMS.Signer.Subject)
	}
	// The stamp's text is in the file as a Type 3 font with a ToUnicode
	// map, the date in China time (01:26 UTC is 09:26 in Beijing).
	if !bytes.Contains(out, []byte("/Subtype /Type3")) || !bytes.Contains(out, []byte("/ToUnicode")) {
		t.Fatal("no type 3 subset font")
	}
	if DateText(now) != "2026年3月14日" || DateText(time.Date(2026, 3, 13, 16, 0, 0, 0, time.UTC)) != "2026年3月14日" {
		t.Fatalf("date text %s", DateText(now))
	}

	// Every byte of the signed ranges matters: flip a spread of them.
	br := sig.ByteRange
	step := max(1, len(out)/400)
	for i := 0; i < len(out); i += step {
		if int64(i) >= br[1] && int64(i) < br[2] {
			continue // the hole
		}
		bad := bytes.Clone(out)
		bad[i] ^= 0x20
		if Verify(bad).Err() == nil {
			t.Fatalf("byte %d changed and the file still passed", i)
		}
	}
	// A change inside the hole other than the signature's own zero
	// padding breaks the CMS.
	bad := bytes.Clone(out)
	bad[br[1]+5] = 'F'
	if Verify(bad).Err() == nil {
		t.Fatal("changed signature contents passed")
	}
	// Appended bytes of any kind are reported.
	for _, tail := range []string{"\n", "% a comment\n", "garbage"} {
		r := Verify(append(bytes.Clone(out), tail...))
		if err := r.Err(); !errors.Is(err, ErrAppended) || r.Appended() != int64(len(tail)) {
			t.Fatalf("appended %q: %v (%d bytes)", tail, err, r.Appended())
		}
	}
	// Truncated: the range reaches past the end.
	if err := Verify(out[:len(out)-1]).Err(); !errors.Is(err, ErrByteRange) {
		t.Fatalf("truncated: %v, want ErrByteRange", err)
	}
	if err := Verify(in).Err(); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("unsigned: %v, want ErrNoSignature", err)
	}
}

func TestSignWithoutStamp(t *testing.T) {
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	out, err := Sign(minimalPDF(), Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(out).Err(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("/Type3")) {
		t.Fatal("stamp drawn though none asked")
	}
}

func TestSignErrors(t *testing.T) {
	requireFont(t)
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	stamp := func(f func(*Stamp)) *Stamp {
		st := &Stamp{QRText: "DR1:ABC", Department: "甲", DocumentNumber: "甲〔2026〕1号"}
		f(st)
		return st
	}
	cases := []struct {
		name string
		in   []byte
		opts Options
		want string
	}{
		{"not a pdf", []byte("hello"), Options{Signer: s}, "not a pdf"},
		{"no clock", minimalPDF(), Options{}, "no clock"},
		{"page out of range", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.Page = 2 })}, "page 2: the document has 1 pages"},
		{"no qr", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.QRText = "" })}, "no qr text"},
		{"qr not alphanumeric", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.QRText = "lower" })}, "alphanumeric"},
		{"no department", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.Department = "" })}, "department name is required"},
		{"no glyph", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.Department = "\U0001F600" })}, "no glyph"},
		{"no font", minimalPDF(), Options{Signer: s, Stamp: stamp(func(st *Stamp) { st.FontPath = "/nonexistent.ttc" })}, "fonts-noto-cjk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "no clock" && c.opts.Signer.Now == nil {
				t.Fatal("bad case")
			}
			_, err := Sign(c.in, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestVerifyMalformedByteRange(t *testing.T) {
	for _, in := range []string{
		"/ByteRange [0 10 20 9223372036854775807]",
		"/ByteRange [0 9223372036854775807 9223372036854775807 9223372036854775807]",
		"/ByteRange [0 1 2]",
		"/ByteRange [1 2 5 1] <00>",
		"/ByteRange [0 2 4 0]xx",
		"/ByteRange [0 11 14 0]/ByteRange <zz>",
		"/ByteRange",
	} {
		r := Verify([]byte(in))
		if err := r.Err(); err == nil {
			t.Errorf("%q passed", in)
		}
		if len(r.Signatures) == 0 || !errors.Is(r.Signatures[0].Err, ErrByteRange) {
			t.Errorf("%q: %+v, want ErrByteRange", in, r.Signatures)
		}
	}
}

func FuzzVerify(f *testing.F) {
	root := cmstest.NewRoot(f, now)
	s := root.Department(f, "A", "甲", now)
	out, err := Sign(minimalPDF(), Options{Signer: s})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(out)
	f.Add([]byte("/ByteRange [0 1 3 0]<>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := Verify(b)
		if r.Err() == nil && r.Covered != int64(len(b)) {
			t.Fatal("passed without covering the file")
		}
	})
}

// TestRotatedPages stamps pages shown turned by 0, 90, 180 and 270
// degrees: as shown, the QR code is upright in the bottom right corner.
func TestRotatedPages(t *testing.T) {
	requireFont(t)
	pdftoppm := testenv.RequireTool(t, "pdftoppm", "poppler-utils")
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", deptName, now)
	for _, rot := range []int{0, 90, 180, 270, -90} {
		t.Run(fmt.Sprint(rot), func(t *testing.T) {
			out, err := Sign(minimalRotated(rot), Options{Signer: s, Stamp: &Stamp{QRText: "DR1:ROTATED", Department: deptName, DocumentNumber: docNum}})
			if err != nil {
				t.Fatal(err)
			}
			// 72 dpi: one pixel a point. Shown width and height:
			w, h := 595, 842
			if rot%180 != 0 {
				w, h = h, w
			}
			dir := t.TempDir()
			in := writeTemp(t, out)
			decode := func(name string, x, y int) string {
				t.Helper()
				base := filepath.Join(dir, name)
				args := []string{"-r", "72", "-singlefile", "-png", "-x", fmt.Sprint(x), "-y", fmt.Sprint(y), "-W", "300", "-H", "130", in, base}
				if b, err := exec.Command(pdftoppm, args...).CombinedOutput(); err != nil {
					t.Fatalf("pdftoppm: %v\n%s", err, b)
				}
				b, _ := exec.Command(zbarimg, "--xml", "-q", base+".png").Output()
				return string(b)
			}
			corner := decode("corner", w-300, h-130)
			if !strings.Contains(corner, "orientation='UP'><data><![CDATA[DR1:ROTATED]]>") {
				t.Fatalf("bottom right corner as shown: %s", corner)
			}
			if other := decode("other", 0, 0); strings.Contains(other, "DR1:ROTATED") {
				t.Fatal("the stamp is also in the top left corner")
			}
		})
	}
}

func TestEncryptedRefused(t *testing.T) {
	qpdf := testenv.RequireTool(t, "qpdf", "qpdf")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	enc := filepath.Join(dir, "enc.pdf")
	if err := os.WriteFile(in, minimalPDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(qpdf, "--encrypt", "", "owner", "256", "--", in, enc).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --encrypt: %v\n%s", err, b)
	}
	data, err := os.ReadFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	if _, err := Sign(data, Options{Signer: s}); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("encrypted pdf: %v, want ErrEncrypted", err)
	}
}

// FuzzSign feeds damaged PDFs to Sign: an error or a file that verifies,
// never a panic.
func FuzzSign(f *testing.F) {
	root := cmstest.NewRoot(f, now)
	s := root.Department(f, "A", "甲", now)
	f.Add(minimalPDF())
	f.Add(tenPages())
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Sign(in, Options{Signer: s})
		if err != nil {
			return
		}
		if err := Verify(out).Err(); err != nil {
			t.Fatalf("signed but does not verify: %v", err)
		}
	})
}

// A document with no number (a proof, 证明, often has none) is stamped
// without the 文号 line and signs and verifies; the other lines stay
// (pdftotext reads them through the ToUnicode map).
func TestStampWithoutNumber(t *testing.T) {
	requireFont(t)
	pdftotext := testenv.RequireTool(t, "pdftotext", "poppler-utils")
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", deptName, now)
	text := func(opts Options) string {
		t.Helper()
		out, err := Sign(minimalPDF(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(out).Err(); err != nil {
			t.Fatal(err)
		}
		b, err := exec.Command(pdftotext, writeTemp(t, out), "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v\n%s", err, b)
		}
		return string(b)
	}
	got := text(Options{Signer: s, Stamp: &Stamp{QRText: "DR1:ABC", Department: deptName}})
	if strings.Contains(got, "文号") || !strings.Contains(got, deptName) || !strings.Contains(got, "签发日期：2026年3月14日") {
		t.Errorf("stamp without a number reads:\n%s", got)
	}
	if got := text(Options{Signer: s, Stamp: &Stamp{QRText: "DR1:ABC", Department: deptName, DocumentNumber: docNum}}); !strings.Contains(got, "文号："+docNum) {
		t.Errorf("stamp with a number reads:\n%s", got)
	}
}

package pdf

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicence/document/cms/cmstest"
	"elicence/internal/testenv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

var screenshot = flag.String("screenshot", "", "write a 150 dpi rendering of the stamped page of the LibreOffice document to this PNG file")

var now = time.Date(2026, 3, 14, 1, 26, 53, 0, time.UTC)

const (
	deptName = "测试市市场监督管理局"
	docNum   = "测市监许〔2026〕12号"
	qrText   = "HTTPS://VERIFY.EXAMPLE.GOV.CN/D/DR1:6BFOXN*TS0BI$ZD-ZV6B2N.2B0"
)

type sample struct {
	name  string
	pdf   []byte
	pages int
}

// corpus returns PDFs from producers outside this project: LibreOffice,
// Ghostscript (one page and several), pdfTeX (a Debian package's manual),
// qpdf with object and cross-reference streams, and a file already
// carrying someone else's signature.
func corpus(t *testing.T) []sample {
	t.Helper()
	dir := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var out []sample

	soffice := testenv.RequireTool(t, "soffice", "libreoffice-writer-nogui")
	os.WriteFile(filepath.Join(dir, "decision.txt"), []byte("准予行政许可决定书\n\n测试市市场监督管理局\n\n"+
		"申请人：测试科技有限公司\n\n根据《中华人民共和国行政许可法》第三十八条第一款的规定，决定准予行政许可。\n"), 0o644)
	run(soffice, "--headless", "-env:UserInstallation=file://"+filepath.Join(dir, "lo"), "--convert-to", "pdf", "--outdir", dir, filepath.Join(dir, "decision.txt"))
	out = append(out, sample{"libreoffice", read("decision.pdf"), 1})

	ps2pdf := testenv.RequireTool(t, "ps2pdf", "ghostscript")
	page := func(n int) string {
		return fmt.Sprintf("/Helvetica findfont 20 scalefont setfont 72 720 moveto (Ghostscript page %d) show showpage\n", n)
	}
	os.WriteFile(filepath.Join(dir, "one.ps"), []byte("%!PS\n"+page(1)), 0o644)
	os.WriteFile(filepath.Join(dir, "three.ps"), []byte("%!PS\n"+page(1)+page(2)+page(3)), 0o644)
	run(ps2pdf, "one.ps", "one.pdf")
	run(ps2pdf, "three.ps", "three.pdf")
	out = append(out, sample{"ghostscript", read("one.pdf"), 1}, sample{"multipage", read("three.pdf"), 3})

	gz, err := os.Open("testdata/bzip2-manual.pdf.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	manual, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, sample{"debian-doc", manual, 0})

	qpdf := testenv.RequireTool(t, "qpdf", "qpdf")
	os.WriteFile(filepath.Join(dir, "manual.pdf"), manual, 0o644)
	run(qpdf, "--object-streams=generate", "manual.pdf", "objstm.pdf")
	objstm := read("objstm.pdf")
	if _, isStream, err := lastXref(objstm); err != nil || !isStream || !bytes.Contains(objstm, []byte("/ObjStm")) {
		t.Fatalf("qpdf made no object and cross-reference streams (%v)", err)
	}
	out = append(out, sample{"object-streams", objstm, 0})

	signed, err := os.ReadFile("testdata/signed-rsa-sha1.pdf")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, sample{"already-signed", signed, 0})
	return out
}

// seal draws a red ring, as a department seal looks, with a transparent
// ground.
func seal() image.Image {
	const n = 160
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := float64(x-n/2), float64(y-n/2)
			d := dx*dx + dy*dy
			if (d < 78*78 && d > 70*70) || (d < 12*12) {
				img.Set(x, y, color.NRGBA{R: 0xd0, G: 0x10, B: 0x10, A: 0x90})
			}
		}
	}
	return img
}

func TestCorpus(t *testing.T) {
	testenv.SkipShort(t, "runs LibreOffice, Ghostscript and the judges")
	root := cmstest.NewRoot(t, now)
	first := root.Department(t, "11100000000013127D", deptName, now)
	second := root.Department(t, "11100000000013128B", "测试市人民政府办公室", now.Add(time.Hour))
	for _, s := range corpus(t) {
		t.Run(s.name, func(t *testing.T) {
			opts := Options{Signer: first, Stamp: &Stamp{QRText: qrText, Department: deptName, DocumentNumber: docNum}}
			if s.name == "libreoffice" {
				opts.Stamp.Seal = seal()
			}
			out, err := Sign(s.pdf, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, s.pdf) {
				t.Fatal("signing changed the original bytes")
			}
			r := Verify(out)
			if err := r.Err(); err != nil {
				t.Fatalf("signed file does not verify: %v", err)
			}
			ours := r.Signatures[len(r.Signatures)-1]
			if ours.End != int64(len(out)) || !ours.CMS.SigningTime.Equal(now) || ours.CMS.Signer.Subject.CommonName != deptName {
				t.Fatalf("our signature: %+v", ours)
			}
			if s.name == "already-signed" {
				if len(r.Signatures) != 2 || !errors.Is(r.Signatures[0].Err, ErrUnsupported) {
					t.Fatalf("the earlier rsa signature: %+v", r.Signatures)
				}
			}
			judge(t, out, len(r.Signatures), ours, deptName)
			stamped := lastPage(t, out)
			if s.pages != 0 && stamped != s.pages {
				t.Fatalf("stamped page %d of %d", stamped, s.pages)
			}
			if got := renderQR(t, out, stamped, s.name == "libreoffice"); !slices.Equal(got, []string{qrText}) {
				t.Fatalf("zbarimg read %q from the stamped page, want exactly %q", got, qrText)
			}

			// One byte changed inside the signed range: hash failure.
			bad := bytes.Clone(out)
			bad[ours.ByteRange[1]/2] ^= 0x01
			rb := Verify(bad)
			if last := rb.Signatures[len(rb.Signatures)-1]; !errors.Is(last.Err, ErrHash) || rb.Err() == nil {
				t.Fatalf("changed byte: %v / %v, want ErrHash", last.Err, rb.Err())
			}
			bad = bytes.Clone(out)
			bad[ours.ByteRange[2]+(ours.ByteRange[3]/2)] ^= 0x01
			if err := Verify(bad).Err(); !errors.Is(err, ErrHash) {
				t.Fatalf("changed byte after the hole: %v, want ErrHash", err)
			}

			// An incremental update appended after signing: not passed.
			added := appendAnnotation(t, out)
			if err := Verify(added).Err(); !errors.Is(err, ErrAppended) {
				t.Fatalf("appended update: %v, want ErrAppended", err)
			}
			// qpdf reads the appended update: it is a real one.
			qpdfCheck(t, added)

			// A second department countersigns on the first page: both verify.
			both, err := Sign(out, Options{Signer: second, Stamp: &Stamp{QRText: "DR1:SECOND", Department: "测试市人民政府办公室", DocumentNumber: "测政办〔2026〕3号", Page: 1}})
			if err != nil {
				t.Fatal(err)
			}
			r2 := Verify(both)
			if err := r2.Err(); err != nil {
				t.Fatalf("countersigned: %v", err)
			}
			n := len(r2.Signatures)
			if r2.Signatures[n-2].End != int64(len(out)) || r2.Signatures[n-1].CMS.Signer.Subject.CommonName != "测试市人民政府办公室" {
				t.Fatalf("countersignatures: %+v", r2.Signatures)
			}
			judge(t, both, n, r2.Signatures[n-1], "测试市人民政府办公室")
			want := []string{"DR1:SECOND"}
			if stamped == 1 {
				want = []string{"DR1:SECOND", qrText}
			}
			if got := renderQR(t, both, 1, false); !slices.Equal(got, want) {
				t.Fatalf("first page after countersigning reads %q, want %q", got, want)
			}
			// A countersignature does not excuse other appended bytes.
			if err := Verify(appendAnnotation(t, both)).Err(); !errors.Is(err, ErrAppended) {
				t.Fatalf("appended after countersignature: %v", err)
			}
		})
	}
}

// judge runs the outside judges on a signed file: qpdf --check, pdfsig
// (signature count, the signer, the byte range of the last signature
// covering the whole file but the contents) and OpenSSL on the CMS.
func judge(t *testing.T, signed []byte, sigs int, last Signature, signer string) {
	t.Helper()
	qpdfCheck(t, signed)
	pdfsig := testenv.RequireTool(t, "pdfsig", "poppler-utils")
	f := writeTemp(t, signed)
	out, _ := exec.Command(pdfsig, f).CombinedOutput() // exits 1: poppler cannot check sm2
	text := string(out)
	if got := strings.Count(text, "Signature #"); got != sigs {
		t.Fatalf("pdfsig lists %d signatures, want %d:\n%s", got, sigs, text)
	}
	if !strings.Contains(text, "Signer Certificate Common Name: "+signer) {
		t.Fatalf("pdfsig does not name the signer %s:\n%s", signer, text)
	}
	br := last.ByteRange
	want := fmt.Sprintf("Signed Ranges: [%d - %d], [%d - %d]\n  - Total document signed", br[0], br[1], br[2], br[2]+br[3])
	if !strings.Contains(text, want) || br[2]+br[3] != int64(len(signed)) {
		t.Fatalf("pdfsig does not show %q:\n%s", want, text)
	}
	// The hole is exactly the /Contents hex string.
	if signed[br[1]] != '<' || signed[br[2]-1] != '>' || !bytes.HasSuffix(signed[:br[1]], []byte("/Contents ")) {
		t.Fatal("the hole is not the /Contents string")
	}
	der := signed[br[1]+1 : br[2]-1]
	raw := make([]byte, len(der)/2)
	fmt.Sscanf(string(der), "%x", &raw)
	if got := cmstest.OpenSSLJudge(t, raw); !strings.Contains(got, signer) {
		t.Fatalf("openssl: signer %q", got)
	}
}

func qpdfCheck(t *testing.T, pdf []byte) {
	t.Helper()
	qpdf := testenv.RequireTool(t, "qpdf", "qpdf")
	out, err := exec.Command(qpdf, "--check", writeTemp(t, pdf)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

var pagesRE = regexp.MustCompile(`Pages:\s+(\d+)`)

func lastPage(t *testing.T, pdf []byte) int {
	t.Helper()
	pdfinfo := testenv.RequireTool(t, "pdfinfo", "poppler-utils")
	out, err := exec.Command(pdfinfo, writeTemp(t, pdf)).CombinedOutput()
	m := pagesRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// renderQR renders page at 150 dpi with pdftoppm and decodes the QR
// codes on it with zbarimg.
func renderQR(t *testing.T, pdf []byte, page int, keep bool) []string {
	t.Helper()
	pdftoppm := testenv.RequireTool(t, "pdftoppm", "poppler-utils")
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	in := writeTemp(t, pdf)
	p := strconv.Itoa(page)
	if out, err := exec.Command(pdftoppm, "-r", "150", "-f", p, "-l", p, "-singlefile", "-png", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	png := filepath.Join(dir, "page.png")
	if keep && *screenshot != "" {
		b, _ := os.ReadFile(png)
		if err := os.WriteFile(*screenshot, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(zbarimg, "-q", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code on page %d: %v\n%s", page, err, out)
	}
	codes := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(codes)
	return codes
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// appendAnnotation appends an incremental update that adds a text
// annotation to the first page, as an editor would.
func appendAnnotation(t *testing.T, pdf []byte) []byte {
	t.Helper()
	ctx, err := readContext(pdf)
	if err != nil {
		t.Fatal(err)
	}
	prev, asStream, err := lastXref(pdf)
	if err != nil {
		t.Fatal(err)
	}
	u := &update{next: max(*ctx.Size, ctx.MaxObjNr+1)}
	d, ref, _, err := ctx.PageDict(1, false)
	if err != nil {
		t.Fatal(err)
	}
	page := d.Clone().(types.Dict)
	annot := u.add("<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (added later) >>")
	annots, err := derefArray(ctx, page, "Annots")
	if err != nil {
		t.Fatal(err)
	}
	page["Annots"] = append(annots, *types.NewIndirectRef(annot, 0))
	u.replace(ref.ObjectNumber.Value(), ref.GenerationNumber.Value(), page.PDFString())
	tail, _ := u.write(int64(len(pdf)), trailer{root: ctx.Root.PDFString(), prev: prev, asStream: asStream})
	return append(bytes.Clone(pdf), tail...)
}

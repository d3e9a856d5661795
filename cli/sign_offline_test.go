package cli

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/document/pdf/pdftest"
	"elicence/format"
)

// offlineDocs is a copy of the shared keys with a trust list that lets the
// department sign documents and its status list DEPT-1.
type offlineDocs struct {
	dir, keys, trust, status, code string
	now                            time.Time
}

func newOfflineDocs(t *testing.T) *offlineDocs {
	t.Helper()
	dir := t.TempDir()
	o := &offlineDocs{dir: dir, keys: filepath.Join(dir, "keys"), trust: filepath.Join(dir, "trust.cbor"), now: time.Now().Truncate(time.Second)}
	if err := os.CopyFS(o.keys, os.DirFS(sharedKeys)); err != nil {
		t.Fatal(err)
	}
	codes, err := deptCodes(o.keys)
	if err != nil || len(codes) != 1 {
		t.Fatalf("shared keys: %v %v", codes, err)
	}
	o.code = codes[0]
	o.status = filepath.Join(dir, "status-"+o.code+"-1.cbor")
	r := mustRun(t, o.now, "trust", "build", "--keys", o.keys, "--documents", o.code, "--out", o.trust)
	if !strings.Contains(r.stdout, "; signs documents") {
		t.Errorf("trust build --documents output:\n%s", r.stdout)
	}
	mustRun(t, o.now, "status", "build", "--keys", o.keys, "--list", format.StatusListName(o.code, 1), "--out", o.status)
	return o
}

func (o *offlineDocs) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (o *offlineDocs) verify(t *testing.T, trust string, args ...string) result {
	t.Helper()
	return elicence(t, o.now, append([]string{"verify", "--keys", o.keys, "--trust", trust, "--status", o.status}, args...)...)
}

// elicence sign --keys signs offline, with no issuer: a PDF comes back
// stamped and signed, any file with a .p7s, each with a receipt in the
// department's list DEPT-1; verify --file passes them with the trust list
// of "trust build --documents", fails a changed byte (HASH_FAILURE), and
// says REVOKED once "status set" marks the slot; a trust list that does not
// name the department as a document signer refuses them.
func TestSignOffline(t *testing.T) {
	t.Parallel()
	o := newOfflineDocs(t)
	doc := o.write(t, "notice.pdf", pdftest.OnePage("Notice", 0))
	r := mustRun(t, o.now, "sign", "--keys", o.keys, "--title", "关于同意设立分公司的批复", "--number", "闽市监〔2026〕12号", "--status-index", "77", doc)
	signed := filepath.Join(o.dir, "notice-signed.pdf")
	for _, want := range []string{"document ", "wrote " + signed + "\n", "receipt LD2:", "status list " + o.code + "-1 index 77"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sign output lacks %q:\n%s", want, r.stdout)
		}
	}
	if v := o.verify(t, o.trust, "--file", signed); v.code != ExitOK || !strings.Contains(v.stdout, "通过 PASSED") ||
		!strings.Contains(v.stdout, "关于同意设立分公司的批复 闽市监〔2026〕12号") {
		t.Errorf("verify the signed PDF: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	// The receipt printed by sign verifies on its own, as a scan of the stamp.
	receipt := ""
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "receipt "); ok {
			receipt = v
		}
	}
	if v := o.verify(t, o.trust, receipt); v.code != ExitOK {
		t.Errorf("verify the receipt %q: exit %d\n%s", receipt, v.code, v.stdout)
	}
	b, _ := os.ReadFile(signed)
	b[300] ^= 1
	if v := o.verify(t, o.trust, "--file", o.write(t, "changed.pdf", b)); v.code != ExitFailed || !strings.Contains(v.stdout, "HASH_FAILURE") {
		t.Errorf("verify a changed byte: exit %d\n%s", v.code, v.stdout)
	}

	// Any file: a .p7s, hashed as it is read.
	txt := o.write(t, "proof.txt", []byte("兹证明……\n"))
	mustRun(t, o.now, "sign", "--keys", o.keys, "--title", "证明", "--status-index", "78", txt)
	if v := o.verify(t, o.trust, "--file", txt, "--sig", txt+".p7s"); v.code != ExitOK || !strings.Contains(v.stdout, "证明") {
		t.Errorf("verify the .p7s: exit %d\n%s", v.code, v.stdout)
	}
	// --detached signs a PDF with a .p7s and leaves it as it was.
	mustRun(t, o.now, "sign", "--keys", o.keys, "--title", "通知", "--detached", "--status-index", "79", "--out", filepath.Join(o.dir, "n.p7s"), doc)
	if v := o.verify(t, o.trust, "--file", doc, "--sig", filepath.Join(o.dir, "n.p7s")); v.code != ExitOK {
		t.Errorf("verify the detached PDF: exit %d\n%s", v.code, v.stdout)
	}

	// --public-url: the receipt (and the stamp's QR) is a QR URL, which verifies too.
	ru := mustRun(t, o.now, "sign", "--keys", o.keys, "--title", "通知", "--public-url", "https://verify.example.gov.cn", "--status-index", "80",
		"--out", filepath.Join(o.dir, "url-signed.pdf"), doc)
	url := ""
	for _, l := range strings.Split(ru.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "receipt "); ok {
			url = v
		}
	}
	if !strings.HasPrefix(url, "HTTPS://VERIFY.EXAMPLE.GOV.CN/") {
		t.Errorf("receipt with --public-url: %q", url)
	}
	if v := o.verify(t, o.trust, url); v.code != ExitOK {
		t.Errorf("verify the receipt URL: exit %d\n%s", v.code, v.stdout)
	}
	if v := o.verify(t, o.trust, "--file", filepath.Join(o.dir, "url-signed.pdf")); v.code != ExitOK {
		t.Errorf("verify the PDF signed with --public-url: exit %d\n%s", v.code, v.stdout)
	}

	// --seal: a PNG drawn behind the stamp's text; the file grows by the image.
	var sealPNG bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+3] = 0xd0, 0x90
	}
	png.Encode(&sealPNG, img)
	mustRun(t, o.now, "sign", "--keys", o.keys, "--title", "通知", "--number", "1号", "--seal", o.write(t, "seal.png", sealPNG.Bytes()), "--status-index", "81",
		"--out", filepath.Join(o.dir, "sealed.pdf"), doc)
	sealed, _ := os.ReadFile(filepath.Join(o.dir, "sealed.pdf"))
	if !bytes.Contains(sealed, []byte("/Seal ")) {
		t.Error("the PDF signed with --seal has no seal image")
	}
	if v := o.verify(t, o.trust, "--file", filepath.Join(o.dir, "sealed.pdf")); v.code != ExitOK {
		t.Errorf("verify the sealed PDF: exit %d\n%s", v.code, v.stdout)
	}

	// A trust list without --documents: the department may not sign documents.
	plain := filepath.Join(o.dir, "plain.cbor")
	mustRun(t, o.now, "trust", "build", "--keys", o.keys, "--out", plain)
	if v := o.verify(t, plain, "--file", signed); v.code != ExitFailed || !strings.Contains(v.stdout, "TYPE_NOT_AUTHORISED") {
		t.Errorf("verify under a trust list without --documents: exit %d\n%s", v.code, v.stdout)
	}

	// Rescind offline: the slot's revoked bit in the department's list.
	mustRun(t, o.now, "status", "set", "--keys", o.keys, "--in", o.status, "--out", o.status, "--index", "77", "--status", "revoked")
	if v := o.verify(t, o.trust, "--file", signed); v.code != ExitFailed || !strings.Contains(v.stdout, "REVOKED") {
		t.Errorf("verify after rescission: exit %d\n%s", v.code, v.stdout)
	}
	if v := o.verify(t, o.trust, "--file", txt, "--sig", txt+".p7s"); v.code != ExitOK {
		t.Errorf("another document's slot changed with it: exit %d\n%s", v.code, v.stdout)
	}
}

// elicence sign --keys refuses what it cannot sign with a usage error
// (exit 3) or an error naming the file (exit 4), and writes nothing.
func TestSignOfflineRefuses(t *testing.T) {
	t.Parallel()
	o := newOfflineDocs(t)
	txt := o.write(t, "a.txt", []byte("x"))
	badPDF := o.write(t, "bad.pdf", []byte("%PDF-1.7\nnot really\n"))
	empty := o.write(t, "empty.txt", nil)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--keys", o.keys, txt}, ExitUsage, "--title"},
		{[]string{"--keys", o.keys, "--title", "t", "--server", "http://x", txt}, ExitUsage, "offline"},
		{[]string{"--keys", o.keys, "--title", "t", "--status-list", "1", txt}, ExitUsage, "DEPT-N"},
		{[]string{"--keys", o.keys, "--title", "t", "--status-index", "131072", txt}, ExitUsage, "--status-index"},
		{[]string{"--keys", o.keys, "--title", "t", "--public-url", "https://verify.example/lower", txt}, ExitUsage, "--public-url"},
		{[]string{"--title", "t", "--status-index", "3", txt}, ExitUsage, "need --keys"},
		{[]string{"--keys", o.keys, "--title", strings.Repeat("题", 200), txt}, ExitError, "title"},
		{[]string{"--keys", o.keys, "--title", "t", empty}, ExitError, "empty"},
		{[]string{"--keys", o.keys, "--title", "t", badPDF}, ExitError, "--detached"},
		{[]string{"--keys", o.keys, "--title", "t", "--dept", "NOSUCH", txt}, ExitError, "NOSUCH"},
		{[]string{"--keys", o.keys, "--title", "t", filepath.Join(o.dir, "missing.txt")}, ExitError, "missing.txt"},
		{[]string{"--keys", o.keys, "--title", "t", "--seal", txt, txt}, ExitError, "the seal must be a PNG image"},
	} {
		r := elicence(t, o.now, append([]string{"sign"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("sign %v: exit %d, want %d with %q:\n%s", c.args, r.code, c.code, c.want, r.stderr)
		}
	}
	for _, p := range []string{txt + ".p7s", filepath.Join(o.dir, "bad-signed.pdf"), empty + ".p7s"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused sign wrote %s", p)
		}
	}
	if r := elicence(t, o.now, "trust", "build", "--keys", o.keys, "--documents", "NOSUCH", "--out", filepath.Join(o.dir, "t.cbor")); r.code != ExitUsage || !strings.Contains(r.stderr, "NOSUCH") {
		t.Errorf("trust build --documents NOSUCH: exit %d\n%s", r.code, r.stderr)
	}
}

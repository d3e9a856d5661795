package issuerapi

import (
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"elicence/document/cms"
	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
)

const (
	streamSize     = 100 << 20
	streamRSSBound = 64 << 20
)

// xorshiftReader is n bytes of non-repeating data, made as it is read.
type xorshiftReader struct {
	x uint64
	n int
}

func newXorshift(n int) *xorshiftReader { return &xorshiftReader{x: 0x9e3779b97f4a7c15, n: n} }

func (r *xorshiftReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		if i%8 == 0 {
			r.x ^= r.x << 13
			r.x ^= r.x >> 7
			r.x ^= r.x << 17
		}
		p[i] = byte(r.x >> (8 * (i % 8)))
	}
	r.n -= len(p)
	return len(p), nil
}

// TestSignStreamMemoryBound signs a 100 MB file through POST /v1/documents
// — the documents room over SQLite behind the real handler, the client
// streaming the multipart form — in a child process, and fails when the
// child's peak resident set (VmHWM) reaches 64 MB: the API hashes the
// upload as it arrives and never holds it. The .p7s it answers verifies
// over the same 100 MB. (Before the upload streamed, the file was read
// whole and refused above 50 MB.)
func TestSignStreamMemoryBound(t *testing.T) {
	if os.Getenv("ELICENCE_API_SIGN_STREAM") != "" {
		signStreamChild(t)
		return
	}
	testenv.MemoryBound(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignStreamMemoryBound$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ELICENCE_API_SIGN_STREAM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	rss := testenv.PeakRSS(t, out)
	t.Logf("signing a %d MB file through the API: peak RSS %.1f MB (bound %d MB)", streamSize>>20, float64(rss)/(1<<20), streamRSSBound>>20)
	if rss >= streamRSSBound {
		t.Fatalf("peak RSS %.1f MB, bound %d MB", float64(rss)/(1<<20), streamRSSBound>>20)
	}
}

// signStreamChild is TestSignStreamMemoryBound's child.
func signStreamChild(t *testing.T) {
	e := newEnv(t, issuertest.SQLite(t), issuer.Config{}, Config{})
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		w.WriteField("title", "大文件")
		fw, err := w.CreateFormFile("file", "big.bin")
		if err == nil {
			_, err = io.Copy(fw, newXorshift(streamSize))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/documents", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.tokens[issuertest.TokenIssuer])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	der, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("sign: %d %s", res.StatusCode, der)
	}
	if _, err := cms.Verify(der, newXorshift(streamSize)); err != nil {
		t.Fatalf("the .p7s does not verify over the file: %v", err)
	}
	testenv.PrintPeakRSS(t)
}

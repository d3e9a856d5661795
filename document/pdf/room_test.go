package pdf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"elicence/api/issuerapi"
	"elicence/api/verifierapi"
	"elicence/document/cms/cmstest"
	"elicence/document/pdf"
	"elicence/format"
	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/verifier"
)

// roomEnv is the issuer's API (documents room over SQLite) with the
// verifier's POST /v1/verify/document mounted as `elicence serve` mounts
// it, verifying with the trust list and status lists the same server
// publishes.
type roomEnv struct {
	f   *issuertest.Fixture
	url string
}

func newRoomEnv(t *testing.T) *roomEnv {
	t.Helper()
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{Publication: issuer.PublicationConfig{PublicURL: "https://verify.example.gov.cn"}})
	e := &roomEnv{f: f}
	get := func(path string) ([]byte, error) {
		res, err := http.Get(e.url + path)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			return nil, io.ErrUnexpectedEOF
		}
		return io.ReadAll(res.Body)
	}
	vcfg := verifier.Config{
		Trust: func(ctx context.Context) (*verifier.Trust, error) {
			b, err := get("/v1/trust-list")
			if err != nil {
				return nil, err
			}
			return verifier.NewTrust(&f.Root.Key.PublicKey, b, time.Now())
		},
		Status: func(ctx context.Context, trust *verifier.Trust, _ *format.Department, list string) (*verifier.Status, error) {
			b, err := get("/v1/status/" + list)
			if err != nil {
				return nil, err
			}
			return verifier.NewStatus(trust, b, time.Now(), "http")
		},
	}
	vh := verifierapi.NewHandler(verifierapi.Config{Verify: vcfg})
	srv := httptest.NewServer(issuerapi.New(issuerapi.Config{Service: f.Service,
		Mounts: []issuerapi.Mount{{Pattern: "/v1/verify/document", Handler: vh.Document()}}}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// post sends a multipart form and returns the status, headers and body.
func (e *roomEnv) post(t *testing.T, path, token string, fields map[string]string, files map[string][]byte) (int, http.Header, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		w.WriteField(k, fields[k])
	}
	for _, k := range slices.Sorted(maps.Keys(files)) {
		fw, _ := w.CreateFormFile(k, k+".pdf")
		fw.Write(files[k])
	}
	w.Close()
	req, _ := http.NewRequest("POST", e.url+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, body
}

// verify sends file (and its .p7s, if any) to POST /v1/verify/document
// and returns the report.
func (e *roomEnv) verify(t *testing.T, file []byte, p7s ...[]byte) verifier.Report {
	t.Helper()
	files := map[string][]byte{"file": file}
	if len(p7s) > 0 {
		files["signature"] = p7s[0]
	}
	code, _, body := e.post(t, "/v1/verify/document", "", nil, files)
	var r verifier.Report
	if code != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("POST /v1/verify/document: %d %s", code, body)
	}
	return r
}

// TestCorpusThroughRoom runs the corpus (LibreOffice with Chinese text,
// Ghostscript one and three pages, a Debian package's manual, its object-
// stream copy, a PDF already signed) through the issuer: POST
// /v1/documents signs each, and the outside judges (qpdf --check, pdfsig,
// OpenSSL, pdftoppm + zbarimg) judge the room's output, and each is
// signed detached too (a .p7s, streamed; OpenSSL judges it); POST
// /v1/verify/document says PASSED for it, HASH_FAILURE for a byte changed
// inside the signed range, not PASSED for an appended update, and REVOKED
// once the document is rescinded through the API.
func TestCorpusThroughRoom(t *testing.T) {
	testenv.SkipShort(t, "runs LibreOffice, Ghostscript and the judges")
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	e := newRoomEnv(t)
	tok := e.f.Tokens[issuertest.TokenIssuer]
	dept, err := e.f.Store.Department(t.Context(), issuertest.Dept)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range pdf.Corpus(t) {
		t.Run(s.Name, func(t *testing.T) {
			code, hdr, signed := e.post(t, "/v1/documents", tok, map[string]string{"title": "准予行政许可决定书", "number": "测市监许〔2026〕12号"},
				map[string][]byte{"file": s.PDF})
			if code != 201 || hdr.Get("Content-Type") != "application/pdf" {
				t.Fatalf("sign: %d %.300s", code, signed)
			}
			if !bytes.HasPrefix(signed, s.PDF) {
				t.Fatal("the room changed the original bytes")
			}
			r := pdf.Verify(signed)
			if err := r.Err(); err != nil {
				t.Fatalf("the room's file does not verify: %v", err)
			}
			pdf.Judge(t, signed, len(r.Signatures), r.Signatures[len(r.Signatures)-1], dept.Name)
			page := pdf.LastPage(t, signed)
			if s.Pages != 0 && page != s.Pages {
				t.Fatalf("stamped page %d of %d", page, s.Pages)
			}
			receipt := hdr.Get("Elicence-Receipt")
			if got := pdf.RenderQR(t, signed, page); !slices.Equal(got, []string{receipt}) {
				t.Fatalf("zbarimg read %q from the stamped page, want exactly the receipt %q", got, receipt)
			}

			rep := e.verify(t, signed)
			if rep.Indication != verifier.Passed || rep.Document == nil || rep.Document.Title != "准予行政许可决定书" || rep.Issuer == nil || rep.Issuer.Code != issuertest.Dept {
				t.Fatalf("verify: %s %s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
			}
			last := r.Signatures[len(r.Signatures)-1]
			bad := bytes.Clone(signed)
			bad[last.ByteRange[1]/2] ^= 0x01
			if rep := e.verify(t, bad); rep.Indication != verifier.Failed || rep.SubIndication != verifier.HashFailure {
				t.Errorf("changed byte: %s %s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
			}
			added := pdf.AppendAnnotation(t, signed)
			pdf.QPDFCheck(t, added) // a real update
			if rep := e.verify(t, added); rep.Indication == verifier.Passed {
				t.Errorf("appended update: PASSED")
			}

			// The same PDF signed detached: detached=true comes before the
			// file in the form, so the room hashes it as it streams.
			code, hdr2, p7s := e.post(t, "/v1/documents", tok, map[string]string{"detached": "true", "title": "准予行政许可决定书"},
				map[string][]byte{"file": s.PDF})
			if code != 201 || hdr2.Get("Content-Type") != "application/pkcs7-signature" {
				t.Fatalf("sign detached: %d %.300s", code, p7s)
			}
			if got := cmstest.OpenSSLJudge(t, p7s); !strings.Contains(got, dept.Name) {
				t.Errorf("openssl: .p7s signer %q", got)
			}
			if rep := e.verify(t, s.PDF, p7s); rep.Indication != verifier.Passed || rep.Document == nil || rep.Document.File != verifier.FileP7S {
				t.Errorf("verify the .p7s: %s %s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
			}
			badOrig := bytes.Clone(s.PDF)
			badOrig[len(badOrig)/2] ^= 0x01
			if rep := e.verify(t, badOrig, p7s); rep.Indication != verifier.Failed || rep.SubIndication != verifier.HashFailure {
				t.Errorf("the .p7s over a changed byte: %s %s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
			}

			id := hdr.Get("Elicence-Document-Id")
			req, _ := http.NewRequest("POST", e.url+"/v1/documents/"+id+"/rescind", bytes.NewReader([]byte(`{"reason":"withdrawn"}`)))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("rescind: %d", res.StatusCode)
			}
			if rep := e.verify(t, signed); rep.Indication != verifier.Failed || rep.SubIndication != verifier.Revoked {
				t.Errorf("rescinded: %s %s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
			}
		})
	}
}

package issuerapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/api/verifierapi"
	"elicence/document/cms"
	"elicence/document/pdf"
	"elicence/document/pdf/pdftest"
	"elicence/format"
	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/verifier"
)

// multipartBody encodes a form of text fields and one file part.
func multipartBody(t testing.TB, fields map[string]string, fileField, fileName string, file []byte) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileField != "" {
		fw, err := w.CreateFormFile(fileField, fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// signText signs a small text file as the department, through the
// service, for tests that need a document behind a path.
func (e *env) signText(t testing.TB, text string) issuer.SignedDocument {
	t.Helper()
	sd, err := e.svc.Documents.Sign(t.Context(), &issuer.Principal{TokenID: "test", Department: issuertest.Dept, Scopes: []store.Scope{store.ScopeIssue}},
		issuer.SignRequest{Title: "测试文件", Content: []byte(text + " " + issuertest.RandomHex(4))}, "")
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// minimalPDF is a one-page PDF written by hand.
func minimalPDF() []byte { return pdftest.OnePage("notice", 0) }

// POST /v1/documents signs a PDF (answering the signed PDF) and any file
// (answering the .p7s), GET reads the record, rescind ends it; bad forms
// are problem details naming the field; idempotency replays.
func TestDocumentsAPI(t *testing.T) {
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{MaxDocument: 1 << 20, MaxStreamedDocument: 2 << 20})
		tok := e.tokens[issuertest.TokenIssuer]
		in := minimalPDF()
		body, ct := multipartBody(t, map[string]string{"title": "关于同意设立分公司的批复", "number": "闽市监〔2026〕12号"}, "file", "批复.pdf", in)
		r := e.req("POST", "/v1/documents", tok, body, "Content-Type", ct, "Idempotency-Key", "api-doc-1")
		if r.status != http.StatusCreated || r.header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("sign PDF: %d %s %.300s", r.status, r.header.Get("Content-Type"), r.body)
		}
		if err := pdf.Verify(r.body).Err(); err != nil || !bytes.HasPrefix(r.body, in) {
			t.Fatalf("answered PDF does not verify: %v", err)
		}
		id := r.header.Get("Elicence-Document-Id")
		if r.header.Get("Location") != "/v1/documents/"+id || !strings.Contains(r.header.Get("Content-Disposition"), "signed.pdf") {
			t.Errorf("headers %v", r.header)
		}
		q, err := format.ParseQR(r.header.Get("Elicence-Receipt"))
		if err != nil || q.Kind != format.KindDocumentReceipt {
			t.Fatalf("receipt header: %v", err)
		}
		again := e.req("POST", "/v1/documents", tok, body, "Content-Type", ct, "Idempotency-Key", "api-doc-1")
		if again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, r.body) {
			t.Errorf("replay: %d %v", again.status, again.header)
		}

		g := e.req("GET", "/v1/documents/"+id, tok, nil)
		var d documentJSON
		g.json(t, &d)
		if g.status != 200 || d.ID != id || d.Kind != "pdf" || d.Pages != 1 || d.Status != "valid" || d.Number != "闽市监〔2026〕12号" || d.QRText != r.header.Get("Elicence-Receipt") {
			t.Fatalf("get: %d %s", g.status, g.body)
		}
		if o := e.req("GET", "/v1/documents/"+id, e.tokens[issuertest.TokenOther], nil); o.status != 404 {
			t.Errorf("another department reads: %d", o.status)
		}

		// Any file: the .p7s, verifying over the file.
		txt := []byte("兹证明……")
		body2, ct2 := multipartBody(t, map[string]string{"title": "证明"}, "file", "proof.txt", txt)
		p := e.req("POST", "/v1/documents", tok, body2, "Content-Type", ct2)
		if p.status != 201 || p.header.Get("Content-Type") != "application/pkcs7-signature" || !strings.Contains(p.header.Get("Content-Disposition"), "proof.txt.p7s") {
			t.Fatalf("sign file: %d %v %.200s", p.status, p.header, p.body)
		}
		if _, err := cms.Verify(p.body, bytes.NewReader(txt)); err != nil {
			t.Errorf(".p7s does not verify: %v", err)
		}
		// A file larger than the PDF limit streams and is signed; its
		// record has its size and SM3.
		larger := bytes.Repeat([]byte("大"), 1<<19) // 1.5 MiB
		bodyL, ctL := multipartBody(t, map[string]string{"title": "大文件"}, "file", "big.txt", larger)
		l := e.req("POST", "/v1/documents", tok, bodyL, "Content-Type", ctL, "Idempotency-Key", "api-doc-big")
		if again := e.req("POST", "/v1/documents", tok, bodyL, "Content-Type", ctL, "Idempotency-Key", "api-doc-big"); again.status != 201 ||
			again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, l.body) {
			t.Errorf("replay of a streamed file: %d %v", again.status, again.header)
		}
		otherBody, otherCT := multipartBody(t, map[string]string{"title": "大文件"}, "file", "big.txt", append(bytes.Clone(larger), '!'))
		if o := e.req("POST", "/v1/documents", tok, otherBody, "Content-Type", otherCT, "Idempotency-Key", "api-doc-big"); o.status != 409 {
			t.Errorf("another streamed file under the same key: %d", o.status)
		}
		if l.status != 201 {
			t.Errorf("sign a file over the PDF limit: %d %.300s", l.status, l.body)
		} else if _, err := cms.Verify(l.body, bytes.NewReader(larger)); err != nil {
			t.Errorf("its .p7s does not verify: %v", err)
		} else {
			var ld documentJSON
			e.req("GET", l.header.Get("Location"), tok, nil).json(t, &ld)
			if sum := sm3.Sum(larger); ld.Size != int64(len(larger)) || ld.SM3 != hex.EncodeToString(sum[:]) || ld.Kind != "cms" {
				t.Errorf("its record: %+v", ld)
			}
		}

		// Bad forms.
		noFile, ctNo := multipartBody(t, map[string]string{"title": "题"}, "", "", nil)
		noTitle, ctNT := multipartBody(t, nil, "file", "a.txt", txt)
		unknown, ctU := multipartBody(t, map[string]string{"title": "题", "colour": "red"}, "file", "a.txt", txt)
		badBool, ctB := multipartBody(t, map[string]string{"title": "题", "detached": "maybe"}, "file", "a.txt", txt)
		// A PDF to sign in place is held, so it has the 1 MiB limit; any
		// other file streams, so it has not (the streamed one's limit is
		// below: 3 MiB here).
		big, ctBig := multipartBody(t, map[string]string{"title": "题"}, "file", "a.pdf", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 1<<20)...))
		huge, ctHuge := multipartBody(t, map[string]string{"title": "题"}, "file", "a.txt", bytes.Repeat([]byte("x"), 3<<20))
		emptyFile, ctEmpty := multipartBody(t, map[string]string{"title": "题"}, "file", "a.txt", []byte{})
		for _, c := range []struct {
			name, body, ct string
			status         int
			field          string
		}{
			{"no file", noFile, ctNo, 422, "file"},
			{"no title", noTitle, ctNT, 422, "title"},
			{"unknown part", unknown, ctU, 422, "colour"},
			{"bad bool", badBool, ctB, 422, "detached"},
			{"too large", big, ctBig, 413, ""},
			{"too large streamed", huge, ctHuge, 413, ""},
			{"empty file", emptyFile, ctEmpty, 422, "file"},
			{"json", `{"title":"x"}`, "application/json", 415, ""},
		} {
			r := e.req("POST", "/v1/documents", tok, c.body, "Content-Type", c.ct)
			var pd struct {
				Errors []struct{ Field string } `json:"errors"`
			}
			json.Unmarshal(r.body, &pd)
			if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" || (c.field != "" && (len(pd.Errors) == 0 || pd.Errors[0].Field != c.field)) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}

		// Rescind: other department 404, bad reason 422, then final.
		if o := e.req("POST", "/v1/documents/"+id+"/rescind", e.tokens[issuertest.TokenOther], `{"reason":"withdrawn"}`); o.status != 404 {
			t.Errorf("another department rescinds: %d", o.status)
		}
		if b := e.req("POST", "/v1/documents/"+id+"/rescind", tok, `{"reason":"penalty"}`); b.status != 422 {
			t.Errorf("licence reason: %d %s", b.status, b.body)
		}
		rs := e.req("POST", "/v1/documents/"+id+"/rescind", tok, `{"reason":"withdrawn"}`)
		var rd documentJSON
		rs.json(t, &rd)
		if rs.status != 200 || rd.Status != "rescinded" || rd.StatusReason != "withdrawn" {
			t.Fatalf("rescind: %d %s", rs.status, rs.body)
		}
		if twice := e.req("POST", "/v1/documents/"+id+"/rescind", tok, `{"reason":"other"}`); twice.status != 409 {
			t.Errorf("rescind twice: %d", twice.status)
		}
	})
}

// A document signed through the API verifies with only the published
// trust list and status lists: the PDF, the file with its .p7s, and the
// receipt's QR text; a changed byte is HASH_FAILURE, appended bytes never
// PASSED, another department's key is refused, a rescinded document is
// REVOKED with the reason, and unavailable status is TRY_LATER.
func TestVerifyDocuments(t *testing.T) {
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	e := newEnv(t, issuertest.SQLite(t), issuer.Config{}, Config{})
	ctx := t.Context()
	cfg := e.verifyConfig()
	cfg.Department = ""
	tok := e.tokens[issuertest.TokenIssuer]
	sign := func(fields map[string]string, name string, file []byte) resp {
		body, ct := multipartBody(t, fields, "file", name, file)
		r := e.req("POST", "/v1/documents", tok, body, "Content-Type", ct)
		if r.status != 201 {
			t.Fatalf("sign: %d %s", r.status, r.body)
		}
		return r
	}
	want := func(what string, r *verifier.Report, ind verifier.Indication, sub verifier.SubIndication) {
		t.Helper()
		if r.Indication != ind || r.SubIndication != sub {
			t.Errorf("%s: %s %s (%s), want %s %s", what, r.Indication, r.SubIndication, r.Reason, ind, sub)
		}
	}
	in := minimalPDF()
	signedPDF := sign(map[string]string{"title": "关于同意设立分公司的批复", "number": "闽市监〔2026〕12号"}, "批复.pdf", in)
	r := verifier.VerifyDocument(ctx, signedPDF.body, nil, cfg)
	want("signed PDF", r, verifier.Passed, "")
	if r.Document == nil || r.Document.Title != "关于同意设立分公司的批复" || r.Document.Number != "闽市监〔2026〕12号" || r.Document.File != verifier.FilePDF ||
		r.Issuer == nil || r.Issuer.Code != issuertest.Dept || r.Issuer.Name == "" || r.Document.SignedAt.IsZero() {
		t.Fatalf("report %+v %+v", r.Document, r.Issuer)
	}
	// Over HTTP, as `elicence serve` and `verifier serve` mount it.
	vsrv := httptest.NewServer(verifierapi.NewHandler(verifierapi.Config{Verify: cfg}).Document())
	defer vsrv.Close()
	viaHTTP := func(file, sig []byte) *verifier.Report {
		t.Helper()
		parts := map[string]string{}
		body, ct := multipartBody(t, parts, "file", "doc", file)
		if sig != nil {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			fw, _ := w.CreateFormFile("file", "doc")
			fw.Write(file)
			sw, _ := w.CreateFormFile("signature", "doc.p7s")
			sw.Write(sig)
			w.Close()
			body, ct = b.String(), w.FormDataContentType()
		}
		res, err := http.Post(vsrv.URL, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rep verifier.Report
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&rep) != nil {
			t.Fatalf("POST /v1/verify/document: %d", res.StatusCode)
		}
		return &rep
	}
	if hr := viaHTTP(signedPDF.body, nil); hr.Indication != verifier.Passed || hr.Document == nil || hr.Document.Number != "闽市监〔2026〕12号" {
		t.Errorf("over HTTP: %s %s", hr.Indication, hr.Reason)
	}
	// The receipt's QR text alone (as scanned from a printout).
	qrText := signedPDF.header.Get("Elicence-Receipt")
	rq := verifier.Verify(ctx, qrText, cfg)
	want("receipt QR text", rq, verifier.Passed, "")
	if rq.Document == nil || rq.Document.ID != r.Document.ID || rq.Document.File != "" || rq.Kind != "document receipt" {
		t.Errorf("receipt report %+v", rq.Document)
	}
	// One byte changed inside the signed range (in the original page).
	changed := bytes.Clone(signedPDF.body)
	changed[bytes.Index(changed, []byte("(notice)"))+1] ^= 0x20
	want("changed byte", verifier.VerifyDocument(ctx, changed, nil, cfg), verifier.Failed, verifier.HashFailure)
	// An incremental update appended after signing.
	appended := append(bytes.Clone(signedPDF.body), []byte("\n6 0 obj\n<< /Type /Annot >>\nendobj\n%%EOF\n")...)
	want("appended update", verifier.VerifyDocument(ctx, appended, nil, cfg), verifier.Failed, verifier.TrailingData)
	// The original file, unsigned.
	want("unsigned PDF", verifier.VerifyDocument(ctx, in, nil, cfg), verifier.Failed, verifier.FormatFailure)
	want("not a PDF", verifier.VerifyDocument(ctx, []byte("text"), nil, cfg), verifier.Failed, verifier.UnsupportedFormat)

	// Any file with its .p7s.
	txt := []byte("兹证明福州示例科技有限公司……\n")
	p7 := sign(map[string]string{"title": "证明"}, "proof.txt", txt)
	rp := verifier.VerifyDocument(ctx, txt, p7.body, cfg)
	want(".p7s", rp, verifier.Passed, "")
	if rp.Document == nil || rp.Document.Title != "证明" || rp.Document.File != verifier.FileP7S {
		t.Errorf(".p7s report %+v", rp.Document)
	}
	want(".p7s, changed file", verifier.VerifyDocument(ctx, append(bytes.Clone(txt), ' '), p7.body, cfg), verifier.Failed, verifier.HashFailure)
	want(".p7s over HTTP", viaHTTP(txt, p7.body), verifier.Passed, "")
	want(".p7s over HTTP, changed file", viaHTTP(append(bytes.Clone(txt), ' '), p7.body), verifier.Failed, verifier.HashFailure)
	want(".p7s, appended", verifier.VerifyDocument(ctx, append(bytes.Clone(txt), "more"...), p7.body, cfg), verifier.Failed, verifier.HashFailure)
	want("garbage .p7s", verifier.VerifyDocument(ctx, txt, []byte("not der"), cfg), verifier.Failed, verifier.FormatFailure)
	// The .p7s of one file with another file's receipt cannot be made
	// without the key; a .p7s by another department's key for this
	// department's receipt fails on the key (made through the service by
	// the other department: its receipt names its own key, so swap in
	// this one's receipt QR).
	otherTok := e.tokens[issuertest.TokenOther]
	body, ct := multipartBody(t, map[string]string{"title": "他部门文件"}, "file", "x.txt", txt)
	if o := e.req("POST", "/v1/documents", otherTok, body, "Content-Type", ct); o.status != 201 {
		t.Fatalf("other department signs: %d", o.status)
	} else if ro := verifier.VerifyDocument(ctx, txt, o.body, cfg); ro.Indication != verifier.Passed || ro.Issuer.Code != issuertest.Other {
		t.Errorf("other department's own document: %s %s", ro.Indication, ro.Reason)
	}

	// Status unavailable: TRY_LATER.
	noStatus := cfg
	noStatus.Status = func(context.Context, *verifier.Trust, *format.Department, string) (*verifier.Status, error) {
		return nil, errors.New("status server down")
	}
	want("status unavailable", verifier.VerifyDocument(ctx, signedPDF.body, nil, noStatus), verifier.Indeterminate, verifier.TryLater)

	// Rescinded: REVOKED with the reason, from the file and from the QR.
	id := signedPDF.header.Get("Elicence-Document-Id")
	if rs := e.req("POST", "/v1/documents/"+id+"/rescind", tok, `{"reason":"withdrawn"}`); rs.status != 200 {
		t.Fatalf("rescind: %d %s", rs.status, rs.body)
	}
	rr := verifier.VerifyDocument(ctx, signedPDF.body, nil, cfg)
	want("rescinded PDF", rr, verifier.Failed, verifier.Revoked)
	if rr.Status == nil || rr.Status.Reason != "withdrawn" {
		t.Errorf("rescinded status %+v", rr.Status)
	}
	want("rescinded receipt", verifier.Verify(ctx, qrText, cfg), verifier.Failed, verifier.Revoked)
	// The .p7s document is unaffected.
	want(".p7s after the PDF's rescission", verifier.VerifyDocument(ctx, txt, p7.body, cfg), verifier.Passed, "")

	// A department the trust list no longer names a document signer:
	// its documents fail on authorisation, and the issuer signs no more.
	op := e.tokens[issuertest.TokenOperator]
	if r := e.req("POST", "/v1/documents/signers/"+issuertest.Dept, tok, `{"allowed": false}`); r.status != 403 {
		t.Errorf("a department token sets signers: %d", r.status)
	}
	if r := e.req("POST", "/v1/documents/signers/"+issuertest.Dept, op, `{}`); r.status != 422 {
		t.Errorf("no allowed: %d %s", r.status, r.body)
	}
	if r := e.req("POST", "/v1/documents/signers/NOSUCHDEPT", op, `{"allowed": true}`); r.status != 404 {
		t.Errorf("unknown department: %d %s", r.status, r.body)
	}
	if r := e.req("POST", "/v1/documents/signers/"+issuertest.Dept, op, `{"allowed": false}`); r.status != 200 {
		t.Fatalf("stop signing: %d %s", r.status, r.body)
	}
	want("not a document signer", verifier.VerifyDocument(ctx, txt, p7.body, cfg), verifier.Failed, verifier.TypeNotAuthorised)
	want("not a document signer, QR", verifier.Verify(ctx, p7.header.Get("Elicence-Receipt"), cfg), verifier.Failed, verifier.TypeNotAuthorised)
	body, ct = multipartBody(t, map[string]string{"title": "不得签发"}, "file", "x.txt", txt)
	if r := e.req("POST", "/v1/documents", tok, body, "Content-Type", ct); r.status != 403 {
		t.Errorf("sign while not a signer: %d %s", r.status, r.body)
	}
	if r := e.req("POST", "/v1/documents/signers/"+issuertest.Dept, op, `{"allowed": true}`); r.status != 200 {
		t.Fatalf("allow again: %d", r.status)
	}
	want("a signer again", verifier.VerifyDocument(ctx, txt, p7.body, cfg), verifier.Passed, "")
}

// TestDocumentRescissionEvent: a rescission reaches an open event stream
// as a status event whose signed list shows the document's entry revoked,
// with its reason in the list's details — as a licence's revocation does.
func TestDocumentRescissionEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{EventPollInterval: 20 * time.Millisecond}}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		body, ct := multipartBody(t, map[string]string{"title": "证明"}, "file", "proof.txt", []byte("兹证明……"))
		r := e.req("POST", "/v1/documents", tok, body, "Content-Type", ct)
		if r.status != http.StatusCreated {
			t.Fatalf("sign: %d %.300s", r.status, r.body)
		}
		id := r.header.Get("Elicence-Document-Id")
		var d documentJSON
		e.req("GET", "/v1/documents/"+id, tok, nil).json(t, &d)
		ch, cancel := e.openStream(t, "")
		defer cancel()
		if x := e.req("POST", "/v1/documents/"+id+"/rescind", tok, `{"reason":"withdrawn"}`); x.status != http.StatusOK {
			t.Fatalf("rescind: %d %s", x.status, x.body)
		}
		ev := nextStatus(t, ch)
		var data eventData
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			t.Fatal(err)
		}
		if data.List != d.StatusList || data.Index != d.StatusIndex || data.Status != "revoked" {
			t.Fatalf("event %+v, want list %s index %d revoked", data, d.StatusList, d.StatusIndex)
		}
		raw, err := base64.StdEncoding.DecodeString(data.StatusList)
		if err != nil {
			t.Fatal(err)
		}
		_, l, err := format.ParseStatusList(raw)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := l.Statuses()
		if err != nil {
			t.Fatal(err)
		}
		details, err := l.Details(entries)
		if err != nil {
			t.Fatal(err)
		}
		det, ok := format.DetailOf(details, uint32(d.StatusIndex))
		if entries.Get(d.StatusIndex) != format.StatusRevoked || !ok || det.Reason != format.ReasonWithdrawn {
			t.Errorf("streamed list: entry %s, detail %+v (%v), want revoked, withdrawn", entries.Get(d.StatusIndex), det, ok)
		}
	})
}

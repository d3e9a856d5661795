package issuer_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"elicence/document/cms"
	"elicence/document/pdf"
	"elicence/document/pdf/pdftest"
	"elicence/format"
	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// onePagePDF is a small PDF no library wrote.
func onePagePDF() []byte { return pdftest.OnePage("notice", 0) }

func principal(dept string, scopes ...store.Scope) *issuer.Principal {
	return &issuer.Principal{TokenID: "tok-" + dept, Department: dept, Scopes: scopes}
}

// The documents room signs a PDF (stamped, signed in place, the receipt
// binding the file as submitted) and any other file (.p7s), replays an
// idempotent request with the same file, keeps departments apart, and
// rescinds for good, which the department's status list then shows with
// its reason.
func TestDocumentsRoom(t *testing.T) {
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{Publication: issuer.PublicationConfig{PublicURL: "https://yzm.zwfw.fujian.gov.cn"}})
	ctx := t.Context()
	svc := f.Service
	me := principal(issuertest.Dept, store.ScopeIssue, store.ScopeRevoke, store.ScopeRead)
	other := principal(issuertest.Other, store.ScopeIssue, store.ScopeRevoke, store.ScopeRead)

	in := onePagePDF()
	req := issuer.SignRequest{Title: "关于同意设立福州示例科技有限公司分公司的批复", Number: "闽市监〔2026〕12号", FileName: "批复.pdf", Content: in}
	sd, err := svc.Documents.Sign(ctx, me, req, "doc-1")
	if err != nil {
		t.Fatal(err)
	}
	d := sd.Document
	if d.Kind != store.DocumentPDF || d.Pages != 1 || d.Size != int64(len(in)) || sd.Replayed {
		t.Fatalf("document %+v", d)
	}
	if !bytes.HasPrefix(sd.File, in) || !bytes.Equal(sd.File[len(in):], d.Signature) {
		t.Fatal("signed PDF is not the file with the update appended")
	}
	if sum := sm3.Sum(sd.File); !bytes.Equal(d.SignedSM3, sum[:]) {
		t.Error("SignedSM3 is not the signed file's")
	}
	rep := pdf.Verify(sd.File)
	if err := rep.Err(); err != nil || len(rep.Signatures) != 1 {
		t.Fatalf("signed PDF does not verify: %v", err)
	}
	if !bytes.Equal(rep.Signatures[0].CMS.Receipt, d.Receipt) {
		t.Error("the PDF's CMS does not carry the receipt")
	}
	if !rep.Signatures[0].CMS.SigningTime.Equal(d.SignedAt) {
		t.Errorf("CMS signing time %s, record %s", rep.Signatures[0].CMS.SigningTime, d.SignedAt)
	}
	// The receipt: a QR URL under the public URL, signed by the
	// department's key, binding the file as submitted and the slot.
	q, err := format.ParseQR(sd.QRText)
	if err != nil || q.Kind != format.KindDocumentReceipt || q.Host != "YZM.ZWFW.FUJIAN.GOV.CN" {
		t.Fatalf("QR text %q: %+v %v", sd.QRText, q, err)
	}
	_, r, err := format.ParseDocumentReceipt(q.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	sum := sm3.Sum(in)
	if r.ID != d.ID || r.Title != req.Title || r.Number != req.Number || !bytes.Equal(r.SM3, sum[:]) || r.SignedAt != d.SignedAt.Unix() ||
		r.StatusListID(issuertest.Dept) != d.StatusListID || int(r.Status.Index) != d.StatusIndex || fmt.Sprintf("%x", r.ShortKeyID) != d.KeyID[:8] {
		t.Errorf("receipt %+v does not match document %+v", r, d)
	}

	// The same request under the same key: the same document and file,
	// nothing signed again; another file under it is refused.
	again, err := svc.Documents.Sign(ctx, me, req, "doc-1")
	if err != nil || !again.Replayed || again.Document.ID != d.ID || !bytes.Equal(again.File, sd.File) || again.QRText != sd.QRText {
		t.Fatalf("replay: %v, %+v", err, again.Document)
	}
	changed := req
	changed.Content = append(bytes.Clone(in), '\n')
	if _, err := svc.Documents.Sign(ctx, me, changed, "doc-1"); !errors.Is(err, store.ErrIdempotencyMismatch) {
		t.Errorf("another file under the key: %v", err)
	}

	// Any other file: a .p7s over it, the receipt binding the same file.
	txt := []byte("证明：兹证明福州示例科技有限公司……\n")
	p7, err := svc.Documents.Sign(ctx, me, issuer.SignRequest{Title: "证明", Content: txt, FileName: "proof.txt"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p7.Document.Kind != store.DocumentCMS || p7.Document.Pages != 0 || !bytes.Equal(p7.File, p7.Document.Signature) {
		t.Fatalf(".p7s document %+v", p7.Document)
	}
	sdata, err := cms.Verify(p7.File, bytes.NewReader(txt))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Verify(p7.File, bytes.NewReader(append(bytes.Clone(txt), 'x'))); !errors.Is(err, cms.ErrDigest) {
		t.Errorf(".p7s over a changed file: %v", err)
	}
	if !bytes.Equal(sdata.Receipt, p7.Document.Receipt) {
		t.Error("the .p7s does not carry the receipt")
	}
	if err := sdata.VerifyIssuer(f.Root.Cert); err != nil {
		t.Errorf("signer certificate not the root's: %v", err)
	}
	// A PDF may be signed detached on request.
	det, err := svc.Documents.Sign(ctx, me, issuer.SignRequest{Title: "附件", Content: in, Detached: true}, "")
	if err != nil || det.Document.Kind != store.DocumentCMS {
		t.Fatalf("detached PDF: %v %+v", err, det.Document)
	}

	// Bad requests name their field; a PDF that does not parse too.
	for name, bad := range map[string]issuer.SignRequest{
		"title":  {Content: txt},
		"number": {Title: "题", Number: "第\n1号", Content: txt},
		"file":   {Title: "题"},
		"pdf":    {Title: "题", Content: []byte("%PDF-1.7\nnot really")},
	} {
		_, err := svc.Documents.Sign(ctx, me, bad, "")
		var ve *issuer.ValidationError
		if !errors.As(err, &ve) || ve.Errors[0].Field != map[string]string{"title": "title", "number": "number", "file": "file", "pdf": "file"}[name] {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Scopes: reading needs read, signing issue, rescinding revoke.
	if _, err := svc.Documents.Sign(ctx, principal(issuertest.Dept, store.ScopeRead), req, ""); !errors.Is(err, issuer.ErrForbidden) {
		t.Errorf("sign with a read token: %v", err)
	}
	if _, err := svc.Documents.Rescind(ctx, principal(issuertest.Dept, store.ScopeIssue), d.ID, "withdrawn"); !errors.Is(err, issuer.ErrForbidden) {
		t.Errorf("rescind with an issue token: %v", err)
	}

	// Another department sees and rescinds nothing of this one's.
	if _, err := svc.Documents.Document(ctx, other, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other department reads: %v", err)
	}
	if _, err := svc.Documents.Rescind(ctx, other, d.ID, "withdrawn"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other department rescinds: %v", err)
	}
	if _, err := svc.Documents.Document(ctx, me, "not-an-id"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("malformed id: %v", err)
	}

	// Rescission: a reason code, final, and in the status list with it.
	if _, err := svc.Documents.Rescind(ctx, me, d.ID, "penalty"); err == nil {
		t.Error("rescinded with a licence-only reason")
	}
	rd, err := svc.Documents.Rescind(ctx, me, d.ID, "withdrawn")
	if err != nil || rd.Status != store.StatusRevoked || rd.StatusReason != "withdrawn" {
		t.Fatalf("rescind: %v %+v", err, rd)
	}
	if _, err := svc.Documents.Rescind(ctx, me, d.ID, "other"); !errors.Is(err, store.ErrInvalidTransition) {
		t.Errorf("rescind twice: %v", err)
	}
	pub, err := svc.Publication.StatusList(ctx, d.StatusListID)
	if err != nil {
		t.Fatal(err)
	}
	_, list, err := format.ParseStatusList(pub.Body)
	if err != nil {
		t.Fatal(err)
	}
	st, err := list.Statuses()
	if err != nil {
		t.Fatal(err)
	}
	if st.Get(d.StatusIndex) != format.StatusRevoked || st.Get(p7.Document.StatusIndex) != format.StatusValid && p7.Document.StatusListID == d.StatusListID {
		t.Errorf("status list entries: rescinded %s, valid %s", st.Get(d.StatusIndex), st.Get(p7.Document.StatusIndex))
	}
	details, err := list.Details(st)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range details {
		if int(x.Index) == d.StatusIndex {
			found = x.Reason == format.ReasonWithdrawn
		}
	}
	if !found {
		t.Errorf("status list details %+v lack the rescission's reason", details)
	}
}

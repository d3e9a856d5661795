package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"elicence/document/pdf"
	"elicence/format"
	"elicence/issuer/store"
)

// Documents is the documents room: a department signs documents with its
// active key — a PDF is stamped with the receipt QR and signed in place,
// any other file gets a detached .p7s — and rescinds them. Each document
// takes a slot of the department's status lists, so rescission reaches
// verifiers through the status lists as a licence's revocation does. It
// has no settings of its own and no state: everything is in the store.
type Documents struct {
	*core
}

// Audit actions of the documents room.
const (
	ActionDocumentSign    = "document.sign"
	ActionDocumentRescind = "document.rescind"
	ActionDocumentSigner  = "document.signer"
)

// RescindReasons are the reason codes a rescission takes (format §9.2):
// withdrawn (撤销), issued in error, other.
var RescindReasons = []string{"withdrawn", "issued_in_error", "other"}

// SignRequest is a file to sign and what its receipt says about it.
type SignRequest struct {
	// Title (标题) and Number (文号, optional) go into the receipt and,
	// for a PDF, the number onto the stamp.
	Title  string
	Number string
	// FileName is the uploaded file's name, kept for display.
	FileName string
	// Content is the file. It is nil when the file was hashed as it
	// streamed (document/cms.Digest); Digest and Size then say what it was,
	// and it is signed with a .p7s: a PDF signed in place must be held.
	Content []byte
	// Digest is the SM3 of a streamed file, Size its length in bytes;
	// both are ignored when Content is set.
	Digest []byte
	Size   int64
	// Detached signs a PDF as any other file, with a .p7s, leaving it
	// unchanged. A file that is not a PDF is always signed so.
	Detached bool
}

// SignedDocument is the outcome of Sign.
type SignedDocument struct {
	Document store.Document
	// File is what the department hands out: the stamped, signed PDF, or
	// the .p7s of any other file.
	File []byte
	// QRText is the receipt's QR text (a QR URL when the service has a
	// public URL).
	QRText string
	// Replayed is true when an idempotency key returned an earlier
	// signing.
	Replayed bool
}

// IsPDF reports whether b starts like a PDF file (%PDF- within its first
// 1024 bytes, as readers accept it).
func IsPDF(b []byte) bool {
	return bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-"))
}

// DocumentFileOf says how req's file is signed: a PDF (unless Detached)
// stamped and signed in place, with its page count, anything else with a
// .p7s; and its SM3 and size. A streamed file (Content nil) is never
// signed in place. The texts are checked as the receipt will take them
// (a *ValidationError); a PDF that cannot be read is one too, its reason
// ending with hint (how to sign it as any other file).
func DocumentFileOf(req SignRequest, hint string) (DocumentFile, error) {
	if err := checkSignRequest(req); err != nil {
		return DocumentFile{}, err
	}
	if req.Content == nil {
		return DocumentFile{Kind: store.DocumentCMS, Digest: req.Digest, Size: req.Size}, nil
	}
	digest := sm3.Sum(req.Content)
	f := DocumentFile{Kind: store.DocumentCMS, Content: req.Content, Digest: digest[:], Size: int64(len(req.Content))}
	if IsPDF(req.Content) && !req.Detached {
		n, err := pdf.PageCount(req.Content)
		if err != nil {
			return DocumentFile{}, fieldError("file", "%v (%s)", err, hint)
		}
		f.Kind, f.Pages = store.DocumentPDF, n
	}
	return f, nil
}

// signRequestHash identifies a request for idempotency: the file by its
// SM3, and the texts.
func signRequestHash(req SignRequest, digest []byte) []byte {
	return RequestHash(struct {
		Title, Number, FileName string
		SM3                     []byte
		Detached                bool
	}{req.Title, req.Number, req.FileName, digest, req.Detached})
}

// checkSignRequest checks the texts as the receipt will (format §16).
func checkSignRequest(req SignRequest) error {
	var errs []FieldError
	probe := format.DocumentReceipt{ID: format.NewDocumentID(make([]byte, format.DocumentIDSize)), SignedAt: 1,
		SM3: make([]byte, format.DocumentSM3Size), Status: format.CompactStatusRef{List: 1}, ShortKeyID: make([]byte, format.ShortKeyIDSize)}
	probe.Title = req.Title
	if err := probe.Validate(); err != nil {
		errs = append(errs, FieldError{Field: "title", Reason: err.Error()})
	}
	probe.Title, probe.Number = "题", req.Number
	if err := probe.Validate(); err != nil {
		errs = append(errs, FieldError{Field: "number", Reason: err.Error()})
	}
	if len(req.FileName) > 255 {
		errs = append(errs, FieldError{Field: "file", Reason: "file name longer than 255 bytes"})
	}
	switch {
	case req.Content == nil && len(req.Digest) != sm3.Size:
		errs = append(errs, FieldError{Field: "file", Reason: "no file"})
	case len(req.Content) == 0 && (req.Content != nil || req.Size <= 0):
		errs = append(errs, FieldError{Field: "file", Reason: "the file is empty"})
	}
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

// Sign signs req.Content for p's department (scope issue) and records it.
// With an idempotency key the same key and request return the document
// signed first, with the same file; the same key with another request is
// store.ErrIdempotencyMismatch.
func (s *Documents) Sign(ctx context.Context, p *Principal, req SignRequest, idempotencyKey string) (SignedDocument, error) {
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return SignedDocument{}, err
	}
	if len(idempotencyKey) > 128 {
		return SignedDocument{}, fieldError("Idempotency-Key", "at most 128 bytes")
	}
	file, err := DocumentFileOf(req, "send it with detached=true to sign it as a file")
	if err != nil {
		return SignedDocument{}, err
	}
	var hash []byte
	if idempotencyKey != "" {
		hash = signRequestHash(req, file.Digest)
	}
	dept, err := s.store.Department(ctx, p.Department)
	if err != nil {
		return SignedDocument{}, err
	}
	if ok, err := s.store.IsDocumentSigner(ctx, p.Department); err != nil {
		return SignedDocument{}, err
	} else if !ok {
		return SignedDocument{}, problem(store.ErrNotAuthorised, "department %s may not sign documents: the operator allows it (POST /v1/admin/departments/{code}/documents)", p.Department)
	}
	var out SignedDocument
	built := false
	err = s.withActiveKey(p.Department, func() error {
		sg, err := s.activeSigner(ctx, p.Department)
		if err != nil {
			return err
		}
		chain, err := s.chainOf(ctx, sg)
		if err != nil {
			return err
		}
		origin, err := s.logOrigin(ctx, p.Department)
		if err != nil {
			return err
		}
		built = false
		d, err := s.store.SignDocument(ctx, store.DocumentParams{
			DepartmentCode: p.Department, KeyID: sg.id.String(), IdempotencyKey: idempotencyKey, RequestHash: hash,
			LogOrigin: origin,
		}, func(slot store.DocumentSlot) (store.Document, store.AuditEvent, error) {
			built = true
			d, signed, err := BuildDocument(DocumentSigner{Key: sg.key, KeyID: sg.id, Chain: chain, DeptCode: dept.Code, DeptName: dept.Name,
				QRText: func(env format.Signed) string { return s.qrText(format.KindDocumentReceipt, env) }}, req, file, slot, s.now())
			if err != nil {
				return store.Document{}, store.AuditEvent{}, err
			}
			out.File = signed
			detail, _ := json.Marshal(documentDetail{Issuer: d.DepartmentCode, List: d.StatusListID, Index: d.StatusIndex,
				Status: store.StatusValid.String(), Document: d.ID, Kind: d.Kind, SM3: fmt.Sprintf("%x", d.SM3)})
			return d, store.AuditEvent{Actor: p.TokenID, Action: ActionDocumentSign, Subject: d.ID, Detail: detail}, nil
		})
		out.Document = d
		return err
	})
	if err != nil {
		return SignedDocument{}, s.documentErr(err, "")
	}
	out.Replayed = !built
	if out.Replayed {
		out.File = SignedFile(out.Document, req.Content)
	}
	out.QRText = s.ReceiptQRText(out.Document.Receipt)
	return out, nil
}

// SignedFile returns the file a document record hands out, given the file
// that was signed: the signed PDF (the file and the update appended to
// it) or the .p7s.
func SignedFile(d store.Document, content []byte) []byte {
	if d.Kind == store.DocumentPDF {
		return append(bytes.Clone(content), d.Signature...)
	}
	return bytes.Clone(d.Signature)
}

// ReceiptQRText returns the QR text of a stored receipt envelope (a QR
// URL when the service has a public URL).
func (s *Documents) ReceiptQRText(envelope []byte) string {
	signed, err := format.ParseSigned("document receipt", envelope)
	if err != nil {
		return ""
	}
	return s.qrText(format.KindDocumentReceipt, signed)
}

// chainOf returns the certificates a CMS carries for sg: the department
// key's certificate, then the root's when the service has it.
func (s *Documents) chainOf(ctx context.Context, sg *signer) ([]*smx509.Certificate, error) {
	k, err := s.store.SigningKey(ctx, sg.dept, sg.id.String())
	if err != nil {
		return nil, err
	}
	cert, err := smx509.ParseCertificate(k.Certificate)
	if err != nil {
		return nil, fmt.Errorf("certificate of key %s/%s: %w", sg.dept, sg.id, err)
	}
	chain := []*smx509.Certificate{cert}
	if s.root != nil && s.root.Cert != nil {
		chain = append(chain, s.root.Cert)
	}
	return chain, nil
}

// documentDetail is the audit detail of a document's signing or
// rescission.
type documentDetail struct {
	Issuer   string `json:"issuer"`
	List     string `json:"list"`
	Index    int    `json:"index"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Document string `json:"document"`
	Kind     string `json:"kind,omitempty"`
	SM3      string `json:"sm3,omitempty"`
}

// Document returns p's department's document id (scope read); another
// department's is store.ErrNotFound, like one that does not exist.
func (s *Documents) Document(ctx context.Context, p *Principal, id string) (store.Document, error) {
	if err := requireDept(p, store.ScopeRead); err != nil {
		return store.Document{}, err
	}
	return s.ownDocument(ctx, p, id)
}

func (s *Documents) ownDocument(ctx context.Context, p *Principal, id string) (store.Document, error) {
	if !format.ValidDocumentID(id) {
		return store.Document{}, problem(store.ErrNotFound, "no document %q", id)
	}
	d, err := s.store.Document(ctx, p.Department, id)
	if err != nil {
		return store.Document{}, s.documentErr(err, id)
	}
	return d, nil
}

// Rescind rescinds (撤销) p's department's document id (scope revoke)
// with a reason from RescindReasons. It is final: rescinding again is
// store.ErrInvalidTransition.
func (s *Documents) Rescind(ctx context.Context, p *Principal, id, reason string) (store.Document, error) {
	if err := requireDept(p, store.ScopeRevoke); err != nil {
		return store.Document{}, err
	}
	if !slices.Contains(RescindReasons, reason) {
		return store.Document{}, fieldError("reason", "want one of %v", RescindReasons)
	}
	old, err := s.ownDocument(ctx, p, id)
	if err != nil {
		return store.Document{}, err
	}
	if old.Status != store.StatusValid {
		return store.Document{}, problem(store.ErrInvalidTransition, "document %s is already rescinded, and rescission is final", id)
	}
	detail, _ := json.Marshal(documentDetail{Issuer: old.DepartmentCode, List: old.StatusListID, Index: old.StatusIndex,
		Status: store.StatusRevoked.String(), Reason: reason, Document: id})
	d, err := s.store.RescindDocument(ctx, p.Department, id, reason, store.AuditEvent{Actor: p.TokenID, Action: ActionDocumentRescind, Subject: id, Detail: detail})
	if errors.Is(err, store.ErrInvalidTransition) {
		return store.Document{}, problem(store.ErrInvalidTransition, "document %s is already rescinded, and rescission is final", id)
	}
	if err != nil {
		return store.Document{}, s.documentErr(err, id)
	}
	return d, nil
}

// documentErr gives store errors about a document a safe detail.
func (s *Documents) documentErr(err error, id string) error {
	var pb *Problem
	var ve *ValidationError
	switch {
	case errors.As(err, &pb), errors.As(err, &ve):
		return err
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return problem(store.ErrIdempotencyMismatch, "the Idempotency-Key was used before with a different request")
	case errors.Is(err, store.ErrNotFound):
		return problem(store.ErrNotFound, "no document %s", id)
	}
	return err
}

// SetSigner lets department dept sign documents (allowed) or stops it; the
// operator's (p). The trust list says so from its next signing on, and
// verifiers refuse documents of departments it does not name as signers.
// Documents signed before a department is stopped stay as they are in the
// store, but verifiers refuse them from then on.
func (s *Documents) SetSigner(ctx context.Context, p *Principal, dept string, allowed bool) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]bool{"allowed": allowed})
	err := s.store.SetDocumentSigner(ctx, dept, allowed, store.AuditEvent{Actor: p.TokenID, Action: ActionDocumentSigner, Subject: dept, Detail: detail})
	if errors.Is(err, store.ErrNotFound) {
		return problem(store.ErrNotFound, "no department %s", dept)
	}
	if err == nil {
		s.keysChanged("")
	}
	return err
}

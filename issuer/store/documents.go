package store

import (
	"context"
	"time"
)

// DocumentStore holds signed documents (issuer room Documents). A document
// takes a slot in its department's status lists, as a licence does: the
// lists and their details carry a rescinded document as a revoked entry,
// so StatusListEntries returns documents' entries with licences'.
type DocumentStore interface {
	// SignDocument records one signed document in one transaction: it
	// allocates a status-list slot of the department, calls build with
	// it, stores the returned document and appends the returned audit
	// event. The document must carry p.DepartmentCode, p.KeyID as its
	// KeyID and the slot, and be valid (not rescinded); otherwise it
	// fails with ErrInvalid. p.KeyID must be the department's active
	// key, held until the commit, or ErrKeyNotActive. build runs while
	// the transaction holds a connection and must not call the store.
	//
	// With an idempotency key (a namespace of its own, apart from
	// licences'), a request whose key was seen before returns the
	// document recorded then, in its current state, without calling
	// build if p.RequestHash matches, and ErrIdempotencyMismatch
	// otherwise.
	SignDocument(ctx context.Context, p DocumentParams, build func(DocumentSlot) (Document, AuditEvent, error)) (Document, error)
	// Document returns the department's document with the ID;
	// ErrNotFound if it does not exist or belongs to another department.
	Document(ctx context.Context, dept, id string) (Document, error)
	// RescindDocument rescinds (撤销) a valid document: its status-list
	// entry becomes revoked with the reason code, for good. A rescinded
	// document returns ErrInvalidTransition, another department's
	// ErrNotFound.
	RescindDocument(ctx context.Context, dept, id, reason string, audit AuditEvent) (Document, error)
	// SetDocumentSigner lets the department sign documents (allowed) or
	// stops it, appending audit; setting what is already so changes
	// nothing but still appends the entry. ErrNotFound for an unknown
	// department.
	SetDocumentSigner(ctx context.Context, dept string, allowed bool, audit AuditEvent) error
	// IsDocumentSigner reports whether the department may sign documents.
	IsDocumentSigner(ctx context.Context, dept string) (bool, error)
}

// DocumentParams names what SignDocument records.
type DocumentParams struct {
	DepartmentCode string
	// KeyID is the ID of the signing key, checked as IssueParams.KeyID.
	KeyID string
	// IdempotencyKey is optional (1 to 128 bytes), with RequestHash.
	IdempotencyKey string
	RequestHash    []byte
	// LogOrigin, when not empty, names the department's issuance log: the
	// document's receipt is appended to it (DocumentLeaf) in the same
	// transaction.
	LogOrigin string
}

// DocumentSlot is the status-list entry allocated for a document.
type DocumentSlot struct {
	StatusListID string
	StatusIndex  int
}

// Document kinds: how the file was signed.
const (
	// DocumentPDF is a PDF stamped and signed in place.
	DocumentPDF = "pdf"
	// DocumentCMS is any file, signed by a detached .p7s.
	DocumentCMS = "cms"
)

// Document is a signed document.
type Document struct {
	// ID is the document identifier (format.NewDocumentID).
	ID             string
	DepartmentCode string
	// Kind is DocumentPDF or DocumentCMS.
	Kind string
	// Title and Number (文号, may be empty) as the receipt carries them.
	Title  string
	Number string
	// FileName is the name of the file as uploaded (for display only).
	FileName string
	// KeyID is the ID of the signing key.
	KeyID    string
	SignedAt time.Time
	// SM3 is the SM3 of the file as submitted: the receipt's binding.
	SM3 []byte
	// SignedSM3 is the SM3 of the signed file: for a PDF the stamped,
	// signed PDF; for a .p7s the same as SM3.
	SignedSM3 []byte
	// Size is the submitted file's length in bytes; Pages its page count
	// (0 for a file that is not a PDF).
	Size  int64
	Pages int
	// StatusListID and StatusIndex are the document's status-list slot.
	StatusListID string
	StatusIndex  int
	// Receipt is the signed receipt envelope (format.DocumentReceipt).
	Receipt []byte
	// Signature is what makes the signed file from the submitted one:
	// the .p7s DER for DocumentCMS, the bytes appended to the PDF (the
	// incremental update) for DocumentPDF.
	Signature []byte
	// Status is StatusValid, or StatusRevoked once rescinded, with the
	// reason code and time.
	Status          Status
	StatusReason    string
	StatusChangedAt time.Time
	UpdatedAt       time.Time
}

// CheckSlot checks a freshly built document against what SignDocument
// allocated.
func (d *Document) CheckSlot(p DocumentParams, slot DocumentSlot) error {
	switch {
	case d.ID == "" || len(d.ID) > 64:
		return invalidf("document: ID must be 1 to 64 bytes")
	case d.DepartmentCode != p.DepartmentCode:
		return invalidf("document %s: department %q, want %q", d.ID, d.DepartmentCode, p.DepartmentCode)
	case d.KeyID != p.KeyID || d.KeyID == "":
		return invalidf("document %s: key %q, want %q", d.ID, d.KeyID, p.KeyID)
	case d.StatusListID != slot.StatusListID || d.StatusIndex != slot.StatusIndex:
		return invalidf("document %s: slot %s/%d, want %s/%d", d.ID, d.StatusListID, d.StatusIndex, slot.StatusListID, slot.StatusIndex)
	case d.Kind != DocumentPDF && d.Kind != DocumentCMS:
		return invalidf("document %s: kind %q", d.ID, d.Kind)
	case d.Title == "":
		return invalidf("document %s: empty title", d.ID)
	case len(d.SM3) != 32 || len(d.SignedSM3) != 32:
		return invalidf("document %s: SM3 digests must be 32 bytes", d.ID)
	case d.SignedAt.IsZero() || len(d.Receipt) == 0 || len(d.Signature) == 0:
		return invalidf("document %s: needs a signing time, a receipt and a signature", d.ID)
	case d.Status != StatusValid:
		return invalidf("document %s: a new document is valid", d.ID)
	case d.Size < 0 || d.Pages < 0:
		return invalidf("document %s: negative size or page count", d.ID)
	}
	return nil
}

// Validate checks the parameters.
func (p DocumentParams) Validate() error {
	if p.DepartmentCode == "" || p.KeyID == "" {
		return invalidf("sign document: department and key are required")
	}
	if err := validateLogOrigin(p.LogOrigin); err != nil {
		return err
	}
	return validateIdempotency(p.IdempotencyKey, p.RequestHash)
}

// ValidateRescind checks a rescission's arguments, for the backends.
func ValidateRescind(id, reason string, audit AuditEvent) error {
	if id == "" {
		return invalidf("rescind document: empty ID")
	}
	if reason == "" || len(reason) > 64 {
		return invalidf("rescind document %s: reason code must be 1 to 64 bytes", id)
	}
	return audit.Validate()
}

// PrepareDocument normalises a freshly built document for storage.
func PrepareDocument(d *Document, now time.Time) {
	d.SignedAt = Timestamp(d.SignedAt)
	d.StatusReason, d.StatusChangedAt = "", time.Time{}
	d.UpdatedAt = now
}

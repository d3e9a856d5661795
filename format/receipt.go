package format

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// KindDocumentReceipt is the kind of a document receipt payload: the
// signed summary of a signed document that its stamp's QR code carries
// (docs/FORMAT.md §16).
const KindDocumentReceipt Kind = 7

// PrefixDocumentReceipt2 is the QR prefix of a document receipt. Receipts
// exist in version 2 only: Base41, and as a QR URL.
const PrefixDocumentReceipt2 = "LD2:"

// Sizes of a receipt's fixed fields.
const (
	// DocumentSM3Size is the length of a receipt's binding to its
	// document: the SM3 digest of the signed file.
	DocumentSM3Size = 32
	// DocumentIDSize is the length of a document identifier in bytes;
	// its text form is twice as many upper-case hex digits.
	DocumentIDSize = 8
)

// Limits of a receipt's texts, in characters. A title of 30 Chinese
// characters and a number of 20 fit QR version 12 at level M as a QR URL
// under a 30-character base (TestDocumentReceiptQRBudget); longer ones
// make a larger code, up to these limits.
const (
	MaxReceiptTitleRunes  = 60
	MaxReceiptNumberRunes = 32
)

// DocumentReceipt is what a signed document's stamp carries: which
// department signed which document, when, under which number, and the SM3
// of the file it signed. Like a compact credential it names no
// department: its short key ID must name exactly one key of the trust
// list, the department is that key's, and its status list is that
// department's list number Status.List.
//
// In the payload Title and Number are GB 18030 byte strings (two bytes a
// common Chinese character against three in UTF-8: what lets the receipt
// fit the QR budget); here they are ordinary Go strings.
type DocumentReceipt struct {
	// ID is the document identifier, DocumentIDSize*2 upper-case hex
	// digits.
	ID string
	// Title is the document's title (标题).
	Title string
	// Number is the document number (文号), optional.
	Number string
	// SignedAt is the signing time, Unix seconds: the CMS signing-time.
	SignedAt int64
	// SM3 is the SM3 digest of the signed file: for a detached .p7s the
	// file itself, for a PDF the stamped file before its signature's
	// contents (what its byte range covers, the hole left out).
	SM3 []byte
	// Status locates the document in its department's status lists; a
	// rescinded document is revoked there.
	Status CompactStatusRef
	// ShortKeyID is the first ShortKeyIDSize bytes of the signing key's ID.
	ShortKeyID []byte
}

// receiptPayload is the CBOR layout of a receipt (docs/FORMAT.md §16).
type receiptPayload struct {
	Kind       Kind             `cbor:"0,keyasint"`
	ID         []byte           `cbor:"1,keyasint"`
	Title      []byte           `cbor:"2,keyasint"`
	Number     []byte           `cbor:"3,keyasint,omitempty"`
	SignedAt   int64            `cbor:"4,keyasint"`
	SM3        []byte           `cbor:"5,keyasint"`
	Status     CompactStatusRef `cbor:"6,keyasint"`
	ShortKeyID []byte           `cbor:"7,keyasint"`
}

// StatusListID returns the identifier of the receipt's status list, given
// the department its key belongs to.
func (r *DocumentReceipt) StatusListID(dept string) string {
	return StatusListName(dept, r.Status.List)
}

// NewDocumentID returns the text form of a document identifier made of b,
// which must be DocumentIDSize bytes.
func NewDocumentID(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// ValidDocumentID reports whether id is a document identifier's text form.
func ValidDocumentID(id string) bool {
	if len(id) != 2*DocumentIDSize || strings.ToUpper(id) != id {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// Validate checks the receipt's own consistency.
func (r *DocumentReceipt) Validate() error {
	_, err := r.payload()
	return err
}

func (r *DocumentReceipt) payload() (receiptPayload, error) {
	p := receiptPayload{Kind: KindDocumentReceipt, SignedAt: r.SignedAt, SM3: r.SM3, Status: r.Status, ShortKeyID: r.ShortKeyID}
	if !ValidDocumentID(r.ID) {
		return p, fmt.Errorf("document id %q: want %d upper-case hex digits", r.ID, 2*DocumentIDSize)
	}
	p.ID, _ = hex.DecodeString(r.ID)
	var err error
	if p.Title, err = receiptText("title", r.Title, 1, MaxReceiptTitleRunes); err != nil {
		return p, err
	}
	if p.Number, err = receiptText("number", r.Number, 0, MaxReceiptNumberRunes); err != nil {
		return p, err
	}
	if r.SignedAt <= 0 {
		return p, fmt.Errorf("signing time must be after 1970")
	}
	if len(r.SM3) != DocumentSM3Size {
		return p, fmt.Errorf("sm3 is %d bytes, want %d", len(r.SM3), DocumentSM3Size)
	}
	if r.Status.List == 0 {
		return p, fmt.Errorf("status list number must be at least 1")
	}
	if len(r.ShortKeyID) != ShortKeyIDSize {
		return p, fmt.Errorf("short key id is %d bytes, want %d", len(r.ShortKeyID), ShortKeyIDSize)
	}
	return p, nil
}

// receiptText checks a title or number and returns its GB 18030 bytes.
func receiptText(name, s string, minRunes, maxRunes int) ([]byte, error) {
	n := utf8.RuneCountInString(s)
	if n < minRunes || n > maxRunes || !utf8.ValidString(s) {
		return nil, fmt.Errorf("%s: want %d to %d characters of valid UTF-8", name, minRunes, maxRunes)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == utf8.RuneError {
			return nil, fmt.Errorf("%s: character %U is not allowed", name, c)
		}
	}
	if s == "" {
		return nil, nil
	}
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("%s: not encodable in GB 18030: %v", name, err)
	}
	return b, nil
}

// gbText decodes GB 18030 bytes strictly: the result must encode back to
// exactly b.
func gbText(name string, b []byte) (string, error) {
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(s) || bytes.ContainsRune(s, utf8.RuneError) {
		return "", fmt.Errorf("%s: not GB 18030", name)
	}
	again, err := simplifiedchinese.GB18030.NewEncoder().Bytes(s)
	if err != nil || !bytes.Equal(again, b) {
		return "", fmt.Errorf("%s: not GB 18030 in its one encoding", name)
	}
	return string(s), nil
}

// SignDocumentReceipt validates r and signs it.
func SignDocumentReceipt(signer crypto.Signer, r DocumentReceipt) (Signed, error) {
	p, err := r.payload()
	if err != nil {
		return Signed{}, fmt.Errorf("document receipt: %w", err)
	}
	return seal(signer, p)
}

// EncodePayload returns the canonical payload bytes of r, as
// SignDocumentReceipt signs them.
func (r *DocumentReceipt) EncodePayload() ([]byte, error) {
	p, err := r.payload()
	if err != nil {
		return nil, fmt.Errorf("document receipt: %w", err)
	}
	return encMode.Marshal(p)
}

// ParseDocumentReceipt decodes a signed document receipt without verifying
// the signature.
func ParseDocumentReceipt(b []byte) (Signed, *DocumentReceipt, error) {
	const what = "document receipt"
	s, err := ParseSigned(what, b)
	if err != nil {
		return s, nil, err
	}
	var p receiptPayload
	if err := decodePayload(what, s.Payload, KindDocumentReceipt, &p); err != nil {
		return s, nil, err
	}
	bad := func(err error) (Signed, *DocumentReceipt, error) {
		return s, nil, &ParseError{What: what, Problem: ProblemFormat, Err: err}
	}
	if len(p.ID) != DocumentIDSize {
		return bad(fmt.Errorf("document id is %d bytes, want %d", len(p.ID), DocumentIDSize))
	}
	r := &DocumentReceipt{ID: NewDocumentID(p.ID), SignedAt: p.SignedAt, SM3: p.SM3, Status: p.Status, ShortKeyID: p.ShortKeyID}
	if r.Title, err = gbText("title", p.Title); err != nil {
		return bad(err)
	}
	if r.Number, err = gbText("number", p.Number); err != nil {
		return bad(err)
	}
	if err := r.Validate(); err != nil {
		return bad(err)
	}
	return s, r, nil
}

package issuer

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"fmt"
	"image"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"elicence/document/cms"
	"elicence/document/pdf"
	"elicence/format"
	"elicence/issuer/store"
	"elicence/keys"
)

// DocumentSigner is a department's signing key and what a signed document
// says about it: what [BuildDocument] needs besides the file. The
// documents room fills it from the store; "elicence sign --keys" from a key
// directory.
type DocumentSigner struct {
	// Key is the department's SM2 key (*sm2.PrivateKey or *keys.SM2Key).
	Key   crypto.Signer
	KeyID keys.ID
	// Chain is the key's certificate first, then the root's when known.
	Chain []*smx509.Certificate
	// DeptCode and DeptName name the department; the name goes onto a
	// PDF's stamp.
	DeptCode, DeptName string
	// Seal is the department's seal image, stamped behind the text of a
	// PDF's verification block when set.
	Seal image.Image
	// QRText turns the signed receipt into its QR text (a QR URL when
	// the signer has a public URL); format.QRText2 when nil.
	QRText func(format.Signed) string
}

// DocumentFile is the file BuildDocument signs.
type DocumentFile struct {
	// Kind is store.DocumentPDF (Content is stamped and signed in place)
	// or store.DocumentCMS (a .p7s over the file whose SM3 is Digest).
	Kind string
	// Content is the whole file; required for a PDF, and nil for any
	// other file that was hashed as it streamed.
	Content []byte
	// Digest is the file's SM3, Size its length in bytes, Pages a PDF's
	// page count.
	Digest []byte
	Size   int64
	Pages  int
}

// BuildDocument signs file for sg with the status slot slot at signedAt:
// it makes the document receipt, then the stamped and signed PDF or the
// .p7s, and returns the document record (status valid) and the file to
// hand out. It does no I/O besides reading the stamp's font.
func BuildDocument(sg DocumentSigner, req SignRequest, file DocumentFile, slot store.DocumentSlot, signedAt time.Time) (store.Document, []byte, error) {
	list, ok := format.StatusListNumber(sg.DeptCode, slot.StatusListID)
	if !ok {
		return store.Document{}, nil, fmt.Errorf("status list %s has no number of department %s", slot.StatusListID, sg.DeptCode)
	}
	if len(file.Digest) != sm3.Size {
		return store.Document{}, nil, fmt.Errorf("document digest is %d bytes, want %d", len(file.Digest), sm3.Size)
	}
	idb := make([]byte, format.DocumentIDSize)
	if _, err := rand.Read(idb); err != nil {
		return store.Document{}, nil, err
	}
	signedAt = signedAt.UTC().Truncate(time.Second)
	r := format.DocumentReceipt{
		ID: format.NewDocumentID(idb), Title: req.Title, Number: req.Number, SignedAt: signedAt.Unix(), SM3: file.Digest,
		Status: format.CompactStatusRef{List: list, Index: uint32(slot.StatusIndex)}, ShortKeyID: sg.KeyID[:format.ShortKeyIDSize],
	}
	env, err := format.SignDocumentReceipt(sg.Key, r)
	if err != nil {
		return store.Document{}, nil, err
	}
	signer := cms.Signer{Key: sg.Key, Chain: sg.Chain, Now: func() time.Time { return signedAt }, Receipt: env.Encode()}
	d := store.Document{
		ID: r.ID, DepartmentCode: sg.DeptCode, Kind: file.Kind, Title: req.Title, Number: req.Number, FileName: req.FileName,
		KeyID: sg.KeyID.String(), SignedAt: signedAt, SM3: file.Digest, Size: file.Size, Pages: file.Pages,
		StatusListID: slot.StatusListID, StatusIndex: slot.StatusIndex, Receipt: env.Encode(),
	}
	if file.Kind != store.DocumentPDF {
		der, err := signer.SignDigest(file.Digest)
		if err != nil {
			return store.Document{}, nil, err
		}
		d.Signature, d.SignedSM3 = der, file.Digest
		return d, der, nil
	}
	qrText := format.QRText2(format.KindDocumentReceipt, env)
	if sg.QRText != nil {
		qrText = sg.QRText(env)
	}
	signed, err := pdf.Sign(file.Content, pdf.Options{Signer: signer, Stamp: &pdf.Stamp{
		QRText: qrText, Department: sg.DeptName, DocumentNumber: req.Number, Seal: sg.Seal,
	}})
	if err != nil {
		return store.Document{}, nil, fieldError("file", "%v", err)
	}
	d.Signature = bytes.Clone(signed[len(file.Content):])
	sum := sm3.Sum(signed)
	d.SignedSM3 = sum[:]
	return d, signed, nil
}

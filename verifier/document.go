package verifier

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"elicence/document/cms"
	"elicence/document/pdf"
	"elicence/format"
	"elicence/keys"
)

// Document file kinds of Document.File.
const (
	FilePDF = "pdf"
	FileP7S = "p7s"
)

// VerifyDocument verifies a signed document: a PDF carrying its embedded
// signature (sig nil), or any file with its detached .p7s (sig). It checks
// the SM2 signature over the bytes, then the receipt the signature carries
// as the QR text of a receipt is checked (trust list, key, status), and
// that the receipt binds the file: for a .p7s its SM3 is the signed
// digest; for a PDF the receipt binds the file as it was before the
// signature's update. A byte changed inside the signed range is
// HASH_FAILURE; bytes appended after it are TRAILING_DATA, never PASSED
// (unless another elicence signature that verifies covers them); a
// rescinded document is REVOKED with the reason; unavailable trust or
// status data is TRY_LATER. It never panics.
func VerifyDocument(ctx context.Context, file, sig []byte, cfg Config) *Report {
	now := cfg.clock()
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	run1 := func(retried bool) (*run, *Report) {
		x := &run{r: &Report{VerifiedAt: now.UTC(), Checks: make([]Check, 0, len(checkOrder))}, retried: retried}
		return x, verifyDocument(ctx, x, file, sig, cfg, now)
	}
	x, r := run1(false)
	if x.retry {
		x, r = run1(true)
	}
	if r.Indication == "" {
		r.Indication = Passed
	}
	return x.skipRest(r)
}

// signedFile is one signature over a document and the receipt it carries.
type signedFile struct {
	sd *cms.SignedData
	// bound reports whether a digest is the one the receipt binds.
	bound func(receiptSM3 []byte) bool
}

func verifyDocument(ctx context.Context, x *run, file, sig []byte, cfg Config, now time.Time) *Report {
	x.r.Kind = format.KindDocumentReceipt.String()
	var sigs []signedFile
	kind := FileP7S
	if sig != nil {
		sd, err := cms.Verify(sig, bytes.NewReader(file))
		switch {
		case errors.Is(err, cms.ErrDigest):
			return x.fail(CheckFormat, Failed, HashFailure, "the file is not the one the .p7s signs: its SM3 differs from the signed digest")
		case errors.Is(err, cms.ErrSignature):
			return x.fail(CheckFormat, Failed, SigCryptoFailure, "the .p7s signature does not verify with its signer certificate")
		case err != nil:
			return x.fail(CheckFormat, Failed, FormatFailure, "the .p7s is not an SM2 CMS signature: "+err.Error())
		}
		sigs = append(sigs, signedFile{sd: sd, bound: func(d []byte) bool { return bytes.Equal(d, sd.Digest) }})
	} else {
		kind = FilePDF
		if !bytes.Contains(file[:min(len(file), 1024)], []byte("%PDF-")) {
			return x.fail(CheckFormat, Failed, UnsupportedFormat, "not a PDF: send a file that is not a PDF with its .p7s")
		}
		rep := pdf.Verify(file)
		if err := rep.Err(); err != nil {
			return x.fail(CheckFormat, Failed, pdfFailure(err), err.Error())
		}
		for _, s := range rep.Signatures {
			if s.Err != nil || s.CMS == nil || s.CMS.Receipt == nil {
				continue
			}
			sigs = append(sigs, signedFile{sd: s.CMS, bound: priorRevision(file, s.ByteRange[1])})
		}
		if len(sigs) == 0 {
			return x.fail(CheckFormat, Failed, FormatFailure, "the PDF's signatures verify but none carries an elicence receipt")
		}
	}
	x.pass(CheckFormat, "document, "+kind+", "+strconv.Itoa(len(sigs))+" elicence signature(s)")
	// Every elicence signature must hold (a countersignature included);
	// the report describes the first, the document's issuer.
	var first *Report
	for i := len(sigs) - 1; i >= 0; i-- {
		y := x
		if i > 0 {
			y = &run{r: &Report{VerifiedAt: now.UTC()}, retried: x.retried}
		}
		r := verifyReceipt(ctx, y, sigs[i].sd.Receipt, &sigs[i], cfg, now)
		if y.retry {
			x.retry = true
		}
		if r.Indication != "" && i > 0 {
			// A countersignature that fails fails the file.
			return x.fail(CheckSignature, r.Indication, r.SubIndication, "countersignature "+strconv.Itoa(i+1)+": "+r.Reason)
		}
		first = r
	}
	if first.Document != nil {
		first.Document.File = kind
	}
	return first
}

// priorRevision returns the binding check of a PDF signature whose hole
// starts at hole: the receipt binds the file as it was submitted, which
// ends with the last %%EOF before the signature's update (and its end of
// line, if any).
func priorRevision(file []byte, hole int64) func([]byte) bool {
	return func(want []byte) bool {
		if hole <= 0 || hole > int64(len(file)) {
			return false
		}
		i := bytes.LastIndex(file[:hole], []byte("%%EOF"))
		if i < 0 {
			return false
		}
		end := i + len("%%EOF")
		for _, n := range []int{end, end + 1, end + 2} {
			if n > len(file) || (n > end && file[n-1] != '\n' && file[n-1] != '\r') {
				break
			}
			d, _ := cms.Digest(bytes.NewReader(file[:n]))
			if bytes.Equal(d, want) {
				return true
			}
		}
		return false
	}
}

// pdfFailure maps document/pdf's errors to sub-indications.
func pdfFailure(err error) SubIndication {
	switch {
	case errors.Is(err, pdf.ErrHash):
		return HashFailure
	case errors.Is(err, cms.ErrSignature):
		return SigCryptoFailure
	case errors.Is(err, pdf.ErrAppended):
		return TrailingData
	}
	return FormatFailure
}

// verifyReceipt checks a document receipt: alone (a scanned QR text, sf
// nil) or as carried by a verified signature over a file (sf), whose
// signer must be the receipt's key and whose bytes the receipt must bind.
func verifyReceipt(ctx context.Context, x *run, raw []byte, sf *signedFile, cfg Config, now time.Time) *Report {
	x.r.Kind = format.KindDocumentReceipt.String()
	signed, rc, err := format.ParseDocumentReceipt(raw)
	if err != nil {
		return x.fail(CheckFormat, Failed, formatFailure(err), err.Error())
	}
	if sf == nil {
		x.pass(CheckFormat, "document receipt, format version 2")
	}
	trust, err := cfg.Trust(ctx)
	if err != nil {
		return x.fail(CheckTrustList, Indeterminate, TryLater, "trust list unavailable: "+err.Error())
	}
	dept, key, matches := trust.shortKey(rc.ShortKeyID)
	if key == nil && cfg.RefreshTrust != nil {
		if t, err := cfg.RefreshTrust(ctx); err == nil && t != nil {
			trust = t
			dept, key, matches = trust.shortKey(rc.ShortKeyID)
		}
	}
	if r := checkTrust(x, trust, now, cfg); r != nil {
		return r
	}
	x.pass(CheckTrustList, "sequence "+strconv.FormatUint(trust.List.Sequence, 10))
	if key == nil {
		x.r.Issuer = &Issuer{KeyID: hex.EncodeToString(rc.ShortKeyID)}
		if matches > 1 {
			return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("short key id %x names %d keys in the trust list, not one", rc.ShortKeyID, matches))
		}
		return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("no key in the trust list has a key id starting %x", rc.ShortKeyID))
	}
	x.r.Issuer = &Issuer{Code: dept.dept.Code, Name: dept.dept.Name, KeyID: key.id, KeyState: key.entry.State.String()}
	if sf != nil {
		// The file's signer must be that very key of that department.
		if id := keys.IDOfDER(sf.sd.Signer.RawSubjectPublicKeyInfo); !bytes.Equal(id[:], key.entry.ID) {
			return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("the file is signed by key %s, not by the key %s of department %s the receipt names", id, key.id, dept.dept.Code))
		}
	}
	x.pass(CheckIssuer, dept.dept.Name)
	if !key.verifyMemo(cfg.Memo, signed.Payload, signed.Signature) {
		return x.fail(CheckSignature, Failed, SigCryptoFailure, "document receipt signature does not verify")
	}
	signedAt := time.Unix(rc.SignedAt, 0).UTC()
	if sf != nil {
		if !sf.bound(rc.SM3) {
			return x.fail(CheckSignature, Failed, HashFailure, "the receipt does not bind this file: its SM3 is of another file")
		}
		if !sf.sd.SigningTime.Equal(signedAt) {
			return x.fail(CheckSignature, Failed, FormatFailure, "the signature's signing time differs from the receipt's")
		}
	}
	x.pass(CheckSignature, "SM2 with SM3 by key "+key.id)
	x.r.Document = &Document{ID: rc.ID, Title: rc.Title, Number: rc.Number, SignedAt: signedAt, SM3: hex.EncodeToString(rc.SM3)}

	kc := keyCheck{kind: format.KindDocumentReceipt, claimed: signedAt, object: signed}
	if r := checkKeyState(ctx, x, cfg, trust, dept, key, kc); r != nil {
		return r
	}
	if !dept.dept.Documents {
		return x.fail(CheckAuthorised, Failed, TypeNotAuthorised, fmt.Sprintf("department %s may not sign documents: the trust list does not name it a document signer", dept.dept.Code))
	}
	x.pass(CheckAuthorised, "document signer")
	if signedAt.After(now.Add(cfg.Skew)) {
		return x.fail(CheckValidity, Failed, FutureDated, "signed at "+signedAt.Format(time.RFC3339)+", ahead of this verifier's clock")
	}
	x.pass(CheckValidity, "signed "+signedAt.Format(time.RFC3339))
	ref := format.StatusRef{List: rc.StatusListID(dept.dept.Code), Index: rc.Status.Index}
	if r := checkStatus(ctx, x, cfg, trust, dept, dept.dept.Code, ref, now); r != nil {
		return r
	}
	return x.r
}

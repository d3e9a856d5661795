// Package pdf stamps and signs PDF files with SM2, and verifies them.
//
// [Sign] appends one incremental update (ISO 32000-1 7.5.6) to the file:
// the visible verification block ([Stamp]: the receipt QR, the
// department's name, the document number and the signing date in Chinese,
// an optional seal image) drawn on a page, a signature field with its
// widget, and the signature dictionary, SubFilter adbe.pkcs7.detached,
// whose /Contents holds an SM2 CMS SignedData (package document/cms) over
// the /ByteRange, which covers every byte of the file but the /Contents
// hole. The stamp is in the same update as the signature, so the
// signature covers what a reader sees. Signing a signed file adds another
// update, a countersignature; the earlier signature still verifies.
//
// pdfcpu reads the existing file (cross-reference tables and streams,
// object streams); the update itself is written here, because no Go
// library signs PDFs with SM2. The profile is documented byte by byte in
// docs/FORMAT.md ("PDF signature profile").
//
// The stamp's text is drawn with a Type 3 font made of the outlines of
// the glyphs it uses, taken from an OpenType CJK font (Noto Sans CJK SC by
// default): a subset by construction, so it renders where that font is
// not installed. See subsetFont.
//
// [Verify] finds every signature and reports each ([Signature]) and the
// file as a whole ([Report.Err]): a change inside a signed range is
// [ErrHash]; bytes after the last verified signature's range are
// [ErrAppended], never passed silently.
package pdf

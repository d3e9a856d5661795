package pdf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"elicence/document/cms"
)

// Options says how to sign a PDF.
type Options struct {
	// Signer signs; its Profile is overridden with cms.ProfilePKCS7, the
	// content types ISO 32000 requires in adbe.pkcs7.detached.
	Signer cms.Signer
	// Stamp, when set, is drawn on the page before signing, in the same
	// incremental update, so the signature covers it.
	Stamp *Stamp
	// Reason is written in the signature dictionary's /Reason (optional).
	Reason string
}

// Errors of Sign.
var (
	ErrEncrypted = errors.New("pdf is encrypted: decrypt it before signing")
	ErrNotPDF    = errors.New("not a pdf that can be read")
)

var disableConfig sync.Once

// readContext reads a PDF's object structure with pdfcpu. pdfcpu would
// otherwise write its configuration into the user's config directory on
// first use; that is switched off once here (it is pdfcpu's package
// state, set to a constant).
//
// pdfcpu has panicked on some malformed files in the past; a panic while
// reading is reported as ErrNotPDF, not passed on.
func readContext(pdf []byte) (ctx *model.Context, err error) {
	disableConfig.Do(func() { model.ConfigPath = "disable" })
	defer func() {
		if p := recover(); p != nil {
			ctx, err = nil, fmt.Errorf("%w: reader failed: %v", ErrNotPDF, p)
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err = api.ReadContext(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPDF, err)
	}
	if ctx.Encrypt != nil {
		return nil, ErrEncrypted
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("%w: page tree: %v", ErrNotPDF, err)
	}
	if ctx.PageCount < 1 || ctx.Root == nil || ctx.Size == nil {
		return nil, fmt.Errorf("%w: no pages or no catalog", ErrNotPDF)
	}
	return ctx, nil
}

// holeSlack is the room left in /Contents beyond the size of a trial
// SignedData (an SM2 signature's DER varies by a few bytes).
const holeSlack = 256

// byteRangePlaceholder is overwritten with the real /ByteRange, padded
// with spaces to the same width.
const byteRangePlaceholder = "[0 0000000000 0000000000 0000000000]"

// Sign returns pdf with one incremental update appended: when
// opts.Stamp is set, the stamp drawn on its page; a signature field with
// an invisible widget on that page; and its signature dictionary, whose
// /ByteRange covers the whole file but the /Contents hole, and whose
// /Contents holds an SM2 CMS SignedData (SubFilter adbe.pkcs7.detached)
// over those ranges. The bytes of pdf are not changed, so an existing
// signature still verifies: signing a signed PDF countersigns it.
func Sign(pdf []byte, opts Options) (_ []byte, err error) {
	// pdfcpu panics on some malformed page trees (an empty /MediaBox, say,
	// found by FuzzSign): such a file is not one we can sign.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sign pdf: %w: reader failed: %v", ErrNotPDF, p)
		}
	}()
	if opts.Signer.Now == nil {
		return nil, errors.New("sign pdf: no clock")
	}
	signed := opts.Signer.Now().UTC().Truncate(time.Second)
	opts.Signer.Now = func() time.Time { return signed }
	opts.Signer.Profile = cms.ProfilePKCS7
	ctx, err := readContext(pdf)
	if err != nil {
		return nil, fmt.Errorf("sign pdf: %w", err)
	}
	prev, asStream, err := lastXref(pdf)
	if err != nil {
		return nil, fmt.Errorf("sign pdf: %w", err)
	}
	u := &update{next: *ctx.Size}
	if ctx.MaxObjNr >= u.next {
		u.next = ctx.MaxObjNr + 1
	}
	pageNr := ctx.PageCount
	if opts.Stamp != nil && opts.Stamp.Page != 0 {
		pageNr = opts.Stamp.Page
	}
	if pageNr < 1 || pageNr > ctx.PageCount {
		return nil, fmt.Errorf("sign pdf: page %d: the document has %d pages", pageNr, ctx.PageCount)
	}
	pageDict, pageRef, inh, err := ctx.PageDict(pageNr, false)
	if err != nil || pageRef == nil {
		return nil, fmt.Errorf("sign pdf: page %d: %v", pageNr, err)
	}
	page := pageDict.Clone().(types.Dict)

	// The signature dictionary, with placeholders for /ByteRange and
	// /Contents. The hole is sized from a trial signature.
	trial, err := opts.Signer.SignDigest(make([]byte, 32))
	if err != nil {
		return nil, fmt.Errorf("sign pdf: %w", err)
	}
	hole := len(trial) + holeSlack
	sigDict := fmt.Sprintf("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange %s /Contents <%s> /M %s /Name %s",
		byteRangePlaceholder, strings.Repeat("0", 2*hole), pdfDate(signed), textString(opts.Signer.Chain[0].Subject.CommonName))
	if opts.Reason != "" {
		sigDict += " /Reason " + textString(opts.Reason)
	}
	sigNum := u.add(sigDict + " >>")
	widget := u.add(fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %d 0 R /Rect [0 0 0 0] /F 132 /P %s >>",
		textString(fmt.Sprintf("elicence-signature-%d", sigNum)), sigNum, pageRef.PDFString()))

	// The page: the stamp appended to its content, the widget to its
	// annotations.
	if opts.Stamp != nil {
		if err := stampPage(ctx, u, page, inh, opts.Stamp, signed, sigNum); err != nil {
			return nil, fmt.Errorf("sign pdf: %w", err)
		}
	}
	annots, err := derefArray(ctx, page, "Annots")
	if err != nil {
		return nil, fmt.Errorf("sign pdf: page annotations: %w", err)
	}
	page["Annots"] = append(annots, *types.NewIndirectRef(widget, 0))
	u.replace(pageRef.ObjectNumber.Value(), pageRef.GenerationNumber.Value(), page.PDFString())

	// The catalog, with the field added to the AcroForm.
	root := ctx.RootDict.Clone().(types.Dict)
	form := types.Dict{}
	if o, ok := root.Find("AcroForm"); ok {
		d, err := ctx.DereferenceDict(o)
		if err != nil {
			return nil, fmt.Errorf("sign pdf: acroform: %w", err)
		}
		if d != nil {
			form = d.Clone().(types.Dict)
		}
	}
	fields, err := derefArray(ctx, form, "Fields")
	if err != nil {
		return nil, fmt.Errorf("sign pdf: acroform fields: %w", err)
	}
	form["Fields"] = append(fields, *types.NewIndirectRef(widget, 0))
	form["SigFlags"] = types.Integer(3) // SignaturesExist | AppendOnly
	root["AcroForm"] = form
	u.replace(ctx.Root.ObjectNumber.Value(), ctx.Root.GenerationNumber.Value(), root.PDFString())

	t := trailer{root: ctx.Root.PDFString(), prev: prev, asStream: asStream}
	if ctx.Info != nil {
		t.info = ctx.Info.PDFString()
	}
	if len(ctx.ID) == 2 {
		t.id = ctx.ID.PDFString()
	}
	base := pdf
	if n := len(base); n == 0 || (base[n-1] != '\n' && base[n-1] != '\r') {
		base = append(bytes.Clone(base), '\n')
	}
	tail, offsets := u.write(int64(len(base)), t)
	out := make([]byte, 0, len(base)+len(tail))
	out = append(append(out, base...), tail...)

	// Patch the byte range, hash, sign, fill the hole.
	at := int(offsets[sigNum])
	br := at + bytes.Index(out[at:], []byte("/ByteRange ")) + len("/ByteRange ")
	start := at + bytes.Index(out[at:], []byte("/Contents <")) + len("/Contents ")
	end := start + 2 + 2*hole
	ranges := fmt.Sprintf("[0 %d %d %d]", start, end, len(out)-end)
	if len(ranges) > len(byteRangePlaceholder) {
		return nil, errors.New("sign pdf: file too large for the byte range field")
	}
	copy(out[br:], ranges+strings.Repeat(" ", len(byteRangePlaceholder)-len(ranges)))
	h := cms.Hasher()
	h.Write(out[:start])
	h.Write(out[end:])
	der, err := opts.Signer.SignDigest(h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sign pdf: %w", err)
	}
	if len(der) > hole {
		return nil, fmt.Errorf("sign pdf: signature of %d bytes does not fit its %d-byte hole", len(der), hole)
	}
	hex.Encode(out[start+1:], der)
	return out, nil
}

// stampPrefix starts the resource name of each stamp on a page.
const stampPrefix = "ElicenceStamp"

// stampPage adds the stamp to page: its content wrapped so that the
// page's own graphics state cannot move it, and a resource name for it.
func stampPage(ctx *model.Context, u *update, page types.Dict, inh *model.InheritedPageAttrs, s *Stamp, signed time.Time, id int) error {
	xobj, err := stampObjects(u, s, signed)
	if err != nil {
		return err
	}
	box := inh.CropBox
	if box == nil {
		box = inh.MediaBox
	}
	if box == nil {
		return errors.New("page has no media box")
	}
	// Place in the page as it is shown, /Rotate applied: (u, v) from
	// the shown lower-left corner.
	rotate := ((inh.Rotate % 360) + 360) % 360
	if rotate%90 != 0 {
		return fmt.Errorf("page /Rotate %d is not a multiple of 90", inh.Rotate)
	}
	shownW := box.UR.X - box.LL.X
	if rotate == 90 || rotate == 270 {
		shownW = box.UR.Y - box.LL.Y
	}
	u0, v0 := shownW-Margin-StampWidth, Margin
	if s.At != nil {
		u0, v0 = s.At[0], s.At[1]
	}
	name := fmt.Sprintf("%s%d", stampPrefix, id)

	// Resources: the page's own or the inherited ones, copied one level
	// deep so the XObject entry can gain the stamp.
	var res types.Dict
	if o, ok := page.Find("Resources"); ok {
		d, err := ctx.DereferenceDict(o)
		if err != nil {
			return fmt.Errorf("page resources: %w", err)
		}
		res = d
	} else {
		res = inh.Resources
	}
	if res == nil {
		res = types.Dict{}
	}
	res = res.Clone().(types.Dict)
	xo := types.Dict{}
	if o, ok := res.Find("XObject"); ok {
		d, err := ctx.DereferenceDict(o)
		if err != nil {
			return fmt.Errorf("page xobjects: %w", err)
		}
		if d != nil {
			xo = d.Clone().(types.Dict)
		}
	}
	if s.At == nil {
		// Countersigning (联合发文): stack above the stamps already there.
		for k := range xo {
			if strings.HasPrefix(k, stampPrefix) {
				v0 += StampHeight + 8
			}
		}
	}
	xo[name] = *types.NewIndirectRef(xobj, 0)
	res["XObject"] = xo
	page["Resources"] = res

	contents, err := derefArray(ctx, page, "Contents")
	if err != nil {
		return fmt.Errorf("page contents: %w", err)
	}
	cm := placement(box, rotate, u0, v0)
	var draw int
	if len(contents) > 0 {
		pre := u.addStream("", []byte("q\n"))
		contents = append(types.Array{*types.NewIndirectRef(pre, 0)}, contents...)
		draw = u.addStream("", fmt.Appendf(nil, "Q\nq %s cm /%s Do Q\n", cm, name))
	} else {
		draw = u.addStream("", fmt.Appendf(nil, "q %s cm /%s Do Q\n", cm, name))
	}
	page["Contents"] = append(contents, *types.NewIndirectRef(draw, 0))
	return nil
}

// placement returns the matrix (as the six operands of cm) that puts the
// stamp's origin at (u0, v0) of the page as shown, upright, for a page
// shown turned clockwise by rotate degrees (0, 90, 180 or 270).
func placement(box *types.Rectangle, rotate int, u0, v0 float64) string {
	llx, lly, urx, ury := box.LL.X, box.LL.Y, box.UR.X, box.UR.Y
	var m [6]float64
	switch rotate {
	case 90: // shown (u, v) is user (urx-v, lly+u)
		m = [6]float64{0, 1, -1, 0, urx - v0, lly + u0}
	case 180: // (urx-u, ury-v)
		m = [6]float64{-1, 0, 0, -1, urx - u0, ury - v0}
	case 270: // (llx+v, ury-u)
		m = [6]float64{0, -1, 1, 0, llx + v0, ury - u0}
	default:
		m = [6]float64{1, 0, 0, 1, llx + u0, lly + v0}
	}
	out := make([]string, 6)
	for i, f := range m {
		out[i] = num(f)
	}
	return strings.Join(out, " ")
}

// derefArray returns the array at d[key], following an indirect reference
// to it; a single object (a content stream reference) becomes a
// one-element array, and a missing key an empty one.
func derefArray(ctx *model.Context, d types.Dict, key string) (types.Array, error) {
	o, ok := d.Find(key)
	if !ok || o == nil {
		return nil, nil
	}
	if ref, isRef := o.(types.IndirectRef); isRef {
		r, err := ctx.Dereference(ref)
		if err != nil {
			return nil, err
		}
		if a, isArr := r.(types.Array); isArr {
			return slices.Clone(a), nil
		}
		return types.Array{ref}, nil // a stream
	}
	if a, isArr := o.(types.Array); isArr {
		return slices.Clone(a), nil
	}
	return nil, fmt.Errorf("/%s is not an array", key)
}

// pdfDate writes t as a PDF date string in UTC.
func pdfDate(t time.Time) string {
	return "(D:" + t.UTC().Format("20060102150405") + "Z)"
}

// textString writes s as a PDF text string: literal when ASCII and
// printable, else UTF-16BE with a byte order mark, in hex.
func textString(s string) string {
	ascii := true
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '(' || r == ')' || r == '\\' {
			ascii = false
		}
	}
	if ascii {
		return "(" + s + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// PageCount returns the number of pages of pdf, read as Sign reads it:
// ErrNotPDF or ErrEncrypted when Sign would refuse the file.
func PageCount(pdf []byte) (int, error) {
	ctx, err := readContext(pdf)
	if err != nil {
		return 0, err
	}
	return ctx.PageCount, nil
}

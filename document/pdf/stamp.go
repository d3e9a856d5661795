package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"time"

	"elicence/qr"
)

// Stamp is the visible verification block drawn on a page before signing.
type Stamp struct {
	// QRText is the text of the QR code (the document receipt). Required;
	// it must be in the QR alphanumeric set (see package qr).
	QRText string
	// Department is the signing department's name, in Chinese.
	Department string
	// DocumentNumber is the document number (文号); the stamp leaves its
	// line out when it is empty.
	DocumentNumber string
	// Seal is the department's seal image, drawn behind the text when set.
	Seal image.Image
	// Page is the 1-based page to stamp; 0 means the last page.
	Page int
	// At is the lower-left corner of the block in points from the
	// lower-left corner of the page's crop box as the page is shown (its
	// /Rotate applied; the block is always upright); nil means the bottom
	// right corner with a margin of Margin, above the stamps of earlier
	// signers when countersigning.
	At *[2]float64
	// FontPath is an OpenType or TrueType font (or collection) with CJK
	// glyphs; empty means DefaultFontPath.
	FontPath string
}

// Stamp geometry, in points.
const (
	StampWidth  = 236.0
	StampHeight = 92.0
	Margin      = 28.0
	qrSide      = 88.0
	textLeft    = qrSide + 6
)

// China Standard Time, in which the signing date is written.
var chinaTime = time.FixedZone("CST", 8*3600)

// DateText writes t as a Chinese date in China Standard Time, as the stamp
// shows it: 2026年3月14日.
func DateText(t time.Time) string {
	t = t.In(chinaTime)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// stampObjects writes the stamp's form XObject (with its font and seal
// image) into u and returns its object number.
func stampObjects(u *update, s *Stamp, signed time.Time) (int, error) {
	if s.QRText == "" {
		return 0, errors.New("stamp: no qr text")
	}
	if s.Department == "" {
		return 0, errors.New("stamp: department name is required")
	}
	code, err := qr.Encode(s.QRText, qr.LevelM)
	if err != nil {
		return 0, fmt.Errorf("stamp qr: %w", err)
	}
	f, file, err := openFont(s.FontPath)
	if err != nil {
		return 0, err
	}
	defer file.Close()

	var c bytes.Buffer
	// White ground and a thin frame.
	fmt.Fprintf(&c, "1 g 0 0 %s %s re f\n0.4 G 0.6 w 0.3 0.3 %s %s re S\n", num(StampWidth), num(StampHeight), num(StampWidth-0.6), num(StampHeight-0.6))
	// The QR code as filled squares, with its four-module quiet zone.
	bm := code.Bitmap()
	n := len(bm)
	mod := qrSide / float64(n+8)
	y0 := (StampHeight - qrSide) / 2
	fmt.Fprintf(&c, "q 0 g\n%s 0 0 %s %s %s cm\n", num(mod), num(mod), num(4*mod+2), num(y0+4*mod))
	for y, row := range bm {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&c, "%d %d 1 1 re\n", x, n-1-y)
			}
		}
	}
	c.WriteString("f Q\n")
	resources := ""
	if s.Seal != nil {
		img, err := imageObjects(u, s.Seal)
		if err != nil {
			return 0, err
		}
		side := StampHeight - 8
		fmt.Fprintf(&c, "q %s 0 0 %s %s 4 cm /Seal Do Q\n", num(side), num(side), num(StampWidth-side-4))
		resources = fmt.Sprintf("/XObject << /Seal %d 0 R >> ", img)
	}
	type line struct {
		text string
		size float64
	}
	lines := []line{{s.Department, 11}}
	if s.DocumentNumber != "" { // a proof (证明) may have no 文号
		lines = append(lines, line{"文号：" + s.DocumentNumber, 9})
	}
	lines = append(lines, line{"签发日期：" + DateText(signed), 9}, line{"扫码核验真伪与状态", 7.5})
	avail := StampWidth - textLeft - 6
	y := StampHeight - 22.0
	c.WriteString("0 g\n")
	for _, l := range lines {
		codes, w, err := f.encode(l.text)
		if err != nil {
			return 0, fmt.Errorf("stamp text: %w", err)
		}
		size := l.size
		if w*size > avail { // shrink a long name to fit
			size = avail / w
		}
		fmt.Fprintf(&c, "BT /F1 %s Tf %s %s Td <%X> Tj ET\n", num(size), num(textLeft), num(y), codes)
		y -= 20
	}
	font, err := f.objects(u)
	if err != nil {
		return 0, err
	}
	return u.addStream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources << /Font << /F1 %d 0 R >> %s>> ",
		num(StampWidth), num(StampHeight), font, resources), c.Bytes()), nil
}

// imageObjects writes img as an 8-bit RGB image with its alpha as a soft
// mask and returns the image's object number.
func imageObjects(u *update, img image.Image) (int, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 || w*h > 4_000_000 {
		return 0, fmt.Errorf("seal image is %d×%d pixels: want at least 1 and at most 4 megapixels", w, h)
	}
	rgb := make([]byte, 0, 3*w*h)
	alpha := make([]byte, 0, w*h)
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a != 0 { // un-premultiply
				r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
			}
			rgb = append(rgb, byte(r>>8), byte(g>>8), byte(bl>>8))
			alpha = append(alpha, byte(a>>8))
			opaque = opaque && a == 0xffff
		}
	}
	smask := ""
	if !opaque {
		m := u.addStream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 ", w, h), alpha)
		smask = fmt.Sprintf("/SMask %d 0 R ", m)
	}
	return u.addStream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 %s", w, h, smask), rgb), nil
}

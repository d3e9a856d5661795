package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// DefaultFontPath is the CJK font the stamp's text is drawn from when
// [Stamp.FontPath] is empty: Noto Sans CJK (Debian's fonts-noto-cjk), of
// which the Simplified Chinese face of the collection is used.
const DefaultFontPath = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

// subsetFont is a PDF Type 3 font holding only the glyphs a stamp uses,
// their outlines copied from an OpenType font.
//
// Noto CJK ships as an OpenType collection with CFF outlines, which no Go
// PDF library embeds as a subset (pdfcpu v0.15 subsets TrueType glyf
// outlines and refuses OpenType CFF: font/install.go, "OpenType CFF").
// A Type 3 font whose glyph procedures are
// the glyphs' own outlines is a subset by construction (one glyph
// procedure per character used, a few kilobytes per stamp), renders the
// same on every reader with no font installed, and with its /ToUnicode
// CMap the text is still searchable and copyable.
type subsetFont struct {
	f     *sfnt.Font
	buf   sfnt.Buffer
	upem  int
	codes map[rune]byte
	runes []rune // runes[i] has code i+1
}

func openFont(path string) (*subsetFont, *os.File, error) {
	if path == "" {
		path = DefaultFontPath
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("stamp font: %w (install fonts-noto-cjk or set the font path)", err)
	}
	c, err := sfnt.ParseCollectionReaderAt(file)
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("stamp font %s: %w", path, err)
	}
	// In a CJK collection take the Simplified Chinese face; else the first.
	var chosen *sfnt.Font
	var b sfnt.Buffer
	for i := 0; i < c.NumFonts(); i++ {
		f, err := c.Font(i)
		if err != nil {
			continue
		}
		if chosen == nil {
			chosen = f
		}
		if name, err := f.Name(&b, sfnt.NameIDFull); err == nil && strings.Contains(name, " SC") {
			chosen = f
			break
		}
	}
	if chosen == nil {
		file.Close()
		return nil, nil, fmt.Errorf("stamp font %s: no usable face", path)
	}
	return &subsetFont{f: chosen, upem: int(chosen.UnitsPerEm()), codes: map[rune]byte{}}, file, nil
}

// encode returns the one-byte codes of s in this font, adding glyphs as
// needed, and the advance of s in text space units per point of font size.
func (sf *subsetFont) encode(s string) ([]byte, float64, error) {
	var out []byte
	width := 0.0
	for _, r := range s {
		code, ok := sf.codes[r]
		if !ok {
			if len(sf.runes) == 255 {
				return nil, 0, errors.New("stamp text uses more than 255 distinct characters")
			}
			gi, err := sf.f.GlyphIndex(&sf.buf, r)
			if err != nil || gi == 0 {
				return nil, 0, fmt.Errorf("stamp font has no glyph for %q", r)
			}
			sf.runes = append(sf.runes, r)
			code = byte(len(sf.runes))
			sf.codes[r] = code
		}
		out = append(out, code)
		adv, err := sf.advance(r)
		if err != nil {
			return nil, 0, err
		}
		width += float64(adv) / float64(sf.upem)
	}
	return out, width, nil
}

func (sf *subsetFont) advance(r rune) (int, error) {
	gi, err := sf.f.GlyphIndex(&sf.buf, r)
	if err != nil {
		return 0, err
	}
	a, err := sf.f.GlyphAdvance(&sf.buf, gi, fixed.I(sf.upem), font.HintingNone)
	if err != nil {
		return 0, fmt.Errorf("stamp font advance of %q: %w", r, err)
	}
	return a.Round(), nil
}

// glyphProc returns the Type 3 glyph procedure of r: d1 with the advance
// and bounding box, then the outline filled with the nonzero rule, in font
// units (y up).
func (sf *subsetFont) glyphProc(r rune) ([]byte, [4]float64, int, error) {
	gi, err := sf.f.GlyphIndex(&sf.buf, r)
	if err != nil {
		return nil, [4]float64{}, 0, err
	}
	segs, err := sf.f.LoadGlyph(&sf.buf, gi, fixed.I(sf.upem), nil)
	if err != nil {
		return nil, [4]float64{}, 0, fmt.Errorf("stamp font outline of %q: %w", r, err)
	}
	adv, err := sf.advance(r)
	if err != nil {
		return nil, [4]float64{}, 0, err
	}
	bb := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	pt := func(p fixed.Point26_6) (float64, float64) {
		x, y := float64(p.X)/64, -float64(p.Y)/64
		bb[0], bb[1] = math.Min(bb[0], x), math.Min(bb[1], y)
		bb[2], bb[3] = math.Max(bb[2], x), math.Max(bb[3], y)
		return x, y
	}
	var path bytes.Buffer
	var cx, cy float64
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			cx, cy = pt(s.Args[0])
			fmt.Fprintf(&path, "%s %s m\n", num(cx), num(cy))
		case sfnt.SegmentOpLineTo:
			cx, cy = pt(s.Args[0])
			fmt.Fprintf(&path, "%s %s l\n", num(cx), num(cy))
		case sfnt.SegmentOpQuadTo:
			qx, qy := pt(s.Args[0])
			x, y := pt(s.Args[1])
			// The cubic with the same curve as the quadratic.
			fmt.Fprintf(&path, "%s %s %s %s %s %s c\n",
				num(cx+2*(qx-cx)/3), num(cy+2*(qy-cy)/3), num(x+2*(qx-x)/3), num(y+2*(qy-y)/3), num(x), num(y))
			cx, cy = x, y
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			cx, cy = pt(s.Args[2])
			fmt.Fprintf(&path, "%s %s %s %s %s %s c\n", num(x1), num(y1), num(x2), num(y2), num(cx), num(cy))
		}
	}
	if len(segs) == 0 { // a space
		bb = [4]float64{0, 0, 0, 0}
	}
	proc := fmt.Sprintf("%d 0 %s %s %s %s d1\n", adv, num(bb[0]), num(bb[1]), num(bb[2]), num(bb[3]))
	if len(segs) > 0 {
		path.WriteString("f\n")
	}
	return append([]byte(proc), path.Bytes()...), bb, adv, nil
}

// objects writes the font's objects (glyph procedures, ToUnicode CMap,
// the font dictionary) into u and returns the font's object number.
func (sf *subsetFont) objects(u *update) (int, error) {
	if len(sf.runes) == 0 {
		return 0, errors.New("stamp font: no characters")
	}
	var procs, diffs, widths strings.Builder
	bbox := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for i, r := range sf.runes {
		proc, bb, adv, err := sf.glyphProc(r)
		if err != nil {
			return 0, err
		}
		n := u.addStream("", proc)
		fmt.Fprintf(&procs, "/g%d %d 0 R ", i+1, n)
		fmt.Fprintf(&diffs, " /g%d", i+1)
		fmt.Fprintf(&widths, " %d", adv)
		bbox[0], bbox[1] = math.Min(bbox[0], bb[0]), math.Min(bbox[1], bb[1])
		bbox[2], bbox[3] = math.Max(bbox[2], bb[2]), math.Max(bbox[3], bb[3])
	}
	toUnicode := u.addStream("", sf.toUnicode())
	scale := strconv.FormatFloat(1/float64(sf.upem), 'f', -1, 64)
	n := u.add(fmt.Sprintf("<< /Type /Font /Subtype /Type3 /FontBBox [%s %s %s %s] /FontMatrix [%s 0 0 %s 0 0] "+
		"/CharProcs << %s>> /Encoding << /Type /Encoding /Differences [1%s] >> /FirstChar 1 /LastChar %d "+
		"/Widths [%s] /Resources << >> /ToUnicode %d 0 R >>",
		num(bbox[0]), num(bbox[1]), num(bbox[2]), num(bbox[3]), scale, scale,
		procs.String(), diffs.String(), len(sf.runes), strings.TrimSpace(widths.String()), toUnicode))
	return n, nil
}

func (sf *subsetFont) toUnicode() []byte {
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<00> <FF>\nendcodespacerange\n")
	for start := 0; start < len(sf.runes); start += 100 {
		end := min(start+100, len(sf.runes))
		fmt.Fprintf(&b, "%d beginbfchar\n", end-start)
		for i := start; i < end; i++ {
			fmt.Fprintf(&b, "<%02X> <", i+1)
			for _, u := range utf16.Encode([]rune{sf.runes[i]}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return []byte(b.String())
}

// num formats a PDF real with at most three decimals.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
